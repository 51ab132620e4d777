package ws

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// streamBuilder writes frames as a peer would and records, from its own inputs,
// the events a Decoder must report.
type streamBuilder struct {
	masked bool
	wire   []byte
	want   []string
	big    [][2]int // [start, end) of payloads longer than 1000 bytes
	nmask  int
}

func (s *streamBuilder) key() *[4]byte {
	if !s.masked {
		return nil
	}
	s.nmask++
	k := [4]byte{byte(s.nmask), 0x5a, byte(s.nmask * 7), 0xc3}
	return &k
}

func (s *streamBuilder) frame(flags byte, body []byte) {
	s.wire = AppendFrame(s.wire, flags, body, s.key())
	if len(body) > 1000 {
		s.big = append(s.big, [2]int{len(s.wire) - len(body), len(s.wire)})
	}
	s.want = append(s.want, frameEv(flags, body))
}

func (s *streamBuilder) control(op byte, payload []byte) {
	s.wire = AppendControl(s.wire, op, payload, s.key())
	s.want = append(s.want, ctrlEv(op, payload))
}

// fragment appends one raw fragment; the caller records the expected event.
func (s *streamBuilder) fragment(op byte, fin bool, payload []byte) {
	h := Header{Fin: fin, Op: op, Len: uint64(len(payload))}
	if k := s.key(); k != nil {
		h.Masked, h.Mask = true, *k
	}
	s.wire = AppendHeader(s.wire, h)
	start := len(s.wire)
	s.wire = append(s.wire, payload...)
	if h.Masked {
		MaskBytes(s.wire[start:], h.Mask, 0)
	}
	if len(payload) > 1000 {
		s.big = append(s.big, [2]int{start, len(s.wire)})
	}
}

// testStream is the many-frame stream of the split tests: every length encoding,
// control frames between data frames and between fragments, fragmented messages
// (flags in the first, in an empty-first, and in the final fragment), a 200000-byte
// frame, a close, and junk after the close that must be ignored.
func testStream(masked bool) *streamBuilder {
	s := &streamBuilder{masked: masked}
	s.frame(FlagMore, []byte("hello"))
	s.control(OpPing, []byte("p1"))
	s.frame(0, nil)
	s.frame(FlagCommand, []byte("\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER"))
	for _, n := range []int{124, 125, 126, 65534, 65535} {
		s.frame(FlagMore, pattern(n, n))
	}
	s.control(OpPong, nil)

	// Flags in the first fragment, an empty fragment, a ping between fragments.
	s.fragment(OpBinary, false, []byte("\x01ab"))
	s.control(OpPing, []byte("mid"))
	s.fragment(OpContinuation, false, nil)
	s.fragment(OpContinuation, false, []byte("cd"))
	s.fragment(OpContinuation, true, []byte("efg"))
	s.want = append(s.want, frameEv(FlagMore, []byte("abcdefg")))
	// An empty first fragment: the flags byte comes in the final one.
	s.fragment(OpBinary, false, nil)
	s.fragment(OpContinuation, true, []byte("\x00xyz"))
	s.want = append(s.want, frameEv(0, []byte("xyz")))
	// A small head and a large final fragment that is streamed, not buffered.
	tail := pattern(70000, 3)
	s.fragment(OpBinary, false, []byte("\x02hd"))
	s.fragment(OpContinuation, true, tail)
	s.want = append(s.want, frameEv(FlagCommand, append([]byte("hd"), tail...)))
	// Only the flags byte before the final fragment: an empty prefix.
	s.fragment(OpBinary, false, []byte{0})
	s.fragment(OpContinuation, true, []byte("z"))
	s.want = append(s.want, frameEv(0, []byte("z")))
	// Flags only, split off: a 0-byte body delivered at the final fragment.
	s.fragment(OpBinary, false, []byte{1})
	s.fragment(OpContinuation, true, nil)
	s.want = append(s.want, frameEv(1, nil))

	s.frame(0, pattern(200000, 9))
	s.frame(0, pattern(65536, 1))
	s.frame(FlagMore, []byte("tail"))
	s.wire = AppendClose(s.wire, CloseNormal, "bye", s.key())
	s.want = append(s.want, ctrlEv(OpClose, []byte("\x03\xe8bye")))
	s.wire = append(s.wire, "junk after close"...)
	return s
}

func wantEvents(t *testing.T, c *conn, s *streamBuilder, label string) {
	t.Helper()
	if c.err != nil {
		t.Fatalf("%s: error %v", label, c.err)
	}
	if !slices.Equal(c.h.events, s.want) {
		t.Fatalf("%s: events\n%q\nwant\n%q", label, c.h.events, s.want)
	}
	if len(c.buf) != 0 || c.h.open || !c.d.Closed() {
		t.Fatalf("%s: %d bytes left, open=%v, closed=%v", label, len(c.buf), c.h.open, c.d.Closed())
	}
}

func TestDecoderStream(t *testing.T) {
	for _, server := range []bool{true, false} {
		s := testStream(server)
		c := newConn(t, server, -1)
		c.wire = s.wire
		c.feed(bytes.Clone(s.wire))
		wantEvents(t, c, s, "whole")
	}
}

// The stream cut once at every byte (with a stride inside large bodies, where every
// cut is alike), byte by byte, and in random pieces, gives the same events.
func TestDecoderSplit(t *testing.T) {
	for _, server := range []bool{true, false} {
		s := testStream(server)
		inBig := func(i int) bool {
			for _, r := range s.big {
				if i > r[0]+16 && i < r[1]-16 {
					return (i-r[0])%4099 != 0
				}
			}
			return false
		}
		cuts := 0
		for i := 0; i <= len(s.wire); i++ {
			if inBig(i) {
				continue
			}
			cuts++
			c := newConn(t, server, -1)
			c.wire = s.wire
			w := bytes.Clone(s.wire)
			c.feed(w[:i])
			c.feed(w[i:])
			wantEvents(t, c, s, "cut")
		}
		if cuts < 800 {
			t.Fatalf("only %d cuts", cuts)
		}

		c := newConn(t, server, -1)
		c.wire = s.wire
		w := bytes.Clone(s.wire)
		for i := range w {
			c.feed(w[i : i+1])
		}
		wantEvents(t, c, s, "byte by byte")

		rng := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			c := newConn(t, server, -1)
			c.wire = s.wire
			w := bytes.Clone(s.wire)
			for len(w) > 0 {
				k := min(len(w), 1+rng.IntN(300))
				c.feed(w[:k])
				w = w[k:]
			}
			wantEvents(t, c, s, "random pieces")
		}
	}
}

// Frame returning false stops Feed at the message's header; feeding the same bytes
// again resumes at the same place.
func TestDecoderFlowControl(t *testing.T) {
	for _, server := range []bool{true, false} {
		s := testStream(server)
		frames := 0
		for _, e := range s.want {
			if e[:5] == "frame" {
				frames++
			}
		}
		for _, step := range []int{0, 1, 7} {
			c := newConn(t, server, -1)
			c.wire = s.wire
			offers := 0
			c.h.refuse = func(byte, int) bool { offers++; return offers%2 == 1 }
			w := bytes.Clone(s.wire)
			if step == 0 {
				c.feed(w)
			} else {
				for len(w) > 0 {
					k := min(len(w), step)
					c.feed(w[:k])
					w = w[k:]
				}
			}
			wantEvents(t, c, s, "flow control")
			if c.h.refused != frames || c.blocks != frames {
				t.Fatalf("step %d: %d refusals, %d blocked Feeds, want %d each", step, c.h.refused, c.blocks, frames)
			}
		}
	}
}

// A refused frame leaves the decoder where it was: with nothing new, Feed offers it
// again and again without consuming a byte.
func TestDecoderRefuseRepeatedly(t *testing.T) {
	wire := AppendFrame(nil, FlagMore, []byte("abc"), &testMask)
	orig := bytes.Clone(wire)
	r := &recorder{t: t, refuse: func(byte, int) bool { return true }}
	d := NewDecoder(true, -1)
	for range 3 {
		n, err := d.Feed(wire, r)
		if n != 0 || err != nil || !d.Blocked() {
			t.Fatalf("n=%d err=%v blocked=%v", n, err, d.Blocked())
		}
	}
	if !bytes.Equal(wire, orig) || r.refused != 3 {
		t.Fatalf("buffer modified or %d refusals", r.refused)
	}
	r.refuse = nil
	n, err := d.Feed(wire, r)
	if n != len(wire) || err != nil || d.Blocked() || !slices.Equal(r.events, []string{frameEv(1, []byte("abc"))}) {
		t.Fatalf("after accepting: n=%d err=%v events=%q", n, err, r.events)
	}
}

func TestDecoderHostile(t *testing.T) {
	good := AppendFrame(nil, 0, []byte("ok"), &testMask) // a valid frame before each case
	hdr := func(h Header) []byte { h.Masked, h.Mask = true, testMask; return AppendHeader(nil, h) }
	m := func(b []byte) []byte { return append(b, testMask[:]...) }
	cases := []struct {
		name    string
		server  bool
		maxSize int64
		frag    int
		bad     []byte
		target  error
		op      string
	}{
		{name: "unmasked client frame", server: true, bad: AppendFrame(nil, 0, []byte("x"), nil), target: errUnmasked, op: opHeader},
		{name: "masked server frame", bad: AppendFrame(nil, 0, []byte("x"), &testMask), target: errMasked, op: opHeader},
		{name: "fragmented ping", server: true, bad: m([]byte{0x09, 0x80}), target: errCtrlFrag, op: opHeader},
		{name: "ping of 126", server: true, bad: m([]byte{0x89, 0xfe, 0, 126}), target: errCtrlLong, op: opHeader},
		{name: "length 2^63", server: true, bad: m([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}), target: errHuge, op: opHeader},
		{name: "RSV1", server: true, bad: m([]byte{0xc2, 0x81, 0}), target: errRSV, op: opHeader},
		{name: "opcode 3", server: true, bad: m([]byte{0x83, 0x81, 0}), target: errOpcode, op: opHeader},
		{name: "text", server: true, bad: hdr(Header{Fin: true, Op: OpText, Len: 3}), target: errText, op: opMessage},
		{name: "fragmented text", server: true, bad: hdr(Header{Op: OpText, Len: 3}), target: errText, op: opMessage},
		{name: "empty message", server: true, bad: m([]byte{0x82, 0x80}), target: errEmpty, op: opMessage},
		{name: "empty fragmented message", server: true,
			bad: append(m([]byte{0x02, 0x80}), m([]byte{0x80, 0x80})...), target: errEmpty, op: opMessage},
		{name: "stray continuation", server: true, bad: m([]byte{0x80, 0x81, 0}), target: errContinuation, op: opMessage},
		{name: "binary inside a fragmented message", server: true,
			bad: append(m([]byte{0x02, 0x81, 0}), AppendFrame(nil, 0, nil, &testMask)...), target: errInterleaved, op: opMessage},
		{name: "reserved flag bits", server: true, bad: AppendFrame(nil, 0x04, []byte("x"), &testMask), target: errFlags, op: opMessage},
		{name: "over maxSize", server: true, maxSize: 100, bad: AppendFrame(nil, 0, make([]byte, 101), &testMask), target: errOverLimit, op: opMessage},
		{name: "declared 2^62 over maxSize", server: true, maxSize: 1 << 20,
			bad: m([]byte{0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0}), target: errOverLimit, op: opMessage},
		{name: "fragments over the fragment limit", server: true, frag: 10,
			bad:    append(hdr(Header{Op: OpBinary, Len: 6}), append(make([]byte, 6), hdr(Header{Op: OpContinuation, Len: 6})...)...),
			target: errFragLimit, op: opMessage},
		{name: "fragment over maxSize", server: true, maxSize: 4,
			bad: hdr(Header{Op: OpBinary, Len: 6}), target: errFragLimit, op: opMessage},
		{name: "declared 2^62 fragment", server: true,
			bad: m([]byte{0x02, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0}), target: errFragLimit, op: opMessage},
		{name: "final fragment over maxSize", server: true, maxSize: 8,
			bad:    append(append(hdr(Header{Op: OpBinary, Len: 5}), make([]byte, 5)...), hdr(Header{Fin: true, Op: OpContinuation, Len: 5})...),
			target: errOverLimit, op: opMessage},
	}
	for _, c := range cases {
		prefix := good
		if !c.server {
			prefix = AppendFrame(nil, 0, []byte("ok"), nil)
		}
		maxSize := c.maxSize
		if maxSize == 0 {
			maxSize = -1
		}
		d := NewDecoder(c.server, maxSize)
		if c.frag != 0 {
			d.SetFragmentLimit(c.frag)
		}
		r := &recorder{t: t}
		wire := append(bytes.Clone(prefix), c.bad...)
		wire = append(wire, make([]byte, 16)...) // more input must not change the verdict
		n, err := d.Feed(wire, r)
		if !errors.Is(err, c.target) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, c.target)
		}
		wantProto(t, err, c.op, c.target)
		if !slices.Equal(r.events, []string{frameEv(0, []byte("ok"))}) || r.open {
			t.Errorf("%s: handler saw %q (open %v)", c.name, r.events, r.open)
		}
		// Fragments before the offending frame are consumed; nothing after it.
		if n < len(prefix) || n > len(prefix)+len(c.bad)-1 {
			t.Errorf("%s: consumed %d bytes, prefix is %d", c.name, n, len(prefix))
		}
		if n2, err2 := d.Feed(wire[n:], r); n2 != 0 || err2 != err {
			t.Errorf("%s: Feed after the error: n=%d err=%v, want the same error", c.name, n2, err2)
		}
	}
	// Exactly at the limits is fine.
	d := NewDecoder(true, 100)
	d.SetFragmentLimit(10)
	r := &recorder{t: t}
	wire := AppendFrame(nil, 0, make([]byte, 100), &testMask)
	wire = append(wire, hdr(Header{Op: OpBinary, Len: 10})...)
	wire = append(wire, testMask[0]) // flags 0 once unmasked
	wire = append(wire, make([]byte, 9)...)
	wire = append(wire, hdr(Header{Fin: true, Op: OpContinuation, Len: 91})...)
	wire = append(wire, make([]byte, 91)...)
	if n, err := d.Feed(wire, r); err != nil || n != len(wire) || len(r.events) != 2 {
		t.Fatalf("at the limits: n=%d err=%v events=%q", n, err, r.events)
	}
}

// nullHandler accepts everything and keeps nothing.
type nullHandler struct{ frames, bytes int }

func (h *nullHandler) Frame(byte, int) bool          { h.frames++; return true }
func (h *nullHandler) FrameData(p []byte, last bool) { h.bytes += len(p) }
func (h *nullHandler) Control(byte, []byte)          {}

// A peer's declared length never sizes an allocation: a frame announcing 2^40 bytes
// is streamed, and an oversized one is refused, without the heap growing.
func TestDecoderNoPeerSizedAllocation(t *testing.T) {
	var huge []byte
	huge = AppendHeader(huge, Header{Fin: true, Op: OpBinary, Masked: true, Mask: testMask, Len: 1 << 40})
	huge = append(huge, make([]byte, 1000)...)
	huge[len(huge)-1000] = testMask[0] // the flags byte, 0 once unmasked
	frag := AppendHeader(nil, Header{Op: OpBinary, Masked: true, Mask: testMask, Len: 1 << 40})

	heap := func(f func()) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		for range 100 {
			f()
		}
		runtime.ReadMemStats(&b)
		return (b.TotalAlloc - a.TotalAlloc) / 100
	}
	h := &nullHandler{}
	if per := heap(func() {
		d := NewDecoder(true, -1)
		if n, err := d.Feed(huge, h); err != nil || n != len(huge) {
			t.Fatalf("n=%d err=%v", n, err)
		}
	}); per > 512 {
		t.Fatalf("streaming a 2^40-byte frame allocated %d bytes per Feed", per)
	}
	for _, c := range []struct {
		wire    []byte
		maxSize int64
	}{{huge, 1 << 20}, {frag, -1}, {frag, 1 << 30}} {
		if per := heap(func() {
			d := NewDecoder(true, c.maxSize)
			if _, err := d.Feed(c.wire, h); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		}); per > 512 {
			t.Fatalf("refusing a 2^40-byte frame allocated %d bytes", per)
		}
	}
}

func TestDecoderClose(t *testing.T) {
	wire := AppendClose(nil, CloseGoingAway, "", nil)
	wire = AppendFrame(wire, 0, []byte("after"), nil)
	r := &recorder{t: t}
	d := NewDecoder(false, -1)
	n, err := d.Feed(wire, r)
	if n != len(wire) || err != nil || !d.Closed() {
		t.Fatalf("n=%d err=%v closed=%v", n, err, d.Closed())
	}
	if !slices.Equal(r.events, []string{ctrlEv(OpClose, []byte{0x03, 0xe9})}) {
		t.Fatalf("events %q", r.events)
	}
	// A close frame split anywhere is delivered once, whole.
	for i := 1; i < len(wire); i++ {
		c := newConn(t, false, -1)
		c.wire = wire
		w := bytes.Clone(wire)
		c.feed(w[:i])
		c.feed(w[i:])
		if !slices.Equal(c.h.events, r.events) {
			t.Fatalf("cut %d: %q", i, c.h.events)
		}
	}
}
