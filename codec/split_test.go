package codec

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// event is one decoded item of a ZMTP stream, in comparable form.
type event string

func frameEvent(flags byte, body []byte) event {
	return event(fmt.Sprintf("frame %#x %q", flags, body))
}

// streamDecoder is the resumable loop a connection runs: it keeps what it
// could not parse yet and retries when more bytes arrive, exactly as the
// reactor will do on gnet's read buffer.
type streamDecoder struct {
	buf     []byte
	greeted bool
	max     int64
	events  []event
}

func (d *streamDecoder) feed(p []byte) error {
	d.buf = append(d.buf, p...)
	for {
		if !d.greeted {
			g, n, err := ParseGreeting(d.buf)
			if err == ErrShort {
				return nil
			}
			if err != nil {
				return err
			}
			d.events = append(d.events, event(fmt.Sprintf("greeting %+v", g)))
			d.buf = d.buf[n:]
			d.greeted = true
		}
		h, n, err := ParseFrameHeader(d.buf, d.max)
		if err == ErrShort {
			return nil
		}
		if err != nil {
			return err
		}
		if uint64(len(d.buf)-n) < h.Size {
			return nil // wait for the whole body
		}
		body := d.buf[n : n+int(h.Size)]
		if h.Command() {
			c, err := ParseCommand(body)
			if err != nil {
				return err
			}
			ev, err := describeCommand(c)
			if err != nil {
				return err
			}
			d.events = append(d.events, ev)
		} else {
			d.events = append(d.events, frameEvent(h.Flags, body))
		}
		d.buf = d.buf[n+int(h.Size):]
	}
}

func describeCommand(c Command) (event, error) {
	switch {
	case c.Is(CmdReady):
		s := "READY"
		err := ParseMetadata(c.Data, func(name, value []byte) error {
			s += fmt.Sprintf(" %s=%q", name, value)
			return nil
		})
		return event(s), err
	case c.Is(CmdPing):
		ttl, ctx, err := ParsePing(c.Data)
		return event(fmt.Sprintf("PING %d %q", ttl, ctx)), err
	case c.Is(CmdError):
		r, err := ParseError(c.Data)
		return event(fmt.Sprintf("ERROR %q", r)), err
	}
	return event(fmt.Sprintf("%s %q", c.Name, c.Data)), nil
}

// mixedStream encodes a greeting and a mix of frames and commands, and
// returns the events a decoder must produce, written down independently.
func mixedStream(withHuge bool) ([]byte, []event) {
	var b []byte
	var want []event
	g := Greeting{Major: 3, Minor: 1, Mechanism: MechNull}
	b = AppendGreeting(b, g)
	want = append(want, event(fmt.Sprintf("greeting %+v", g)))
	b = AppendReady(b, Property{"Socket-Type", []byte("DEALER")}, Property{"Identity", []byte("id")})
	want = append(want, event(`READY Socket-Type="DEALER" Identity="id"`))
	sizes := []int{0, 1, 2, 255, 256, 300, 64}
	if withHuge {
		sizes = append(sizes, 65535, 65536)
	}
	for i, size := range sizes {
		body := bytes.Repeat([]byte{byte('a' + i)}, size)
		flags := FlagMore
		if i == len(sizes)-1 || i == 2 {
			flags = 0
		}
		b = AppendFrame(b, flags, body)
		want = append(want, frameEvent(flags, body))
	}
	b = AppendPing(b, 100, []byte("ctx"))
	want = append(want, event(`PING 100 "ctx"`))
	b = AppendSubscribe(b, []byte("topic"))
	want = append(want, event(`SUBSCRIBE "topic"`))
	b = AppendCancel(b, nil)
	want = append(want, event(`CANCEL ""`))
	b = AppendPong(b, []byte("ctx"))
	want = append(want, event(`PONG "ctx"`))
	b = AppendCommand(b, "HELLO", bytes.Repeat([]byte{'h'}, 280))
	want = append(want, event(fmt.Sprintf("HELLO %q", bytes.Repeat([]byte{'h'}, 280))))
	b = AppendFrame(b, 0, nil)
	want = append(want, frameEvent(0, nil))
	b = AppendError(b, "bye")
	want = append(want, event(`ERROR "bye"`))
	return b, want
}

func checkEvents(t *testing.T, label string, got, want []event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", label, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: event %d = %.80s, want %.80s", label, i, got[i], want[i])
		}
	}
}

func TestSplitEveryByte(t *testing.T) {
	stream, want := mixedStream(false)
	for cut := 0; cut <= len(stream); cut++ {
		d := streamDecoder{max: -1}
		if err := d.feed(stream[:cut]); err != nil {
			t.Fatalf("cut %d, first part: %v", cut, err)
		}
		if err := d.feed(stream[cut:]); err != nil {
			t.Fatalf("cut %d, second part: %v", cut, err)
		}
		checkEvents(t, fmt.Sprintf("cut %d", cut), d.events, want)
		if len(d.buf) != 0 {
			t.Fatalf("cut %d: %d bytes left over", cut, len(d.buf))
		}
	}
}

func TestSplitByteByByte(t *testing.T) {
	stream, want := mixedStream(true)
	d := streamDecoder{max: -1}
	for i := range stream {
		if err := d.feed(stream[i : i+1]); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
	}
	checkEvents(t, "byte by byte", d.events, want)
	if len(d.buf) != 0 {
		t.Fatalf("%d bytes left over", len(d.buf))
	}
}

// A stream that turns bad must fail at the same point however it is cut,
// and never earlier than the events before the bad frame.
func TestSplitProtocolErrorAtAnyCut(t *testing.T) {
	stream, want := mixedStream(false)
	bad := append(bytes.Clone(stream), FlagCommand|FlagMore, 0)
	for cut := 0; cut <= len(bad); cut++ {
		d := streamDecoder{max: -1}
		err := d.feed(bad[:cut])
		if err == nil {
			err = d.feed(bad[cut:])
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut %d: err = %v", cut, err)
		}
		checkEvents(t, fmt.Sprintf("cut %d", cut), d.events, want)
	}
}

// The size limit refuses an oversized frame from its header, before its body
// has arrived.
func TestSplitLimitRefusesBeforeBody(t *testing.T) {
	stream := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: MechNull})
	stream = AppendFrameHeader(stream, 0, 1<<20)
	d := streamDecoder{max: 1 << 16}
	err := d.feed(stream) // no body at all
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// steppedDecoder is the greeting half of a connection that negotiates as rfc 23 does: it reads
// the peer's head (signature and major version) first, noting how many bytes it had been fed
// when the head decided, then the whole greeting.
type steppedDecoder struct {
	streamDecoder
	fed    int
	headAt int // bytes fed when ParseGreetingHead decided (0 = not yet)
	major  byte
}

func (d *steppedDecoder) feed(p []byte) error {
	d.fed += len(p)
	if d.headAt == 0 {
		major, err := ParseGreetingHead(append(bytes.Clone(d.buf), p...))
		if err != ErrShort {
			d.headAt = d.fed
			if err != nil {
				return err
			}
			d.major = major
		}
	}
	return d.streamDecoder.feed(p)
}

// A stream whose greeting was sent in steps (signature, major, rest) decodes exactly like one sent
// whole, however it is cut, and the head decides as soon as its 11th byte is in, never earlier.
func TestSplitSteppedGreeting(t *testing.T) {
	stream, want := mixedStream(false)
	g := Greeting{Major: 3, Minor: 1, Mechanism: MechNull}
	stepped := AppendGreetingPart(nil, g, 0, SignatureSize)
	stepped = AppendGreetingPart(stepped, g, SignatureSize, GreetingHeadSize)
	stepped = AppendGreetingPart(stepped, g, GreetingHeadSize, GreetingSize)
	if !bytes.Equal(stepped, stream[:GreetingSize]) {
		t.Fatalf("signature+major+rest %x differs from the greeting %x", stepped, stream[:GreetingSize])
	}
	stream = append(stepped, stream[GreetingSize:]...)
	for cut := 0; cut <= len(stream); cut++ {
		d := steppedDecoder{streamDecoder: streamDecoder{max: -1}}
		if err := d.feed(stream[:cut]); err != nil {
			t.Fatalf("cut %d, first part: %v", cut, err)
		}
		if err := d.feed(stream[cut:]); err != nil {
			t.Fatalf("cut %d, second part: %v", cut, err)
		}
		wantAt := len(stream)
		if cut >= GreetingHeadSize {
			wantAt = cut
		}
		if d.headAt != wantAt || d.major != 3 {
			t.Fatalf("cut %d: head decided at %d (major %d), want %d", cut, d.headAt, d.major, wantAt)
		}
		checkEvents(t, fmt.Sprintf("cut %d", cut), d.events, want)
	}
	d := steppedDecoder{streamDecoder: streamDecoder{max: -1}}
	for i := range stream {
		if err := d.feed(stream[i : i+1]); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
		if (d.headAt != 0) != (i >= GreetingHeadSize-1) {
			t.Fatalf("byte %d: head decided at %d", i, d.headAt)
		}
	}
	checkEvents(t, "byte by byte", d.events, want)
}

// A ZMTP 2.0 peer's greeting (what JeroMQ 0.3 sends: signature, revision 1, socket type, then
// 2.0 frames) is refused as 2.0 at its 11th byte however it is cut: the refusal needs nothing the
// peer holds back until it has our greeting.
func TestSplitZMTP2Refused(t *testing.T) {
	stream := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x07, 0x01, 0x00}
	for cut := 0; cut <= len(stream); cut++ {
		d := steppedDecoder{streamDecoder: streamDecoder{max: -1}}
		err := d.feed(stream[:cut])
		if cut < GreetingHeadSize {
			if err != nil {
				t.Fatalf("cut %d: refused early: %v", cut, err)
			}
			err = d.feed(stream[cut:])
		}
		wantAt := len(stream)
		if cut >= GreetingHeadSize {
			wantAt = cut
		}
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Major != 2 || ve.Minor != 0 || d.headAt != wantAt {
			t.Fatalf("cut %d: err %v at %d", cut, err, d.headAt)
		}
		if len(d.events) != 0 {
			t.Fatalf("cut %d: events %v", cut, d.events)
		}
	}
}
