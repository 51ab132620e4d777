package sockets

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/zmtp"
)

type curveTestKeys struct{ server, client struct{ pub, sec CurveKey } }

func newCurveTestKeys(t testing.TB) (k curveTestKeys) {
	var err error
	if k.server.pub, k.server.sec, err = CurveKeypair(); err != nil {
		t.Fatal(err)
	}
	if k.client.pub, k.client.sec, err = CurveKeypair(); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k curveTestKeys) serverOpts() []Option {
	return []Option{WithCurveServer(true), WithCurveSecretKey(k.server.sec.String()), WithCurvePublicKey(k.server.pub.String())}
}

func (k curveTestKeys) clientOpts() []Option {
	// Raw bytes for one key, text for the others: both forms work.
	return []Option{WithCurveServerKey(string(k.server.pub[:])), WithCurveSecretKey(k.client.sec.String()),
		WithCurvePublicKey(k.client.pub.String())}
}

var curveTransports = []string{"tcp://127.0.0.1:*", "ipc://*", "ws://127.0.0.1:*/curve"}

func scheme(ep string) string { return ep[:strings.Index(ep, ":")] }

// CURVE between zloop sockets over tcp, ipc and ws: PUSH/PULL with multipart and a 200 KiB frame,
// DEALER/ROUTER both ways, PUB/SUB (the subscription travels boxed too).
func TestCurve(t *testing.T) {
	for _, bind := range curveTransports {
		t.Run(scheme(bind), func(t *testing.T) {
			r := newReactor(t)
			k := newCurveTestKeys(t)
			big := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)

			pull := newSocket(t, r, Pull, k.serverOpts()...)
			ep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			push := newSocket(t, r, Push, k.clientOpts()...)
			connect(t, push, ep)
			send(t, push, "a", "b")
			send(t, push, string(big))
			expectMsg(t, pull, "a", "b")
			expectMsg(t, pull, string(big))
			// A MESSAGE larger than any read buffer: it is gathered whole before its box opens.
			huge := bytes.Repeat([]byte{0x5A}, 20<<20)
			if err := push.Send(testCtx(t), huge); err != nil {
				t.Fatal(err)
			}
			if m := recvN(t, pull, 1); !bytes.Equal(m[0], huge) {
				t.Fatal("20 MiB message garbled")
			}

			router := newSocket(t, r, Router, k.serverOpts()...)
			rep, err := router.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			dealer := newSocket(t, r, Dealer, k.clientOpts()...)
			connect(t, dealer, rep)
			send(t, dealer, "q", string(big))
			m := recvN(t, router, 3)
			expectFrames(t, m[1:], "q", string(big))
			send(t, router, string(m[0]), "answer")
			expectMsg(t, dealer, "answer")

			pub := newSocket(t, r, Pub, k.serverOpts()...)
			pep, err := pub.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			sub := newSocket(t, r, Sub, k.clientOpts()...)
			if err := sub.Subscribe([]byte("news")); err != nil {
				t.Fatal(err)
			}
			connect(t, sub, pep)
			waitFor(t, "the subscription", func() bool {
				send(t, pub, "other")
				send(t, pub, "news!")
				got, err := sub.Recv(withTimeout(t, 50*time.Millisecond))
				return err == nil && string(got[0]) == "news!"
			})
		})
	}
}

// A client with the wrong server key: the server cannot open its HELLO and reports
// HANDSHAKE_FAILED_PROTOCOL (ErrCryptographic), the client sees the connection end during the
// handshake (HANDSHAKE_FAILED_NO_DETAIL), as libzmq reports both (TestInteropCurveWrongKey).
// A client of the wrong mechanism fails on the greeting.
func TestCurveRefused(t *testing.T) {
	for _, bind := range curveTransports {
		t.Run(scheme(bind), func(t *testing.T) {
			r := newReactor(t)
			k := newCurveTestKeys(t)
			other := newCurveTestKeys(t)
			pull := newSocket(t, r, Pull, k.serverOpts()...)
			events := pull.Monitor(64)
			ep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			wrong := newSocket(t, r, Push, WithCurveServerKey(other.server.pub.String()), WithCurveSecretKey(k.client.sec.String()))
			wevents := wrong.Monitor(64)
			connect(t, wrong, ep)
			e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedProtocol })
			if !errors.Is(e.Err, zmtp.ErrCryptographic) {
				t.Fatalf("server: %v", e.Err)
			}
			waitEvent(t, wevents, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedNoDetail })
			if scheme(bind) != "ws" {
				null := newSocket(t, r, Push)
				connect(t, null, ep)
				e = waitEvent(t, events, func(e reactor.Event) bool {
					return e.Type == reactor.EventHandshakeFailedProtocol && errors.Is(e.Err, zmtp.ErrMechanismMismatch)
				})
			}
		})
	}
}

// The options reach the session's configuration: server and client keys, no ZAP hook of its own.
func TestCurveSessionConfig(t *testing.T) {
	r := newReactor(t)
	k := newCurveTestKeys(t)
	pull := newSocket(t, r, Pull, k.serverOpts()...)
	ro := pull.opts.pipeOptions(Pull)
	if !ro.Session.Curve || !ro.Session.CurveServer || ro.Session.Authorize != nil {
		t.Fatalf("server session config %+v", ro.Session)
	}
	push := newSocket(t, r, Push, k.clientOpts()...)
	co := push.opts.pipeOptions(Push)
	if !co.Session.Curve || co.Session.CurveServer || co.Session.CurveServerKey != k.server.pub ||
		co.Session.CurvePublicKey != k.client.pub || co.Session.CurveSecretKey != k.client.sec {
		t.Fatal("client session config")
	}
}

// Heartbeats on CURVE connections (PINGs and PONGs boxed like everything else, over ws the
// WebSocket's own pings): neither side drops the other over many intervals.
func TestCurveHeartbeats(t *testing.T) {
	for _, bind := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/hb"} {
		t.Run(scheme(bind), func(t *testing.T) {
			r := newReactor(t)
			ctx := testCtx(t)
			k := newCurveTestKeys(t)
			hb := WithHeartbeat(20*time.Millisecond, time.Second, time.Second) // generous: -race on a busy machine
			pull := newSocket(t, r, Pull, append(k.serverOpts(), hb)...)
			pevents := pull.Monitor(64)
			ep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			push := newSocket(t, r, Push, append(k.clientOpts(), hb)...)
			events := push.Monitor(64)
			connect(t, push, ep)
			waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
			window := time.After(1500 * time.Millisecond)
		loop:
			for {
				select {
				case e := <-events:
					if e.Type == reactor.EventDisconnected {
						for len(pevents) > 0 {
							t.Logf("server: %v", <-pevents)
						}
						t.Fatalf("dropped despite heartbeats: %v", e)
					}
				case <-window:
					break loop
				}
			}
			if err := push.Send(ctx, []byte("still here")); err != nil {
				t.Fatal(err)
			}
			expectMsg(t, pull, "still here")
		})
	}
}

// Bad keys and contradictory options are refused as libzmq's setsockopt would (EINVAL).
func TestCurveOptions(t *testing.T) {
	r := newReactor(t)
	k := newCurveTestKeys(t)
	s := newSocket(t, r, Push)
	for name, opts := range map[string][]Option{
		"short key":         {WithCurveSecretKey("abc")},
		"bad Z85":           {WithCurveSecretKey(strings.Repeat(" ", 40))},
		"41 characters":     {WithCurveSecretKey(k.client.sec.String() + "x")},
		"no secret key":     {WithCurveServerKey(k.server.pub.String())},
		"client, no server": {WithCurveSecretKey(k.client.sec.String())},
		"mismatched public": {WithCurveServer(true), WithCurveSecretKey(k.server.sec.String()), WithCurvePublicKey(k.client.pub.String())},
		"PLAIN and CURVE":   {WithCurveServer(true), WithCurveSecretKey(k.server.sec.String()), WithPlainClient("a", "b")},
	} {
		if err := s.SetOptions(opts...); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := s.SetOptions(k.clientOpts()...); err != nil {
		t.Fatal(err)
	}
}

// Heartbeats on CURVE against libzmq, over tcp, one side pinging at a time so that the only
// traffic the pinging side gets is the other's PONGs: zloop's boxed PINGs are answered by libzmq,
// libzmq's boxed PINGs by zloop, and neither drops the other over many intervals.
func TestInteropCurveHeartbeats(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, zloopPings := range []bool{true, false} {
		name := map[bool]string{true: "zloop pings", false: "libzmq pings"}[zloopPings]
		t.Run(name, func(t *testing.T) {
			r := newReactor(t)
			ctx := testCtx(t)
			k := newCurveTestKeys(t)
			l := libzmqCurveServer(t, "PULL", k)
			opts := k.clientOpts()
			if zloopPings {
				opts = append(opts, WithHeartbeat(25*time.Millisecond, 0, time.Second))
			} else {
				l.SetInt("HEARTBEAT_IVL", 25)
				l.SetInt("HEARTBEAT_TIMEOUT", 1000)
			}
			ep := l.Bind("tcp://127.0.0.1:*")
			push := newSocket(t, r, Push, opts...)
			events := push.Monitor(64)
			connect(t, push, ep)
			waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
			heartbeatsHold(t, ctx, events, push, l)
		})
	}
}

// CURVE against libzmq 4.3, both directions, tcp, ipc and ws: zloop clients with a libzmq server and
// libzmq clients with a zloop server, PUSH/PULL (multipart, 100 KiB), REQ/REP, DEALER/ROUTER and
// PUB/SUB.
func TestInteropCurve(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, bind := range []string{"tcp://127.0.0.1:*", "ipc://*", "ws://127.0.0.1:*/curve"} {
		t.Run(scheme(bind), func(t *testing.T) { testInteropCurve(t, bind) })
	}
}

func libzmqCurveServer(t *testing.T, typ string, k curveTestKeys) *testpeer.Peer {
	l := testpeer.Start(t, typ)
	l.SetInt("CURVE_SERVER", 1)
	l.SetBytes("CURVE_SECRETKEY", []byte(k.server.sec.String()))
	l.SetBytes("CURVE_PUBLICKEY", []byte(k.server.pub.String()))
	return l
}

func libzmqCurveClient(t *testing.T, typ string, k curveTestKeys, serverKey CurveKey) *testpeer.Peer {
	l := testpeer.Start(t, typ)
	l.SetBytes("CURVE_SERVERKEY", []byte(serverKey.String()))
	l.SetBytes("CURVE_SECRETKEY", []byte(k.client.sec.String()))
	l.SetBytes("CURVE_PUBLICKEY", []byte(k.client.pub.String()))
	return l
}

func testInteropCurve(t *testing.T, bind string) {
	r := newReactor(t)
	ctx := testCtx(t)
	k := newCurveTestKeys(t)
	big := bytes.Repeat([]byte{0xA5, 1, 2, 3}, 100<<10/4)

	// zloop client -> libzmq server.
	lpull := libzmqCurveServer(t, "PULL", k)
	ep := lpull.Bind(bind)
	push := newSocket(t, r, Push, k.clientOpts()...)
	connect(t, push, ep)
	send(t, push, "to", "libzmq")
	send(t, push, string(big))
	if m, err := lpull.Recv(10 * time.Second); err != nil || len(m) != 2 || string(m[1]) != "libzmq" {
		t.Fatalf("libzmq got %q, %v", m, err)
	}
	if m, err := lpull.Recv(10 * time.Second); err != nil || !bytes.Equal(m[0], big) {
		t.Fatalf("libzmq got %d frames, %v", len(m), err)
	}

	lrep := libzmqCurveServer(t, "REP", k)
	ep = lrep.Bind(bind)
	req := newSocket(t, r, Req, k.clientOpts()...)
	connect(t, req, ep)
	send(t, req, "question")
	if m, err := lrep.Recv(10 * time.Second); err != nil || string(m[0]) != "question" {
		t.Fatalf("libzmq REP got %q, %v", m, err)
	}
	lrep.Send(big)
	expectMsg(t, req, string(big))

	lrouter := libzmqCurveServer(t, "ROUTER", k)
	ep = lrouter.Bind(bind)
	dealer := newSocket(t, r, Dealer, append(k.clientOpts(), WithRoutingID([]byte("zl")))...)
	connect(t, dealer, ep)
	send(t, dealer, "hi")
	if m, err := lrouter.Recv(10 * time.Second); err != nil || string(m[0]) != "zl" || string(m[1]) != "hi" {
		t.Fatalf("libzmq ROUTER got %q, %v", m, err)
	}
	lrouter.Send([]byte("zl"), []byte("back"), big)
	expectMsg(t, dealer, "back", string(big))

	lpub := libzmqCurveServer(t, "PUB", k)
	ep = lpub.Bind(bind)
	sub := newSocket(t, r, Sub, k.clientOpts()...)
	if err := sub.Subscribe([]byte("t")); err != nil {
		t.Fatal(err)
	}
	connect(t, sub, ep)
	waitFor(t, "libzmq PUB to honour zloop's boxed SUBSCRIBE", func() bool {
		lpub.Send([]byte("x-skip"))
		lpub.Send([]byte("t-yes"))
		got, err := sub.Recv(withTimeout(t, 50*time.Millisecond))
		return err == nil && string(got[0]) == "t-yes"
	})

	// libzmq client -> zloop server.
	pull := newSocket(t, r, Pull, k.serverOpts()...)
	zep, err := pull.Bind(bind)
	if err != nil {
		t.Fatal(err)
	}
	lpush := libzmqCurveClient(t, "PUSH", k, k.server.pub)
	lpush.Connect(zep)
	lpush.Send([]byte("from"), []byte("libzmq"))
	lpush.Send(big)
	expectMsg(t, pull, "from", "libzmq")
	expectMsg(t, pull, string(big))

	rep := newSocket(t, r, Rep, k.serverOpts()...)
	zep, err = rep.Bind(bind)
	if err != nil {
		t.Fatal(err)
	}
	lreq := libzmqCurveClient(t, "REQ", k, k.server.pub)
	lreq.Connect(zep)
	lreq.Send(big)
	expectMsg(t, rep, string(big))
	send(t, rep, "answer")
	if m, err := lreq.Recv(10 * time.Second); err != nil || string(m[0]) != "answer" {
		t.Fatalf("libzmq REQ got %q, %v", m, err)
	}

	router := newSocket(t, r, Router, k.serverOpts()...)
	zep, err = router.Bind(bind)
	if err != nil {
		t.Fatal(err)
	}
	ldealer := libzmqCurveClient(t, "DEALER", k, k.server.pub)
	ldealer.SetBytes("ROUTING_ID", []byte("lz"))
	ldealer.Connect(zep)
	ldealer.Send([]byte("a"), big)
	m := recvN(t, router, 3)
	if string(m[0]) != "lz" || string(m[1]) != "a" || !bytes.Equal(m[2], big) {
		t.Fatalf("zloop ROUTER got %q...", m[:2])
	}
	send(t, router, "lz", "reply")
	if m, err := ldealer.Recv(10 * time.Second); err != nil || string(m[0]) != "reply" {
		t.Fatalf("libzmq DEALER got %q, %v", m, err)
	}

	pub := newSocket(t, r, Pub, k.serverOpts()...)
	zep, err = pub.Bind(bind)
	if err != nil {
		t.Fatal(err)
	}
	lsub := libzmqCurveClient(t, "SUB", k, k.server.pub)
	lsub.SetBytes("SUBSCRIBE", []byte("t"))
	lsub.Connect(zep)
	waitFor(t, "zloop PUB to honour libzmq's boxed SUBSCRIBE", func() bool {
		send(t, pub, "x-skip")
		send(t, pub, "t-yes")
		got, err := lsub.Recv(50 * time.Millisecond)
		return err == nil && string(got[0]) == "t-yes"
	})
	_ = ctx
}

// The wrong server key, both ways against libzmq, with the monitor events compared: whichever
// side is the server reports HANDSHAKE_FAILED_PROTOCOL (ZMTP_CRYPTOGRAPHIC), the client
// HANDSHAKE_FAILED_NO_DETAIL; zloop gives the same events as libzmq in the mirrored role.
func TestInteropCurveWrongKey(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, bind := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/curve"} {
		t.Run(scheme(bind), func(t *testing.T) {
			r := newReactor(t)
			k := newCurveTestKeys(t)
			other := newCurveTestKeys(t)

			// zloop client with the wrong server key -> libzmq server.
			l := libzmqCurveServer(t, "PULL", k)
			l.Monitor()
			ep := l.Bind(bind)
			push := newSocket(t, r, Push, WithCurveServerKey(other.server.pub.String()), WithCurveSecretKey(k.client.sec.String()))
			zevents := push.Monitor(64)
			connect(t, push, ep)
			seen, ok := l.WaitEventNamed("HANDSHAKE_FAILED_PROTOCOL", 10*time.Second)
			if !ok {
				t.Fatalf("libzmq server saw %v", seen)
			}
			zclient := waitEvent(t, zevents, func(e reactor.Event) bool {
				return e.Type == reactor.EventHandshakeFailedNoDetail || e.Type == reactor.EventHandshakeFailedProtocol ||
					e.Type == reactor.EventHandshakeFailedAuth
			})

			// libzmq client with the wrong server key -> zloop server.
			pull := newSocket(t, r, Pull, k.serverOpts()...)
			sevents := pull.Monitor(64)
			zep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			lc := libzmqCurveClient(t, "PUSH", k, other.server.pub)
			lc.Monitor()
			lc.Connect(zep)
			zserver := waitEvent(t, sevents, func(e reactor.Event) bool {
				return e.Type == reactor.EventHandshakeFailedNoDetail || e.Type == reactor.EventHandshakeFailedProtocol ||
					e.Type == reactor.EventHandshakeFailedAuth
			})
			if zserver.Type != reactor.EventHandshakeFailedProtocol || !errors.Is(zserver.Err, zmtp.ErrCryptographic) {
				t.Fatalf("zloop server: %v %v, libzmq's server gave HANDSHAKE_FAILED_PROTOCOL", zserver.Type, zserver.Err)
			}
			seen, ok = lc.WaitEventNamed("HANDSHAKE_FAILED_NO_DETAIL", 10*time.Second)
			if !ok || slices.Contains(seen, "HANDSHAKE_FAILED_PROTOCOL") || slices.Contains(seen, "HANDSHAKE_FAILED_AUTH") {
				t.Fatalf("libzmq client saw %v", seen)
			}
			if zclient.Type != reactor.EventHandshakeFailedNoDetail {
				t.Fatalf("zloop client: %v (%v), libzmq's client gave HANDSHAKE_FAILED_NO_DETAIL", zclient.Type, zclient.Err)
			}
		})
	}
}

// The steady-state pooled path allocates nothing on CURVE either: every frame boxed into the batch
// and opened into the session's buffer, over tcp and ws, with no allocation in 100 messages of 1 KiB.
func TestCurveZeroAllocSteadyState(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	for _, bind := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/za"} {
		t.Run(scheme(bind), func(t *testing.T) {
			r := newReactor(t)
			k := newCurveTestKeys(t)
			pull := newSocket(t, r, Pull, k.serverOpts()...)
			ep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			push := newSocket(t, r, Push, k.clientOpts()...)
			connect(t, push, ep)
			const batch = 100
			roundTrip := pooledBatch(t, push, pull, 1024, batch)
			for i := 0; i < 100; i++ {
				roundTrip()
			}
			if allocs := testing.AllocsPerRun(200, roundTrip); allocs != 0 {
				t.Errorf("%.0f allocations per %d messages", allocs, batch)
			}
		})
	}
}

// Direct writes on CURVE: a sender on an idle connection seals and writes from its own goroutine
// under the write lock, while the loop seals its batches and both sides' PINGs and PONGs (every
// millisecond here): all of them take nonces from one counter, and the peer closes on any out of
// order. Many round trips and a stream, mixed with heartbeats, arrive whole, with direct writes
// counted and no connection dropped.
func TestCurveDirectWritesKeepNonceOrder(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	k := newCurveTestKeys(t)
	hb := WithHeartbeat(time.Millisecond, time.Second, time.Second)
	rep := newSocket(t, r, Rep, append(k.serverOpts(), hb)...)
	events := rep.Monitor(64)
	ep := bindTCP(t, rep)
	req := newSocket(t, r, Req, append(k.clientOpts(), hb)...)
	connect(t, req, ep)
	go func() {
		for {
			q, err := rep.Recv(ctx)
			if err != nil {
				return
			}
			if rep.Send(ctx, q...) != nil {
				return
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		body := []byte(strconv.Itoa(i))
		if err := req.Send(ctx, body); err != nil {
			t.Fatal(err)
		}
		m, err := req.Recv(withTimeout(t, 10*time.Second)) // a dropped connection fails here, not at the test's deadline
		if err != nil || !bytes.Equal(m[0], body) {
			t.Fatalf("round trip %d: %q, %v", i, m, err)
		}
		if i%100 == 0 {
			for len(events) > 0 {
				if e := <-events; e.Type == reactor.EventDisconnected {
					t.Fatalf("dropped: %v", e)
				}
			}
		}
	}
	if d := req.Stats().SenderWrites + rep.Stats().SenderWrites; d == 0 {
		t.Fatal("no direct writes: the test did not exercise them")
	} else {
		t.Logf("%d direct writes in 2000 round trips", d)
	}
}

// A client whose public key is not its secret key's (libzmq lets a client set both), so that its
// vouch does not open: libzmq's server is the reference, and zloop's server must report the same
// event for the same client. zloop's own options refuse such a pair (ErrInvalid), so only a
// libzmq client can send one.
func TestInteropCurveWrongClientKey(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, bind := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/curve"} {
		t.Run(scheme(bind), func(t *testing.T) {
			r := newReactor(t)
			k := newCurveTestKeys(t)
			mismatched := k
			mismatched.client.pub = newCurveTestKeys(t).client.pub

			// The reference: libzmq's server and such a client.
			ls := libzmqCurveServer(t, "PULL", k)
			ls.Monitor()
			lep := ls.Bind(bind)
			lc := libzmqCurveClient(t, "PUSH", mismatched, k.server.pub)
			lc.Connect(lep)
			seen, ok := ls.WaitEventNamed("HANDSHAKE_FAILED_PROTOCOL", 10*time.Second)
			if !ok {
				t.Fatalf("libzmq's server saw %v, not HANDSHAKE_FAILED_PROTOCOL", seen)
			}

			// zloop's server and the same client.
			pull := newSocket(t, r, Pull, k.serverOpts()...)
			events := pull.Monitor(64)
			zep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			lc2 := libzmqCurveClient(t, "PUSH", mismatched, k.server.pub)
			lc2.Connect(zep)
			e := waitEvent(t, events, func(e reactor.Event) bool {
				return e.Type == reactor.EventHandshakeFailedNoDetail || e.Type == reactor.EventHandshakeFailedProtocol ||
					e.Type == reactor.EventHandshakeFailedAuth || e.Type == reactor.EventHandshakeSucceeded
			})
			if e.Type != reactor.EventHandshakeFailedProtocol || !errors.Is(e.Err, zmtp.ErrCryptographic) {
				t.Fatalf("zloop's server: %v (%v); libzmq's gave HANDSHAKE_FAILED_PROTOCOL", e.Type, e.Err)
			}

			// And the server keeps serving a good client.
			good := libzmqCurveClient(t, "PUSH", k, k.server.pub)
			good.Connect(zep)
			good.Send([]byte("still serving"))
			ctx := testCtx(t)
			got, err := pull.Recv(ctx)
			if err != nil || string(got[0]) != "still serving" {
				t.Fatalf("after the refusal: %q, %v", got, err)
			}
		})
	}
}
