package zmtp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

// The frame-level entry (FrameStart, FrameBody) and Config.Framer: what a transport that delimits
// frames itself (ZWS 2.0) uses instead of Read and ZMTP framing.

// testFramer frames as [flags][uint32 size][body], a form no ZMTP parser would take, so that a
// test proves every frame the session sends went through it.
type testFramer struct{}

func (testFramer) AppendFrame(dst []byte, flags byte, body []byte) []byte {
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

type tframe struct {
	flags byte
	body  []byte
}

// parseTestFrames splits testFramer's output; it fails the test on anything else.
func parseTestFrames(t testing.TB, b []byte) []tframe {
	t.Helper()
	var fs []tframe
	for len(b) > 0 {
		if len(b) < 5 || len(b)-5 < int(binary.BigEndian.Uint32(b[1:])) {
			t.Fatalf("not testFramer output: %x", b)
		}
		n := int(binary.BigEndian.Uint32(b[1:]))
		fs = append(fs, tframe{b[0], b[5 : 5+n]})
		b = b[5+n:]
	}
	return fs
}

// fconn is a session fed frame by frame.
type fconn struct {
	s   *zmtp.Session
	h   *recorder
	out []byte
	err error
}

func newFConn(cfg zmtp.Config) *fconn {
	cfg.NoGreeting = true
	cfg.Framer = testFramer{}
	c := &fconn{s: zmtp.NewSession(&cfg), h: &recorder{}}
	c.out = c.s.Start(t0, nil)
	return c
}

// feed passes one frame, its body cut into pieces at cuts (ascending). It returns whether the
// session took the frame.
func (c *fconn) feed(t testing.TB, flags byte, body []byte, cuts ...int) bool {
	t.Helper()
	if c.err != nil {
		return false
	}
	ok, err := c.s.FrameStart(flags, len(body), t0, c.h)
	if err != nil || !ok {
		c.err = err
		return false
	}
	prev := 0
	for i, cut := range append(cuts, len(body)) {
		last := i == len(cuts)
		c.out, c.err = c.s.FrameBody(body[prev:cut], last, t0, c.out, c.h)
		if c.err != nil {
			return true
		}
		prev = cut
	}
	return true
}

// flink passes each side's frames to the other until both are quiet.
func flink(t testing.TB, a, b *fconn) {
	t.Helper()
	for i := 0; i < 100; i++ {
		ao, bo := a.out, b.out
		a.out, b.out = nil, nil
		if len(ao) == 0 && len(bo) == 0 {
			return
		}
		for _, f := range parseTestFrames(t, ao) {
			b.feed(t, f.flags, f.body)
		}
		for _, f := range parseTestFrames(t, bo) {
			a.feed(t, f.flags, f.body)
		}
	}
	t.Fatal("no quiescence")
}

func pushPull(t testing.TB) (push, pull *fconn) {
	t.Helper()
	push = newFConn(zmtp.Config{SocketType: "PUSH", Compatible: func(p string) bool { return p == "PULL" }})
	pull = newFConn(*pullConfig())
	flink(t, push, pull)
	if push.err != nil || pull.err != nil || !push.s.Ready() || !pull.s.Ready() {
		t.Fatalf("handshake: %v / %v", push.err, pull.err)
	}
	return push, pull
}

// The handshake runs over frames both ways, and every frame the session sends goes through its
// Framer (parseTestFrames would fail on a ZMTP frame).
func TestFrameLevelHandshake(t *testing.T) {
	push, pull := pushPull(t)
	if got := pull.h.peer.SocketType; got != "PUSH" {
		t.Fatalf("peer type %q", got)
	}
	push.h.check(t)
	pull.h.check(t)
}

// A message's frames arrive whatever the cut of their bodies: every cut of a 300-byte frame.
func TestFrameLevelBodySplitAnywhere(t *testing.T) {
	body := pattern(300, 3)
	for cut := 0; cut <= len(body); cut++ {
		_, pull := pushPull(t)
		pull.h.evs = nil
		pull.feed(t, codec.FlagMore, []byte("head"))
		pull.feed(t, 0, body, cut)
		if pull.err != nil {
			t.Fatalf("cut %d: %v", cut, pull.err)
		}
		evsEqual(t, pull.h.evs, msgEvents([]byte("head"), body))
		pull.h.check(t)
	}
}

// A command split in pieces is collected and acted on at its end: a PING gets its PONG, through
// the Framer, and a SUBSCRIBE reaches the handler whole.
func TestFrameLevelCommandsInPieces(t *testing.T) {
	_, pull := pushPull(t)
	ping := codec.AppendPingBody(nil, 0, []byte("ctx"))
	pull.feed(t, codec.FlagCommand, ping, 1, 3, 5)
	fs := parseTestFrames(t, pull.out)
	if len(fs) != 1 || fs[0].flags != codec.FlagCommand || !bytes.Equal(fs[0].body, codec.AppendCommandBody(nil, codec.CmdPong, []byte("ctx"))) {
		t.Fatalf("answer to PING: %+v", fs)
	}
	pull.h.evs = nil
	pull.feed(t, codec.FlagCommand, codec.AppendCommandBody(nil, codec.CmdSubscribe, []byte("topic")), 2)
	evsEqual(t, pull.h.evs, []ev{{Kind: "cmd", Name: codec.CmdSubscribe, Data: []byte("topic")}})
}

// Limits hold before a byte of the body is taken, and a body that does not match its frame's
// size fails the session.
func TestFrameLevelLimits(t *testing.T) {
	t.Run("command too large", func(t *testing.T) {
		c := newFConn(zmtp.Config{SocketType: "PULL", MaxCommandSize: 100})
		if _, err := c.s.FrameStart(codec.FlagCommand, 101, t0, c.h); !errors.Is(err, zmtp.ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("message too large", func(t *testing.T) {
		push := newFConn(zmtp.Config{SocketType: "PUSH"})
		cfg := *pullConfig()
		cfg.MaxMsgSize = 10
		pull := newFConn(cfg)
		flink(t, push, pull)
		pull.feed(t, codec.FlagMore, make([]byte, 6))
		if _, err := pull.s.FrameStart(0, 5, t0, pull.h); !errors.Is(err, zmtp.ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("message before the handshake", func(t *testing.T) {
		c := newFConn(*pullConfig())
		if _, err := c.s.FrameStart(0, 1, t0, c.h); !errors.Is(err, zmtp.ErrUnexpectedMessage) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("body longer than its frame", func(t *testing.T) {
		_, pull := pushPull(t)
		if ok, err := pull.s.FrameStart(0, 3, t0, pull.h); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, err := pull.s.FrameBody([]byte("four"), true, t0, nil, pull.h); !errors.Is(err, codec.ErrMalformed) {
			t.Fatalf("got %v", err)
		}
		if _, err := pull.s.FrameStart(0, 1, t0, pull.h); err == nil {
			t.Fatal("the session goes on after a failure")
		}
	})
	t.Run("last piece short", func(t *testing.T) {
		_, pull := pushPull(t)
		_, _ = pull.s.FrameStart(codec.FlagCommand, 10, t0, pull.h)
		if _, err := pull.s.FrameBody([]byte("abc"), true, t0, nil, pull.h); !errors.Is(err, codec.ErrMalformed) {
			t.Fatalf("got %v", err)
		}
	})
}

// A full reader refuses a message's first frame; the same frame offered again is taken.
func TestFrameLevelRefusal(t *testing.T) {
	_, pull := pushPull(t)
	pull.h.refuse = 1
	ok, err := pull.s.FrameStart(0, 2, t0, pull.h)
	if ok || err != nil {
		t.Fatalf("refused frame: %v %v", ok, err)
	}
	pull.h.evs = nil
	if !pull.feed(t, 0, []byte("hi")) || pull.err != nil {
		t.Fatalf("offered again: %v", pull.err)
	}
	if got := pull.h.messages(); len(got) != 1 || got[0][0] != "hi" {
		t.Fatalf("got %q", got)
	}
}

// Bare ZWS 2.0: each side's first frame is its routing id.
func TestFrameLevelBareRoutingID(t *testing.T) {
	a := newFConn(zmtp.Config{SocketType: "DEALER", Identity: []byte("me"), NoHandshake: true})
	b := newFConn(zmtp.Config{SocketType: "ROUTER", NoHandshake: true})
	flink(t, a, b)
	if !a.s.Ready() || !b.s.Ready() {
		t.Fatalf("not ready: %v %v", a.err, b.err)
	}
	if got := string(b.s.Peer().Identity); got != "me" {
		t.Fatalf("identity %q", got)
	}
}

// FuzzFrameLevel feeds a ready session frames described by the input: each record is a flags
// byte, a size byte, a cut byte and then the body. Seeds come from the session's own output.
// Whatever arrives, the session fails cleanly or keeps the handler's contract.
func FuzzFrameLevel(f *testing.F) {
	push := newFConn(zmtp.Config{SocketType: "PUSH"})
	var seed []byte
	for _, fr := range parseTestFrames(f, push.out) {
		seed = append(seed, fr.flags, byte(len(fr.body)), byte(len(fr.body)/2))
		seed = append(seed, fr.body...)
	}
	f.Add(seed)
	f.Add(append(append([]byte{codec.FlagMore, 3, 1}, "abc"...), 0, 0, 0))
	f.Add(append([]byte{codec.FlagCommand, 9, 4}, codec.AppendPingBody(nil, 1, []byte("x"))...))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := *pullConfig()
		cfg.MaxMsgSize = 200
		cfg.MaxCommandSize = 100
		pull := newFConn(cfg)
		pull.h.maxMsg = 200
		p := newFConn(zmtp.Config{SocketType: "PUSH"})
		flink(t, p, pull)
		for len(in) >= 3 && pull.err == nil {
			flags, size, cut := in[0], int(in[1]), int(in[2])
			in = in[3:]
			body := in[:min(size, len(in))]
			in = in[len(body):]
			cut = min(cut, len(body))
			ok, err := pull.s.FrameStart(flags, size, t0, pull.h)
			if err != nil || !ok {
				break
			}
			out, err := pull.s.FrameBody(body[:cut], false, t0, nil, pull.h)
			if err == nil {
				out, err = pull.s.FrameBody(body[cut:], true, t0, out, pull.h)
			}
			if len(out) > 0 {
				parseTestFrames(t, out)
			}
			pull.err = err
		}
		pull.h.check(t)
	})
}
