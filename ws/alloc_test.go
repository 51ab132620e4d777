package ws

import "testing"

func TestZeroAllocs(t *testing.T) {
	body := pattern(1024, 1)
	frame := AppendFrame(nil, FlagMore, body, &testMask)
	scratch := make([]byte, 0, 4096)
	big, bigScratch := pattern(64<<10, 2), make([]byte, 0, 64<<10) // past maskBlockMin: maskXOR

	// Streams of unfragmented frames with pings between them, masked and not. Feed
	// unmasks in place, so repeated runs see scrambled bodies: only the sizes matter.
	var clientStream, serverStream []byte
	for i := range 16 {
		clientStream = AppendFrame(clientStream, byte(i%2), body[:i*50], &testMask)
		serverStream = AppendFrame(serverStream, byte(i%2), body[:i*50], nil)
		if i%4 == 0 {
			clientStream = AppendControl(clientStream, OpPing, []byte("p"), &testMask)
			serverStream = AppendControl(serverStream, OpPong, nil, nil)
		}
	}
	h := &nullHandler{}
	server := NewDecoder(true, 1<<20)
	client := NewDecoder(false, -1)

	var sink int
	checks := map[string]func(){
		"ParseHeader": func() {
			hdr, n, err := ParseHeader(frame, 1<<20)
			if err != nil {
				panic(err)
			}
			sink += n + int(hdr.Len)
		},
		"ParseHeader ErrShort": func() {
			if _, _, err := ParseHeader(frame[:3], -1); err != ErrShort {
				panic(err)
			}
		},
		"AppendFrame unmasked": func() { scratch = AppendFrame(scratch[:0], FlagMore, body, nil) },
		"AppendFrame masked":   func() { scratch = AppendFrame(scratch[:0], FlagMore, body, &testMask) },
		"AppendFrameHeader":    func() { scratch = AppendFrameHeader(scratch[:0], 0, 1<<20) },
		"AppendHeader":         func() { scratch = AppendHeader(scratch[:0], Header{Fin: true, Op: OpBinary, Len: 70000}) },
		"AppendControl":        func() { scratch = AppendControl(scratch[:0], OpPong, body[:20], &testMask) },
		"AppendClose":          func() { scratch = AppendClose(scratch[:0], CloseNormal, "bye", nil) },
		"MaskBytes":            func() { MaskBytes(body, testMask, 3) },
		"AppendMasked":         func() { scratch = AppendMasked(scratch[:0], body, testMask, 1) },
		"AppendMasked large":   func() { bigScratch = AppendMasked(bigScratch[:0], big, testMask, 1) },
		"MaskBytes large":      func() { MaskBytes(big, testMask, 2) },
		"Decoder.Feed server": func() {
			n, err := server.Feed(clientStream, h)
			if err != nil || n != len(clientStream) {
				panic(err)
			}
		},
		"Decoder.Feed client": func() {
			n, err := client.Feed(serverStream, h)
			if err != nil || n != len(serverStream) {
				panic(err)
			}
		},
		"Decoder.Feed split": func() {
			n, err := server.Feed(clientStream[:100], h)
			if err != nil {
				panic(err)
			}
			m, err := server.Feed(clientStream[n:], h)
			if err != nil || n+m != len(clientStream) {
				panic(err)
			}
		},
	}
	for name, f := range checks {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, a)
		}
	}
	if h.frames == 0 || sink == 0 {
		t.Fatal("the checks did not run")
	}
}
