package zmtp_test

import (
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

// nopHandler is the cheapest possible Handler, so that allocations measured are the session's.
type nopHandler struct{ frames, bytes int }

func (h *nopHandler) Ready(*zmtp.Peer) error         { return nil }
func (h *nopHandler) Frame(size int, _, _ bool) bool { h.frames++; return true }
func (h *nopHandler) FrameData(p []byte, _ bool)     { h.bytes += len(p) }
func (h *nopHandler) Command(codec.Command)          {}

func readySession(tb testing.TB, h zmtp.Handler) *zmtp.Session {
	tb.Helper()
	s := zmtp.NewSession(&zmtp.Config{SocketType: "PULL", HeartbeatIvl: 1e9})
	s.Start(t0, nil)
	in := handshake("PUSH")
	n, _, err := s.Read(in, t0, nil, h)
	if err != nil || n != len(in) || !s.Ready() {
		tb.Fatalf("handshake: %d/%d %v", n, len(in), err)
	}
	return s
}

// batch64 is 8 KiB worth of 64-byte single-frame messages.
func batch64() (in []byte, frames int) {
	body := pattern(64, 9)
	for len(in)+codec.FrameHeaderLen(64)+64 <= 8<<10 {
		in = codec.AppendFrame(in, 0, body)
		frames++
	}
	return in, frames
}

func TestZeroAllocsPerFrame(t *testing.T) {
	h := &nopHandler{}
	s := readySession(t, h)
	single := codec.AppendFrame(nil, 0, pattern(64, 1))
	multi := msg(nil, []byte("a"), []byte{}, pattern(300, 2))
	batch, frames := batch64()
	ping := codec.AppendPing(nil, 10, []byte("ctx"))
	out := make([]byte, 0, 64)
	for name, in := range map[string][]byte{"single": single, "multipart": multi, "batch": batch, "ping": ping} {
		h.frames = 0
		var failed error
		allocs := testing.AllocsPerRun(200, func() {
			n, o, err := s.Read(in, t0, out[:0], h)
			if err != nil || n != len(in) {
				failed = err
			}
			_ = o
		})
		if failed != nil {
			t.Fatal(failed)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Read", name, allocs)
		}
		if name == "batch" && h.frames != frames*201 {
			t.Errorf("batch: %d frames seen, want %d", h.frames, frames*201)
		}
	}
	// A large frame streamed in pieces allocates nothing either.
	big := codec.AppendFrame(nil, 0, pattern(100000, 3))
	allocs := testing.AllocsPerRun(50, func() {
		for off := 0; off < len(big); {
			end := min(off+1500, len(big))
			n, _, err := s.Read(big[off:end], t0, nil, h)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("stuck at %d", off)
			}
			off += n
		}
	})
	if allocs != 0 {
		t.Errorf("streamed frame: %v allocations", allocs)
	}
}

func BenchmarkSessionRead(b *testing.B) {
	h := &nopHandler{}
	s := readySession(b, h)
	in, frames := batch64()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, _, err := s.Read(in, t0, nil, h)
		if err != nil || n != len(in) {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
}

func BenchmarkSessionReadStreamed(b *testing.B) {
	// A 1 MiB frame arriving in 64 KiB reads, as from a socket.
	h := &nopHandler{}
	s := readySession(b, h)
	in := codec.AppendFrame(nil, 0, pattern(1<<20, 5))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(in); {
			n, _, err := s.Read(in[off:min(off+64<<10, len(in))], t0, nil, h)
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			off += n
		}
	}
}
