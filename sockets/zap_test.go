package sockets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/zmtp"
)

// zapCheck admits alice (User-Id "alice@example") and refuses everyone else with 400; NULL
// clients of domain "open" pass as "anonymous".
func zapCheck(req ZAPRequest) ZAPReply {
	switch {
	case req.Mechanism == "PLAIN" && len(req.Credentials) == 2 && string(req.Credentials[0]) == "alice" &&
		string(req.Credentials[1]) == "secret":
		return ZAPReply{StatusCode: 200, UserID: "alice@example", Metadata: map[string]string{"X-Role": "admin"}}
	case req.Mechanism == "NULL" && req.Domain == "open":
		return ZAPReply{StatusCode: 200, UserID: "anonymous"}
	}
	return ZAPReply{StatusCode: 400, StatusText: "denied"}
}

// serveZAP answers requests on a handler socket (REP or ROUTER) with check, as a libzmq
// application's ZAP thread does, until the socket closes.
func serveZAP(t *testing.T, h *Socket, check ZAPHandler) {
	done := make(chan struct{})
	t.Cleanup(func() { _ = h.Close(); <-done })
	go func() {
		defer close(done)
		for {
			m, err := h.Recv(context.Background())
			if err != nil {
				return
			}
			var env [][]byte
			if h.Type() == Router {
				env, m = m[:2], m[2:] // routing id and delimiter
			}
			req, err := zmtp.ParseZAPRequest(m)
			if err != nil {
				t.Errorf("handler got %q: %v", m, err)
				return
			}
			rep := check(req)
			rep.Version, rep.RequestID = "1.0", req.RequestID
			if err := h.Send(context.Background(), append(env, rep.AppendFrames(nil)...)...); err != nil {
				return
			}
		}
	}()
}

// zapScenario runs the cases every form of handler must get right, on server sockets made by
// newServer: alice gets in and her messages say who she is; a wrong password is refused with
// HANDSHAKE_FAILED_AUTH 400 on both sides; NULL with domain "open" gets in as anonymous.
func zapScenario(t *testing.T, r *reactor.Reactor, newServer func(opts ...Option) *Socket) {
	ctx := testCtx(t)
	for _, tr := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/zap"} {
		pull := newServer(WithPlainServer(true, nil))
		sev := pull.Monitor(64)
		ep, err := pull.Bind(tr)
		if err != nil {
			t.Fatal(err)
		}
		bad := newSocket(t, r, Push, WithPlainClient("alice", "guess"))
		cev := bad.Monitor(64)
		connect(t, bad, ep)
		e := waitEvent(t, cev, func(e reactor.Event) bool { return e.Type == EventHandshakeFailedAuth })
		if e.Value != 400 {
			t.Fatalf("%s: client event %v", tr, e)
		}
		e = waitEvent(t, sev, func(e reactor.Event) bool { return e.Type == EventHandshakeFailedAuth })
		if e.Value != 400 || !errors.Is(e.Err, zmtp.ErrAuthentication) {
			t.Fatalf("%s: server event %v", tr, e)
		}
		good := newSocket(t, r, Push, WithPlainClient("alice", "secret"))
		connect(t, good, ep)
		if err := good.Send(ctx, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		m, err := pull.RecvMsg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := m.Gets("User-Id"); !ok || u != "alice@example" || string(m.Frame(0)) != "hi" {
			t.Fatalf("%s: User-Id %q, %v", tr, u, ok)
		}
		if v, _ := m.Gets("X-Role"); v != "admin" {
			t.Fatalf("%s: X-Role %q", tr, v)
		}
		m.Release()

		open := newServer(WithZAPDomain("open"))
		oep, err := open.Bind(tr)
		if err != nil {
			t.Fatal(err)
		}
		anon := newSocket(t, r, Push)
		connect(t, anon, oep)
		if err := anon.Send(ctx, []byte("anon")); err != nil {
			t.Fatal(err)
		}
		m, err = open.RecvMsg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := m.Gets("User-Id"); !ok || u != "anonymous" {
			t.Fatalf("%s: NULL User-Id %q, %v", tr, u, ok)
		}
		m.Release()
	}
}

// A Go function as the reactor's ZAP handler, and as one socket's.
func TestZAPHandlerFunc(t *testing.T) {
	r := newReactor(t)
	if err := SetZAPHandler(r, zapCheck); err != nil {
		t.Fatal(err)
	}
	zapScenario(t, r, func(opts ...Option) *Socket { return newSocket(t, r, Pull, opts...) })

	r2 := newReactor(t) // no reactor handler: the socket's own decides
	zapScenario(t, r2, func(opts ...Option) *Socket {
		return newSocket(t, r2, Pull, append(opts, WithZAPHandler(zapCheck))...)
	})
}

// A handler socket at inproc://zeromq.zap.01, REP and ROUTER, as libzmq applications bind it.
func TestZAPHandlerSocket(t *testing.T) {
	for _, typ := range []Type{Rep, Router} {
		t.Run(typ.String(), func(t *testing.T) {
			r := newReactor(t)
			h := newSocket(t, r, typ)
			if _, err := h.Bind(ZAPEndpoint); err != nil {
				t.Fatal(err)
			}
			serveZAP(t, h, zapCheck)
			zapScenario(t, r, func(opts ...Option) *Socket { return newSocket(t, r, Pull, opts...) })
		})
	}
}

// Without a handler: PLAIN refuses (HANDSHAKE_FAILED_NO_DETAIL, as libzmq), NULL with a domain
// admits unless the domain is enforced; a handler socket bound later, then closed, is used while
// it is there.
func TestZAPNoHandler(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithPlainServer(true, nil))
	sev := pull.Monitor(64)
	ep := bindTCP(t, pull)
	if err := newSocket(t, r, Push, WithPlainClient("alice", "secret")).Connect(ep); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, sev, func(e reactor.Event) bool { return e.Err != nil })
	if e.Type != EventHandshakeFailedNoDetail || !errors.Is(e.Err, zmtp.ErrNoZAPHandler) {
		t.Fatalf("PLAIN without a handler: %v", e)
	}

	for _, enforce := range []bool{false, true} {
		null := newSocket(t, r, Pull, WithZAPDomain("d"), WithZAPEnforceDomain(enforce))
		nev := null.Monitor(64)
		nep := bindTCP(t, null)
		if err := newSocket(t, r, Push).Connect(nep); err != nil {
			t.Fatal(err)
		}
		e := waitEvent(t, nev, func(e reactor.Event) bool {
			return e.Type == EventHandshakeSucceeded || e.Type == EventHandshakeFailedNoDetail
		})
		if (e.Type == EventHandshakeSucceeded) == enforce {
			t.Fatalf("NULL with a domain, enforce %v: %v", enforce, e)
		}
	}

	h := newSocket(t, r, Rep)
	if _, err := h.Bind(ZAPEndpoint); err != nil {
		t.Fatal(err)
	}
	serveZAP(t, h, zapCheck)
	push := newSocket(t, r, Push, WithPlainClient("alice", "secret"))
	connect(t, push, ep)
	if err := push.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	_ = h.Close()
	waitFor(t, "the handler's name is free", func() bool { l, _ := r.InprocBound(ZAPEndpoint); return l == nil })
	if err := newSocket(t, r, Push, WithPlainClient("alice", "secret")).Connect(ep); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, sev, func(e reactor.Event) bool { return e.Err != nil })
	if !errors.Is(e.Err, zmtp.ErrNoZAPHandler) {
		t.Fatalf("after the handler closed: %v", e)
	}
}

// A hostile handler socket: a reply with a wrong version, a bad status code, missing frames or a
// non-empty delimiter fails the handshake it answers as a protocol error (libzmq's
// ZMQ_PROTOCOL_ERROR_ZAP_*); a reply with a request id nobody asked for is dropped, and the
// handshake it was meant for ends at HANDSHAKE_IVL; the handler and other connections are unharmed.
func TestZAPHostileHandler(t *testing.T) {
	r := newReactor(t)
	h := newSocket(t, r, Router)
	if _, err := h.Bind(ZAPEndpoint); err != nil {
		t.Fatal(err)
	}
	type mangle func(env, reply [][]byte) [][]byte
	cases := []struct {
		name string
		f    mangle
		ev   EventType
	}{
		{"version", func(env, rep [][]byte) [][]byte { rep[0] = []byte("2.0"); return append(env, rep...) }, EventHandshakeFailedProtocol},
		{"status", func(env, rep [][]byte) [][]byte { rep[2] = []byte("201"); return append(env, rep...) }, EventHandshakeFailedProtocol},
		{"missing frames", func(env, rep [][]byte) [][]byte { return append(env, rep[:4]...) }, EventHandshakeFailedProtocol},
		{"delimiter", func(env, rep [][]byte) [][]byte { env[1] = []byte("x"); return append(env, rep...) }, EventHandshakeFailedProtocol},
		{"metadata", func(env, rep [][]byte) [][]byte { rep[5] = []byte{9, 'X'}; return append(env, rep...) }, EventHandshakeFailedProtocol},
		{"request id", func(env, rep [][]byte) [][]byte { rep[1] = []byte("999999"); return append(env, rep...) }, EventHandshakeFailedNoDetail},
		{"too few to route", func(env, rep [][]byte) [][]byte { return append(env, rep[:1]...) }, EventHandshakeFailedNoDetail},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		pull := newSocket(t, r, Pull, WithPlainServer(true, nil), WithHandshakeIvl(300*time.Millisecond))
		sev := pull.Monitor(64)
		ep := bindTCP(t, pull)
		if err := newSocket(t, r, Push, WithPlainClient("alice", "secret")).Connect(ep); err != nil {
			t.Fatal(err)
		}
		m, err := h.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req, err := zmtp.ParseZAPRequest(m[2:])
		if err != nil {
			t.Fatal(err)
		}
		rep := zapCheck(req)
		rep.Version, rep.RequestID = "1.0", req.RequestID
		if err := h.Send(ctx, c.f([][]byte{m[0], m[1]}, rep.AppendFrames(nil))...); err != nil {
			t.Fatal(err)
		}
		e := waitEvent(t, sev, func(e reactor.Event) bool { return e.Err != nil })
		if e.Type != c.ev {
			t.Fatalf("%s: %v, want %v", c.name, e, c.ev)
		}
		if c.ev == EventHandshakeFailedProtocol && !errors.Is(e.Err, zmtp.ErrZAPReply) {
			t.Fatalf("%s: %v", c.name, e.Err)
		}
		if c.ev == EventHandshakeFailedNoDetail && !errors.Is(e.Err, zmtp.ErrHandshakeTimeout) {
			t.Fatalf("%s: %v", c.name, e.Err)
		}
		_ = pull.Close()
	}
}

// metaPair is a PUSH (routing id, X- metadata, PLAIN) connected to a PULL (PLAIN server with a
// ZAP handler) over transport tr.
func metaPair(t *testing.T, r *reactor.Reactor, tr string) (pull, push *Socket) {
	pull = newSocket(t, r, Pull, WithPlainServer(true, nil), WithZAPHandler(zapCheck))
	ep, err := pull.Bind(tr)
	if err != nil {
		t.Fatal(err)
	}
	push = newSocket(t, r, Push, WithPlainClient("alice", "secret"), WithRoutingID([]byte("pusher")),
		WithMetadata("X-App", "meta-test"))
	connect(t, push, ep)
	return pull, push
}

// Every property zmq_msg_gets answers, over tcp, ipc and ws; inproc messages have none, as in
// libzmq; a received message sent on keeps none of them.
func TestMsgMetadata(t *testing.T) {
	ctx := testCtx(t)
	r := newReactor(t)
	for _, tr := range []string{"tcp://127.0.0.1:*", "ipc://*", "ws://127.0.0.1:*/meta"} {
		pull, push := metaPair(t, r, tr)
		if err := push.Send(ctx, []byte("m")); err != nil {
			t.Fatal(err)
		}
		m, err := pull.RecvMsg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"User-Id": "alice@example", "Socket-Type": "PUSH", "Routing-Id": "pusher",
			"Identity": "pusher", "X-App": "meta-test", "X-Role": "admin", "x-app": "meta-test"}
		for name, w := range want {
			if v, ok := m.Gets(name); !ok || v != w {
				t.Errorf("%s: %s = %q, %v; want %q", tr, name, v, ok, w)
			}
		}
		addr, ok := m.Gets("Peer-Address")
		switch {
		case strings.HasPrefix(tr, "ipc"):
			if !ok || !strings.HasPrefix(addr, "localhost:") || strings.Count(addr, ":") != 3 {
				t.Errorf("ipc Peer-Address %q", addr)
			}
		case !ok || addr != "127.0.0.1":
			t.Errorf("%s: Peer-Address %q, %v", tr, addr, ok)
		}
		if v, ok := m.Gets("X-Missing"); ok {
			t.Errorf("%s: X-Missing = %q", tr, v)
		}
		m.Release()
	}

	in := newSocket(t, r, Pull)
	if _, err := in.Bind("inproc://meta"); err != nil {
		t.Fatal(err)
	}
	out := newSocket(t, r, Push)
	if err := out.Connect("inproc://meta"); err != nil {
		t.Fatal(err)
	}
	// Forward a message received over tcp through inproc: its metadata stays behind.
	pull, push := metaPair(t, r, "tcp://127.0.0.1:*")
	if err := push.Send(ctx, []byte("fwd")); err != nil {
		t.Fatal(err)
	}
	m, err := pull.RecvMsg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata() == nil {
		t.Fatal("no metadata over tcp")
	}
	if err := out.SendMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	m, err = in.RecvMsg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Metadata() != nil || string(m.Frame(0)) != "fwd" {
		t.Fatalf("inproc message has metadata %v", m.Metadata())
	}
	if _, ok := m.Gets("Socket-Type"); ok {
		t.Fatal("an inproc message answers Socket-Type")
	}
	m.Release()
}

// Metadata costs no allocation per message: every message of a connection points at the same
// Metadata, and Gets reads it in place.
func TestZeroAllocMetadata(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	ctx := testCtx(t)
	pull, push := metaPair(t, newReactor(t), "tcp://127.0.0.1:*")
	const batch = 100
	payload := make([]byte, 64)
	var shared *pool.Metadata
	run := func() {
		for i := 0; i < batch; i++ {
			m := pool.NewMsg()
			m.AppendFrame(payload)
			if err := push.SendMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < batch; i++ {
			m, err := pull.RecvMsg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if u, ok := m.Gets("User-Id"); !ok || u != "alice@example" {
				t.Fatalf("User-Id %q", u)
			}
			if shared == nil {
				shared = m.Metadata()
			} else if m.Metadata() != shared {
				t.Fatal("a message with metadata of its own")
			}
			m.Release()
		}
	}
	for i := 0; i < 100; i++ {
		run()
	}
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%.0f allocations per %d messages with metadata", allocs, batch)
	}
}

// The status codes and version sockets names are zmtp's.
func TestZAPConstants(t *testing.T) {
	if ZAPOK != zmtp.ZAPOK || ZAPTempFailure != zmtp.ZAPTempFailure || ZAPDenied != zmtp.ZAPDenied ||
		ZAPInternalFail != zmtp.ZAPInternalFail || ZAPVersion != zmtp.ZAPVersion {
		t.Fatal("sockets' ZAP constants differ from zmtp's")
	}
}
