package zmtp_test

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

func compat(pairs ...string) func(string) bool {
	return func(peer string) bool {
		for _, p := range pairs {
			if p == peer {
				return true
			}
		}
		return false
	}
}

func TestPairHandshakeAndMessages(t *testing.T) {
	push := newConn(&zmtp.Config{SocketType: "PUSH", Identity: []byte("pusher"), Compatible: compat("PULL"),
		Properties: []codec.Property{{Name: "X-App", Value: []byte("v1")}}})
	pull := newConn(&zmtp.Config{SocketType: "PULL", Compatible: compat("PUSH")})
	push.out = push.s.Start(t0, push.out)
	pull.out = pull.s.Start(t0, pull.out)
	if push.s.Ready() || push.s.Peer() != nil {
		t.Fatal("ready before any byte")
	}
	link(t, t0, push, pull)
	if push.err != nil || pull.err != nil {
		t.Fatalf("handshake: push %v, pull %v", push.err, pull.err)
	}
	if !push.s.Ready() || !pull.s.Ready() {
		t.Fatal("handshake did not complete")
	}
	p := pull.s.Peer()
	if p == nil || p != pull.h.peer {
		t.Fatalf("Peer() = %p, handler got %p", p, pull.h.peer)
	}
	if p.SocketType != "PUSH" || string(p.Identity) != "pusher" || p.Major != 3 || p.Minor != 1 || p.Mechanism != "NULL" {
		t.Errorf("peer = %+v", p)
	}
	if v, ok := p.Property("x-app"); !ok || string(v) != "v1" {
		t.Errorf("X-App = %q, %v", v, ok)
	}
	if _, ok := p.Properties["Socket-Type"]; !ok {
		t.Errorf("properties %v lack Socket-Type as sent", p.Properties)
	}
	if q := push.s.Peer(); q.SocketType != "PULL" || q.Identity != nil {
		t.Errorf("push's peer = %+v", q)
	}

	// Messages are the caller's encoding; the session decodes them on the other side.
	want := [][]string{{"a", "", "ccc"}, {strings.Repeat("x", 1000)}, {"", ""}}
	for _, m := range want {
		parts := make([][]byte, len(m))
		for i, s := range m {
			parts[i] = []byte(s)
		}
		push.out = msg(push.out, parts...)
	}
	link(t, t0, push, pull)
	if got := pull.h.messages(); !reflect.DeepEqual(got, want) {
		t.Errorf("pull got %q, want %q", got, want)
	}
	if pull.s.InMessage() {
		t.Error("InMessage after complete messages")
	}
	// The other direction: PULL never sends messages in practice but the session does not care.
	pull.out = msg(pull.out, []byte("back"))
	link(t, t0, push, pull)
	if got := push.h.messages(); !reflect.DeepEqual(got, [][]string{{"back"}}) {
		t.Errorf("push got %q", got)
	}
	push.h.check(t)
	pull.h.check(t)
}

func TestPairPingPong(t *testing.T) {
	ivl := time.Second
	a := newConn(&zmtp.Config{SocketType: "DEALER", HeartbeatIvl: ivl, HeartbeatTimeout: ivl / 2, HeartbeatTTL: 5 * time.Second})
	b := newConn(&zmtp.Config{SocketType: "ROUTER"})
	a.out = a.s.Start(t0, nil)
	b.out = b.s.Start(t0, nil)
	link(t, t0, a, b)
	if !a.s.Ready() || !b.s.Ready() {
		t.Fatalf("handshake: %v %v", a.err, b.err)
	}
	if d := a.s.NextDeadline(); !d.Equal(t0.Add(ivl)) {
		t.Fatalf("a deadline %v, want %v", d, t0.Add(ivl))
	}
	if d := b.s.NextDeadline(); !d.IsZero() {
		t.Fatalf("b has a timer at %v without heartbeats", d)
	}
	now := t0.Add(ivl)
	out, err := a.s.Tick(now, nil)
	if err != nil || len(out) == 0 {
		t.Fatalf("Tick = %x, %v", out, err)
	}
	if d := a.s.NextDeadline(); !d.Equal(now.Add(ivl / 2)) {
		t.Fatalf("after PING deadline %v, want the timeout %v", d, now.Add(ivl/2))
	}
	a.out = out
	link(t, now, a, b)
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	// b armed the TTL a announced; a's timeout was cleared by the PONG.
	if d := b.s.NextDeadline(); !d.Equal(now.Add(5 * time.Second)) {
		t.Errorf("b deadline %v, want TTL %v", d, now.Add(5*time.Second))
	}
	if d := a.s.NextDeadline(); !d.Equal(now.Add(ivl)) {
		t.Errorf("a deadline %v after PONG, want next PING at %v", d, now.Add(ivl))
	}
	if _, err := a.s.Tick(now.Add(ivl/2), nil); err != nil {
		t.Errorf("timeout fired although the PONG arrived: %v", err)
	}
	if len(a.h.evs) != 1 || len(b.h.evs) != 1 {
		t.Errorf("PING/PONG reached a handler: %v / %v", a.h.evs, b.h.evs)
	}
}

func TestPairIncompatible(t *testing.T) {
	for _, tc := range []struct {
		name               string
		aCompat, bCompat   func(string) bool
		aIncompat, bIncomp bool // which side detects it itself; the other sees the ERROR
	}{
		{"both check", compat("PULL"), compat("PULL"), true, true},
		{"only b checks", nil, compat("PULL"), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newConn(&zmtp.Config{SocketType: "PUB", Compatible: tc.aCompat})
			b := newConn(&zmtp.Config{SocketType: "PUSH", Compatible: tc.bCompat})
			a.out = a.s.Start(t0, nil)
			b.out = b.s.Start(t0, nil)
			link(t, t0, a, b)
			for _, side := range []struct {
				name   string
				c      *conn
				incomp bool
				ours   string
				theirs string
			}{{"a", a, tc.aIncompat, "PUB", "PUSH"}, {"b", b, tc.bIncomp, "PUSH", "PUB"}} {
				err := side.c.err
				if side.incomp {
					var ie *zmtp.IncompatibleError
					if !errors.Is(err, zmtp.ErrIncompatible) || !errors.As(err, &ie) || ie.Ours != side.ours || ie.Peer != side.theirs {
						t.Errorf("%s: err = %v, want incompatible %s/%s", side.name, err, side.ours, side.theirs)
					}
				} else {
					var pe *zmtp.PeerError
					if !errors.As(err, &pe) || pe.Reason != "Invalid socket type" || !errors.Is(err, zmtp.ErrPeer) {
						t.Errorf("%s: err = %v, want ERROR \"Invalid socket type\"", side.name, err)
					}
				}
				if side.c.s.Ready() || side.incomp && (side.c.h.peer != nil || side.c.s.Peer() != nil) {
					t.Errorf("%s: handshake completed", side.name)
				}
				if !errors.Is(side.c.s.Err(), err) {
					t.Errorf("%s: Err() = %v", side.name, side.c.s.Err())
				}
				// Sticky: later calls report the same failure.
				n, _, err2 := side.c.s.Read([]byte{1, 2, 3}, t0, nil, side.c.h)
				if n != 0 || err2 != err {
					t.Errorf("%s: Read after failure = %d, %v", side.name, n, err2)
				}
			}
		})
	}
}

// TestIncompatibleSendsError checks the bytes: our READY, then ERROR "Invalid socket type".
func TestIncompatibleSendsError(t *testing.T) {
	c := newConn(pullConfig())
	err := c.push(t, t0, handshake("SUB"))
	if !errors.Is(err, zmtp.ErrIncompatible) {
		t.Fatalf("err = %v", err)
	}
	want := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	want = codec.AppendReady(want, codec.Property{Name: "Socket-Type", Value: []byte("PULL")})
	want = codec.AppendError(want, "Invalid socket type")
	if !bytes.Equal(c.out, want) {
		t.Errorf("wrote\n%x\nwant\n%x", c.out, want)
	}
	if !strings.Contains(err.Error(), `"PULL"`) || !strings.Contains(err.Error(), `"SUB"`) || strings.Count(err.Error(), "zmq: ") != 1 {
		t.Errorf("error text %q", err)
	}
}

// TestReadyOnlyAfterGreeting: READY must not leave before the peer's greeting fully arrived.
func TestReadyOnlyAfterGreeting(t *testing.T) {
	c := newConn(pullConfig())
	c.out = c.s.Start(t0, nil)
	greet := peerGreeting(3, 1, "NULL")
	if len(c.out) != codec.SignatureSize {
		t.Fatalf("Start wrote %d bytes", len(c.out))
	}
	if c.s.Start(t0, nil) != nil {
		t.Error("second Start wrote again")
	}
	c.out = nil
	if err := c.push(t, t0, greet[:63]); err != nil {
		t.Fatal(err)
	}
	// Only the rest of our greeting went out (the peer's head is in), no READY.
	if !bytes.Equal(c.out, greet[codec.SignatureSize:]) || len(c.buf) != 63 {
		t.Fatalf("after 63 greeting bytes: wrote %x, kept %d", c.out, len(c.buf))
	}
	c.out = nil
	if err := c.push(t, t0, greet[63:]); err != nil {
		t.Fatal(err)
	}
	want := codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PULL")})
	if !bytes.Equal(c.out, want) || len(c.buf) != 0 {
		t.Errorf("after greeting wrote %x, kept %d", c.out, len(c.buf))
	}
}

func TestReadWithoutStartSendsGreeting(t *testing.T) {
	s := zmtp.NewSession(pullConfig())
	n, out, err := s.Read(peerGreeting(3, 0, "NULL"), t0, nil, &recorder{})
	if err != nil || n != 64 {
		t.Fatal(n, err)
	}
	g, gn, err := codec.ParseGreeting(out)
	if err != nil || gn != 64 || g.Major != 3 || g.Minor != 1 || g.Mechanism != "NULL" || g.AsServer {
		t.Fatalf("first bytes %+v %v", g, err)
	}
	if _, err := codec.ParseCommand(out[64+2:]); err != nil {
		t.Errorf("no READY after greeting: %v", err)
	}
}

func TestPeerVersion30AndPropertyCase(t *testing.T) {
	c := newConn(pullConfig())
	in := peerGreeting(3, 0, "NULL")
	in = codec.AppendReady(in, codec.Property{Name: "socket-type", Value: []byte("PUSH")},
		codec.Property{Name: "IDENTITY", Value: []byte{0, 1}})
	if err := c.push(t, t0, in); err != nil {
		t.Fatal(err)
	}
	p := c.s.Peer()
	if p == nil || p.Minor != 0 || p.SocketType != "PUSH" || !bytes.Equal(p.Identity, []byte{0, 1}) {
		t.Fatalf("peer %+v", p)
	}
	if _, ok := p.Properties["socket-type"]; !ok {
		t.Error("property name not kept as received")
	}
}

func TestPeerDataIsCopied(t *testing.T) {
	c := newConn(pullConfig())
	in := handshake("PUSH", codec.Property{Name: "Identity", Value: []byte("abc")})
	s := zmtp.NewSession(pullConfig())
	if _, _, err := s.Read(in, t0, nil, c.h); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'Z'
	}
	p := s.Peer()
	if p.SocketType != "PUSH" || string(p.Identity) != "abc" || string(p.Properties["Identity"]) != "abc" {
		t.Errorf("peer changed with the input buffer: %+v", p)
	}
}

func TestCommandsAfterHandshake(t *testing.T) {
	c := newConn(pullConfig())
	in := handshake("PUSH")
	in = codec.AppendSubscribe(in, []byte("topic"))
	in = codec.AppendCancel(in, nil)
	in = codec.AppendCommand(in, "XUNKNOWN", []byte{1, 2})
	in = codec.AppendPing(in, 0, []byte("0123456789abcdef"))
	in = codec.AppendPong(in, []byte("ctx"))
	// A command between frames of a multipart message (libzmq can interleave its PINGs).
	in = codec.AppendFrame(in, codec.FlagMore, []byte("m1"))
	in = codec.AppendPing(in, 0, nil)
	in = codec.AppendSubscribe(in, []byte("t2"))
	in = codec.AppendFrame(in, 0, []byte("m2"))
	if err := c.push(t, t0, in); err != nil {
		t.Fatal(err)
	}
	want := []ev{{Kind: "ready", Name: "PUSH"},
		{Kind: "cmd", Name: "SUBSCRIBE", Data: []byte("topic")},
		{Kind: "cmd", Name: "CANCEL", Data: []byte{}},
		{Kind: "cmd", Name: "XUNKNOWN", Data: []byte{1, 2}},
		{Kind: "frame", Size: 2, More: true, First: true}, {Kind: "data", Data: []byte("m1")},
		{Kind: "cmd", Name: "SUBSCRIBE", Data: []byte("t2")},
		{Kind: "frame", Size: 2}, {Kind: "data", Data: []byte("m2")},
	}
	evsEqual(t, c.h.evs, want)
	wantOut := codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PULL")})
	wantOut = codec.AppendPong(wantOut, []byte("0123456789abcdef"))
	wantOut = codec.AppendPong(wantOut, nil)
	if got := c.out[codec.GreetingSize:]; !bytes.Equal(got, wantOut) {
		t.Errorf("wrote\n%x\nwant\n%x", got, wantOut)
	}
	c.h.check(t)
}

// TestFlowControl: Frame returning false stops at the frame's start; the next Read resumes there.
func TestFlowControl(t *testing.T) {
	hs := handshake("PUSH")
	m1 := msg(nil, []byte("one"), []byte("two"))
	m2 := msg(nil, []byte("three"), pattern(400, 1), []byte{})
	m3 := msg(nil, []byte("four"))
	stream := append(append(append(append([]byte{}, hs...), m1...), m2...), m3...)

	c := newConn(pullConfig())
	c.h.refuse = 0
	c.h.refuseRest = true // false for later frames must be ignored
	if err := c.push(t, t0, hs); err != nil {
		t.Fatal(err)
	}
	c.out = nil
	// Refuse m2: m1 is delivered, then Read stops exactly at m2's first header.
	refused := 0
	c.h.gate = func(size int) bool {
		if size == len("three") {
			refused++
			return false
		}
		return true
	}
	n, out, err := c.s.Read(append(append([]byte{}, m1...), m2...), t0, nil, c.h)
	if err != nil || n != len(m1) || len(out) != 0 {
		t.Fatalf("Read = %d (want %d), %x, %v", n, len(m1), out, err)
	}
	if c.s.InMessage() {
		t.Error("InMessage while refused at a message boundary")
	}
	// Refusing again with the same bytes stays put.
	rest := append(append([]byte{}, m2...), m3...)
	if n, _, err = c.s.Read(rest, t0, nil, c.h); n != 0 || err != nil || refused != 2 {
		t.Fatalf("second refusal: %d, %v, refused %d times", n, err, refused)
	}
	c.h.gate = nil
	// Accepting resumes exactly there, across a partial body of the 400-byte frame.
	cut := len(m2) - 30
	n, _, err = c.s.Read(rest[:cut], t0, nil, c.h)
	if err != nil || n != cut {
		t.Fatalf("resume: %d of %d, %v", n, cut, err)
	}
	if !c.s.InMessage() {
		t.Error("InMessage false inside a message body")
	}
	n, _, err = c.s.Read(rest[cut:], t0, nil, c.h)
	if err != nil || n != len(rest)-cut {
		t.Fatalf("rest: %d, %v", n, err)
	}
	want := []ev{{Kind: "ready", Name: "PUSH"}}
	want = append(want, msgEvents([]byte("one"), []byte("two"))...)
	want = append(want, msgEvents([]byte("three"), pattern(400, 1), []byte{})...)
	want = append(want, msgEvents([]byte("four"))...)
	evsEqual(t, c.h.evs, want)
	c.h.check(t)

	// Same stream refusing every message once, fed byte by byte.
	c2 := newConn(pullConfig())
	for i := range stream {
		c2.h.refuse = 1
		if err := c2.push(t, t0, stream[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for len(c2.buf) > 0 { // the caller retries later with the bytes it kept
		before := len(c2.buf)
		if err := c2.push(t, t0, nil); err != nil {
			t.Fatal(err)
		}
		if len(c2.buf) == before {
			t.Fatalf("no progress with %d bytes left", before)
		}
	}
	evsEqual(t, c2.h.evs, want)
	c2.h.check(t)
}

// splitStream is the peer's whole stream for the split tests and the events it must produce.
func splitStream(big bool) (in []byte, want []ev, wantOut []byte) {
	in = handshake("PUSH", codec.Property{Name: "Identity", Value: []byte("peer-1")}, codec.Property{Name: "X-Zero", Value: nil})
	want = []ev{{Kind: "ready", Name: "PUSH"}}
	wantOut = codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	wantOut = codec.AppendReady(wantOut, codec.Property{Name: "Socket-Type", Value: []byte("PULL")})

	parts := [][]byte{{}, pattern(300, 3), pattern(255, 4), pattern(256, 5)}
	if big {
		parts = append(parts, pattern(70000, 6))
	}
	in = msg(in, parts...)
	want = append(want, msgEvents(parts...)...)

	in = codec.AppendSubscribe(in, []byte("news"))
	want = append(want, ev{Kind: "cmd", Name: "SUBSCRIBE", Data: []byte("news")})
	in = codec.AppendPing(in, 0, []byte("ctx"))
	wantOut = codec.AppendPong(wantOut, []byte("ctx"))
	in = codec.AppendCommand(in, "XFUTURE", pattern(300, 7)) // a long-form command
	want = append(want, ev{Kind: "cmd", Name: "XFUTURE", Data: pattern(300, 7)})

	in = msg(in, []byte{})
	want = append(want, msgEvents([]byte{})...)
	in = msg(in, []byte("a"), []byte("b"), []byte("c"))
	want = append(want, msgEvents([]byte("a"), []byte("b"), []byte("c"))...)
	// A long-form header for a short frame is legal (senders SHOULD use the short form).
	in = append(in, 0x02, 0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i')
	want = append(want, msgEvents([]byte("hi"))...)
	return in, want, wantOut
}

func TestSplitByteByByte(t *testing.T) {
	in, want, wantOut := splitStream(true)
	whole := newConn(pullConfig())
	if err := whole.push(t, t0, in); err != nil {
		t.Fatal(err)
	}
	evsEqual(t, whole.h.evs, want)
	whole.h.check(t)

	c := newConn(pullConfig())
	if err := c.pushBytes(t, t0, in); err != nil {
		t.Fatal(err)
	}
	evsEqual(t, c.h.evs, want)
	c.h.check(t)
	if !bytes.Equal(c.out, wantOut) || !bytes.Equal(whole.out, wantOut) {
		t.Errorf("wrote %x / %x\nwant %x", c.out, whole.out, wantOut)
	}
	if len(c.buf) != 0 || c.s.InMessage() {
		t.Errorf("%d bytes left, InMessage %v", len(c.buf), c.s.InMessage())
	}
}

func TestSplitEveryCut(t *testing.T) {
	in, want, wantOut := splitStream(false)
	for i := 0; i <= len(in); i++ {
		c := newConn(pullConfig())
		if err := c.pushChunks(t, t0, in, i); err != nil {
			t.Fatalf("cut %d: %v", i, err)
		}
		if len(c.buf) != 0 {
			t.Fatalf("cut %d: %d bytes left", i, len(c.buf))
		}
		if !bytes.Equal(c.out, wantOut) {
			t.Fatalf("cut %d: wrote %x", i, c.out)
		}
		evsEqual(t, c.h.evs, want)
		c.h.check(t)
		if t.Failed() {
			t.Fatalf("cut at %d", i)
		}
	}
	// Two cuts at every pair of positions around the message boundaries would be quadratic;
	// sample them with a fixed stride instead.
	for i := 0; i <= len(in); i += 7 {
		for j := i; j <= len(in); j += 13 {
			c := newConn(pullConfig())
			if err := c.pushChunks(t, t0, in, i, j); err != nil {
				t.Fatalf("cuts %d,%d: %v", i, j, err)
			}
			evsEqual(t, c.h.evs, want)
			if t.Failed() {
				t.Fatalf("cuts at %d,%d", i, j)
			}
		}
	}
}

func TestPartialHeaderNotConsumed(t *testing.T) {
	hs := handshake("PUSH")
	c := newConn(pullConfig())
	if err := c.push(t, t0, hs); err != nil {
		t.Fatal(err)
	}
	frame := codec.AppendFrame(nil, 0, pattern(1000, 0)) // 9-byte header
	for i := 1; i < 9; i++ {
		n, _, err := c.s.Read(frame[:i], t0, nil, c.h)
		if n != 0 || err != nil {
			t.Fatalf("header prefix %d: n=%d err=%v", i, n, err)
		}
	}
	// A command is consumed only whole.
	cmd := codec.AppendSubscribe(nil, []byte("x"))
	for i := 1; i < len(cmd); i++ {
		n, _, err := c.s.Read(cmd[:i], t0, nil, c.h)
		if n != 0 || err != nil {
			t.Fatalf("command prefix %d: n=%d err=%v", i, n, err)
		}
	}
	if len(c.h.evs) != 1 {
		t.Errorf("events %v", c.h.evs)
	}
}

// TestImportLayering enforces the design: zmtp never imports gnet or net.
func TestImportLayering(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "net" || strings.HasPrefix(path, "net/") || strings.Contains(path, "gnet") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

// Without greetings (ZWS 2.0), two sessions start with READY and complete the handshake.
func TestNoGreeting(t *testing.T) {
	now := time.Unix(1000, 0)
	a := zmtp.NewSession(&zmtp.Config{SocketType: "PUSH", NoGreeting: true})
	b := zmtp.NewSession(&zmtp.Config{SocketType: "PULL", NoGreeting: true})
	outA := a.Start(now, nil)
	outB := b.Start(now, nil)
	if _, _, err := codec.ParseGreeting(outA); err == nil {
		t.Fatal("a greeting was sent")
	}
	hdr, _, err := codec.ParseFrameHeader(outA, -1)
	if err != nil || !hdr.Command() {
		t.Fatalf("first frame %+v %v, want the READY command", hdr, err)
	}
	var ha, hb nopReady
	if n, _, err := b.Read(outA, now, nil, &hb); err != nil || n != len(outA) {
		t.Fatalf("b: n=%d err=%v", n, err)
	}
	if n, _, err := a.Read(outB, now, nil, &ha); err != nil || n != len(outB) {
		t.Fatalf("a: n=%d err=%v", n, err)
	}
	if !a.Ready() || !b.Ready() || a.Peer().SocketType != "PULL" || a.Peer().Minor != 1 {
		t.Fatalf("ready %v %v, peer %+v", a.Ready(), b.Ready(), a.Peer())
	}
}

type nopReady struct{}

func (*nopReady) Ready(*zmtp.Peer) error     { return nil }
func (*nopReady) Frame(int, bool, bool) bool { return true }
func (*nopReady) FrameData([]byte, bool)     {}
func (*nopReady) Command(codec.Command)      {}

// In bare ZWS2.0 mode there is no mechanism handshake, yet once the peer's routing id has arrived
// the session is ready and Peer describes the peer.
func TestBarePeerAfterRoutingID(t *testing.T) {
	c := newConn(&zmtp.Config{SocketType: "DEALER", NoGreeting: true, NoHandshake: true})
	c.out = c.s.Start(t0, nil)
	if err := c.push(t, t0, codec.AppendFrame(nil, 0, []byte("peer-id"))); err != nil {
		t.Fatal(err)
	}
	if p := c.s.Peer(); !c.s.Ready() || p == nil || string(p.Identity) != "peer-id" {
		t.Fatalf("ready %v, peer %+v", c.s.Ready(), p)
	}
}
