package ws

import (
	"strconv"
	"testing"
)

func BenchmarkParseHeader(b *testing.B) {
	frame := AppendFrame(nil, 0, make([]byte, 1000), &testMask)
	for b.Loop() {
		if _, _, err := ParseHeader(frame, -1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range []int{64, 1024, 65536} {
		body := make([]byte, size)
		dst := make([]byte, 0, size+32)
		for _, masked := range []bool{false, true} {
			var mask *[4]byte
			name := strconv.Itoa(size) + "/server"
			if masked {
				mask, name = &testMask, strconv.Itoa(size)+"/client"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					dst = AppendFrame(dst[:0], 0, body, mask)
				}
			})
		}
	}
}

func BenchmarkMaskBytes(b *testing.B) {
	for _, size := range []int{64, 1024, 65536} {
		p := make([]byte, size)
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				MaskBytes(p, testMask, 1)
			}
		})
	}
}

// Feed of a 64 KiB batch of frames, as one gnet read would deliver it.
func BenchmarkDecoderFeed(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, server := range []bool{true, false} {
			var mask *[4]byte
			name := strconv.Itoa(size) + "/client-frames-unmasked"
			if server {
				mask, name = &testMask, strconv.Itoa(size)+"/server-side-masked"
			}
			var stream []byte
			frames := 0
			for len(stream) < 64<<10 {
				stream = AppendFrame(stream, 0, make([]byte, size), mask)
				frames++
			}
			b.Run(name, func(b *testing.B) {
				d := NewDecoder(server, -1)
				h := &nullHandler{}
				b.SetBytes(int64(len(stream)))
				for b.Loop() {
					if n, err := d.Feed(stream, h); err != nil || n != len(stream) {
						b.Fatal(n, err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
			})
		}
	}
}

func BenchmarkAccept(b *testing.B) {
	req := libzmqRequest("/zmq", "ZWS2.0/NULL,ZWS2.0")
	cfg := &ServerConfig{Path: "/zmq", Protocols: []string{ProtoNull, ProtoBare}}
	out := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, o, err := Accept(req, cfg, out[:0]); err != nil {
			b.Fatal(err)
		} else {
			out = o
		}
	}
}
