package codec

import "testing"

func BenchmarkAppendFrame64(b *testing.B) {
	body := make([]byte, 64)
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		dst = AppendFrame(dst[:0], FlagMore, body)
	}
	if len(dst) != 66 {
		b.Fatal(len(dst))
	}
}

func BenchmarkParseFrameHeader(b *testing.B) {
	frame := AppendFrame(nil, FlagMore, make([]byte, 64))
	var total uint64
	b.ReportAllocs()
	for b.Loop() {
		h, n, err := ParseFrameHeader(frame, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		total += h.Size + uint64(n)
	}
	if total == 0 {
		b.Fatal("nothing parsed")
	}
}

// BenchmarkParseFrames walks an 8 KiB read batch (the default out-batch size)
// of 64-byte frames the way OnTraffic will: header, skip body, repeat.
func BenchmarkParseFrames(b *testing.B) {
	body := make([]byte, 64)
	var batch []byte
	frames := 0
	for len(batch)+66 <= 8192 {
		batch = AppendFrame(batch, 0, body)
		frames++
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		rest := batch
		got := 0
		for len(rest) > 0 {
			h, n, err := ParseFrameHeader(rest, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			rest = rest[n+int(h.Size):]
			got++
		}
		if got != frames {
			b.Fatalf("%d frames, want %d", got, frames)
		}
	}
	b.ReportMetric(float64(b.N)*float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkAppendGreeting(b *testing.B) {
	dst := make([]byte, 0, GreetingSize)
	g := Greeting{Major: 3, Minor: 1, Mechanism: MechNull}
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendGreeting(dst[:0], g)
	}
}

func BenchmarkParseGreeting(b *testing.B) {
	in := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: MechNull})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseGreeting(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReady(b *testing.B) {
	frame := AppendReady(nil, Property{"Socket-Type", []byte("ROUTER")}, Property{"Identity", []byte("peer-1")})
	b.ReportAllocs()
	for b.Loop() {
		h, n, err := ParseFrameHeader(frame, -1)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ParseCommand(frame[n : n+int(h.Size)])
		if err != nil || !c.Is(CmdReady) {
			b.Fatal(err)
		}
		props := 0
		if err := ParseMetadata(c.Data, func(_, _ []byte) error { props++; return nil }); err != nil || props != 2 {
			b.Fatal(err)
		}
	}
}
