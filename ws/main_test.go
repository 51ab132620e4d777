package ws

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wantProto fails unless err is a *ProtocolError for op matching target and
// ErrProtocol, and not ErrShort.
func wantProto(t *testing.T, err error, op string, target error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *ProtocolError", err, err)
	}
	if pe.Op != op {
		t.Fatalf("Op = %q, want %q (err %v)", pe.Op, op, err)
	}
	if !errors.Is(err, target) || !errors.Is(err, ErrProtocol) {
		t.Fatalf("err = %v, want errors.Is %v and ErrProtocol", err, target)
	}
	if errors.Is(err, ErrShort) {
		t.Fatalf("protocol error %v also matches ErrShort", err)
	}
}

// recorder is a Handler that checks the Handler contract and records what it
// receives in a form that does not depend on how the input was split: one event
// per frame (announced size and whole body) and per control frame.
type recorder struct {
	t      testing.TB
	events []string

	// refuse, when set, is asked before each Frame; true makes Frame return false.
	refuse func(flags byte, size int) bool

	open    bool // a frame was announced and its last piece has not come
	flags   byte
	size    int
	body    []byte // the body so far, kept only when it is at most 32 bytes
	got     int    // body bytes so far
	crc     uint32 // their CRC-32
	refused int
	keep    bool     // keep whole bodies in bodies
	bodies  [][]byte // with keep, every frame's body, in order
}

func (r *recorder) Frame(flags byte, size int) bool {
	if r.open {
		r.t.Fatalf("Frame(%#x, %d) while the previous frame is still open", flags, size)
	}
	if r.refuse != nil && r.refuse(flags, size) {
		r.refused++
		return false
	}
	r.open, r.flags, r.size, r.body, r.got, r.crc = true, flags, size, r.body[:0], 0, 0
	return true
}

func (r *recorder) FrameData(p []byte, last bool) {
	if !r.open {
		r.t.Fatalf("FrameData(%d bytes) without Frame", len(p))
	}
	if len(p) == 0 && !(last && r.size == 0) {
		r.t.Fatalf("empty FrameData piece (last=%v, size %d)", last, r.size)
	}
	// Long bodies are checksummed as they come rather than kept: the split tests
	// decode hundreds of kilobytes per cut.
	r.got += len(p)
	r.crc = crc32.Update(r.crc, crc32.IEEETable, p)
	if r.size <= 32 || r.keep {
		r.body = append(r.body, p...)
	}
	if r.got > r.size {
		r.t.Fatalf("FrameData delivered %d bytes of a %d-byte frame", r.got, r.size)
	}
	if last != (r.got == r.size) {
		r.t.Fatalf("last=%v after %d of %d bytes", last, r.got, r.size)
	}
	if last {
		r.open = false
		if r.keep {
			r.bodies = append(r.bodies, bytes.Clone(r.body))
		}
		if r.size <= 32 {
			r.events = append(r.events, frameEv(r.flags, r.body))
		} else {
			r.events = append(r.events, fmt.Sprintf("frame %#x %d len=%d crc=%08x", r.flags, r.size, r.size, r.crc))
		}
	}
}

func (r *recorder) Control(op byte, payload []byte) {
	if r.open {
		r.t.Fatalf("Control(%d) inside an open frame", op)
	}
	r.events = append(r.events, ctrlEv(op, payload))
}

func frameEv(flags byte, body []byte) string {
	return fmt.Sprintf("frame %#x %d %s", flags, len(body), digest(body))
}

func ctrlEv(op byte, payload []byte) string { return fmt.Sprintf("control %d %q", op, payload) }

// digest shows short bodies whole and long ones by length and a checksum.
func digest(b []byte) string {
	if len(b) <= 32 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("len=%d crc=%08x", len(b), crc32.ChecksumIEEE(b))
}

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// conn mimics the reactor's use of a Decoder on gnet's read buffer: unconsumed bytes
// stay at the front of buf and more input is appended behind them.
//
// When wire is set, conn checks after every Feed that the bytes Feed did not consume
// are exactly what the peer sent: Feed may unmask in place only what it consumes.
// When Feed stops because Frame refused, conn checks that it stopped at a data
// frame's header and feeds the same bytes again, as the reactor does on resume.
type conn struct {
	d        *Decoder
	h        *recorder
	buf      []byte
	err      error
	wire     []byte
	consumed int
	blocks   int
}

func (c *conn) feed(p []byte) {
	if c.err != nil {
		return
	}
	// Like the reactor, decode straight from the new bytes when nothing is pending.
	in := p
	if len(c.buf) > 0 {
		c.buf = append(c.buf, p...)
		in = c.buf
	}
	for {
		n, err := c.d.Feed(in, c.h)
		if n < 0 || n > len(in) {
			c.h.t.Fatalf("Feed consumed %d of %d bytes", n, len(in))
		}
		c.consumed += n
		c.buf = append(c.buf[:0], in[n:]...)
		in = c.buf
		c.err = err
		if c.wire != nil && !bytes.Equal(c.buf, c.wire[c.consumed:c.consumed+len(c.buf)]) {
			c.h.t.Fatalf("Feed modified unconsumed bytes at offset %d", c.consumed)
		}
		if err != nil || !c.d.Blocked() {
			return
		}
		c.blocks++
		if len(c.buf) == 0 || c.buf[0]&0x7f > OpBinary || c.buf[0]&0x7f == OpText {
			c.h.t.Fatalf("blocked at a byte %x that does not start a data frame", c.buf[:min(len(c.buf), 1)])
		}
	}
}

// result summarises a finished stream for comparison.
func (c *conn) result() string {
	return fmt.Sprintf("%q left=%d err=%v open=%v", c.h.events, len(c.buf), c.err, c.h.open)
}

// goTB lets a recorder run on a goroutine other than the test's: Fatalf becomes
// Errorf, which is safe from any goroutine.
type goTB struct{ testing.TB }

func (g goTB) Fatalf(format string, args ...any) { g.Errorf(format, args...) }

func newConn(t testing.TB, server bool, maxSize int64) *conn {
	return &conn{d: NewDecoder(server, maxSize), h: &recorder{t: t}}
}
