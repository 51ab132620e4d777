package reactor

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

func zmtpProp(name, value string) codec.Property {
	return codec.Property{Name: name, Value: []byte(value)}
}

// testAuth is an Authorizer that keeps its calls for the test to answer, from the test's
// goroutine: never on the loop.
type testAuth struct {
	mu    sync.Mutex
	calls []*ZAPCall
}

func (a *testAuth) Authorize(z *ZAPCall) {
	a.mu.Lock()
	a.calls = append(a.calls, z)
	a.mu.Unlock()
}

func (a *testAuth) wait(t *testing.T, n int) *ZAPCall {
	t.Helper()
	var z *ZAPCall
	waitFor(t, "a ZAP call", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.calls) >= n {
			z = a.calls[n-1]
			return true
		}
		return false
	})
	return z
}

// The ZAP step through the reactor, over tcp, ipc and ws: the call carries the request with the
// peer's address, nothing happens until the answer, which comes from another goroutine and
// resumes the handshake on the loop; the connection's metadata reaches every received message;
// a refusal reports HANDSHAKE_FAILED_AUTH with the status code on both sides; an answer for a
// connection that is gone is dropped.
func TestZAPCall(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			auth := &testAuth{}
			server := testOptions("PULL")
			server.Session.Plain, server.Session.PlainServer = true, true
			server.Authorizer = auth
			server.Session.HandshakeTimeout = 300 * time.Millisecond
			client := func(user string) *Options {
				o := testOptions("PUSH")
				o.Session.Plain = true
				o.Session.PlainUsername, o.Session.PlainPassword = []byte(user), []byte("pw")
				o.Session.Identity = []byte("client-id")
				o.Session.Properties = append(o.Session.Properties, zmtpProp("X-App", "demo"))
				return o
			}
			bo := newOwner(t, "server")
			l := listen(t, r, bindAddr(tr), server, bo)

			good := newOwner(t, "good")
			connect(t, r, l.Endpoint(), client("alice"), good)
			z := auth.wait(t, 1)
			q := z.Request
			if q.Mechanism != "PLAIN" || string(q.Credentials[0]) != "alice" || q.Version != "1.0" {
				t.Fatalf("request %+v", q)
			}
			wantAddr := map[string]string{"tcp": "127.0.0.1", "ws": "127.0.0.1"}[tr]
			if tr == "ipc" {
				if len(q.Address) < len("localhost:") || q.Address[:10] != "localhost:" {
					t.Fatalf("ipc address %q", q.Address)
				}
				wantAddr = q.Address
			} else if q.Address != wantAddr {
				t.Fatalf("address %q, want %q", q.Address, wantAddr)
			}
			z.Reply(&zmtp.ZAPReply{StatusCode: 200, UserID: "alice@zap", Metadata: map[string]string{"X-Role": "ops"}})
			gp := good.waitAttached(t)
			bp := bo.waitAttached(t)
			if !z.Done() {
				t.Error("an applied call is not done")
			}
			send(t, good, gp, []byte("hi"))
			m, err := recvWait(bo, bp)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{"User-Id": "alice@zap", "Peer-Address": wantAddr, "Socket-Type": "PUSH",
				"Routing-Id": "client-id", "Identity": "client-id", "X-App": "demo", "X-Role": "ops"} {
				if v, ok := m.Gets(name); !ok || v != want {
					t.Errorf("%s = %q, %v; want %q", name, v, ok, want)
				}
			}
			m.Release()

			bad := newOwner(t, "bad")
			connect(t, r, l.Endpoint(), client("mallory"), bad)
			auth.wait(t, 2).Reply(&zmtp.ZAPReply{StatusCode: 400})
			if e := bad.waitEvent(t, EventHandshakeFailedAuth); e.Value != 400 || !errors.Is(e.Err, zmtp.ErrAuthentication) {
				t.Fatalf("client side: %v", e)
			}
			if e := bo.waitEvent(t, EventHandshakeFailedAuth); e.Value != 400 {
				t.Fatalf("server side: %v", e)
			}

			// 300: reported at once, no ERROR, the connection kept until HANDSHAKE_IVL, as libzmq.
			temp := newOwner(t, "temp")
			connect(t, r, l.Endpoint(), client("carol"), temp)
			auth.wait(t, 3).Reply(&zmtp.ZAPReply{StatusCode: 300})
			if e := bo.waitEvent(t, EventHandshakeFailedAuth); e.Value != 300 {
				t.Fatalf("300, server side: %v", e)
			}
			if e := bo.waitEvent(t, EventDisconnected); !errors.Is(e.Err, zmtp.ErrHandshakeTimeout) {
				t.Fatalf("300, the server's end of it: %v", e)
			}
			if e := temp.waitEvent(t, EventHandshakeFailedNoDetail); zmtp.AuthStatus(e.Err) != 0 {
				t.Fatalf("300, client side: %v", e)
			}

			// A call whose connection is gone: its answer is dropped, the server stays well.
			gone := newOwner(t, "gone")
			d := connect(t, r, l.Endpoint(), client("bob"), gone)
			z3 := auth.wait(t, 4)
			d.Close(0)
			waitFor(t, "the call is done", z3.Done)
			z3.Reply(&zmtp.ZAPReply{StatusCode: 200})
			send(t, good, gp, []byte("still"))
			if m, err := recvWait(bo, bp); err != nil || string(m.Frame(0)) != "still" {
				t.Fatalf("after a stale answer: %v", err)
			} else {
				m.Release()
			}
		})
	}
}

// Without any ZAP handler, NULL with a domain admits (unless the domain is enforced) and PLAIN
// refuses with HANDSHAKE_FAILED_NO_DETAIL, as libzmq does; the reactor-wide authorizer serves
// sockets that have none.
func TestZAPNoHandler(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	null := testOptions("PULL")
	null.Session.ZAPDomain = "d"
	bo := newOwner(t, "null")
	l := listen(t, r, bindAddr("tcp"), null, bo)
	co := newOwner(t, "c")
	connect(t, r, l.Endpoint(), testOptions("PUSH"), co)
	bp := bo.waitAttached(t)
	co.waitAttached(t)
	if bp.Peer().Authorized {
		t.Fatal("authorized without a handler")
	}

	enforced := testOptions("PULL")
	enforced.Session.ZAPDomain, enforced.Session.ZAPEnforceDomain = "d", true
	eo := newOwner(t, "enforced")
	l = listen(t, r, bindAddr("tcp"), enforced, eo)
	connect(t, r, l.Endpoint(), testOptions("PUSH"), newOwner(t, "c2"))
	if e := eo.waitEvent(t, EventHandshakeFailedNoDetail); !errors.Is(e.Err, zmtp.ErrNoZAPHandler) {
		t.Fatalf("enforced: %v", e)
	}

	plain := testOptions("PULL")
	plain.Session.Plain, plain.Session.PlainServer = true, true
	po := newOwner(t, "plain")
	l = listen(t, r, bindAddr("tcp"), plain, po)
	pc := testOptions("PUSH")
	pc.Session.Plain, pc.Session.PlainUsername = true, []byte("u")
	connect(t, r, l.Endpoint(), pc, newOwner(t, "c3"))
	if e := po.waitEvent(t, EventHandshakeFailedNoDetail); !errors.Is(e.Err, zmtp.ErrNoZAPHandler) {
		t.Fatalf("PLAIN: %v", e)
	}

	// NULL is symmetric: a ws client with an enforced domain asks as it starts, and without a
	// handler is refused before anything crosses.
	wsServer := newOwner(t, "ws server")
	wl := listen(t, r, bindAddr("ws"), testOptions("PULL"), wsServer)
	strict := testOptions("PUSH")
	strict.Session.ZAPDomain, strict.Session.ZAPEnforceDomain = "d", true
	so := newOwner(t, "strict ws client")
	connect(t, r, wl.Endpoint(), strict, so)
	if e := so.waitEvent(t, EventHandshakeFailedNoDetail); !errors.Is(e.Err, zmtp.ErrNoZAPHandler) {
		t.Fatalf("ws client, enforced: %v", e)
	}

	auth := &testAuth{}
	r.SetAuthorizer(auth)
	defer r.SetAuthorizer(nil)
	c4 := newOwner(t, "c4")
	connect(t, r, l.Endpoint(), pc, c4)
	auth.wait(t, 1).Reply(&zmtp.ZAPReply{StatusCode: 200})
	c4.waitAttached(t)
}

// A malformed answer from the handler's side fails the handshake as a protocol error; a client
// that keeps sending while ZAP decides is cut off, and its bytes do not pile up.
func TestZAPFailAndFlood(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	auth := &testAuth{}
	server := testOptions("PULL")
	server.Session.ZAPDomain = "d"
	server.Authorizer = auth
	bo := newOwner(t, "server")
	l := listen(t, r, bindAddr("tcp"), server, bo)
	connect(t, r, l.Endpoint(), testOptions("PUSH"), newOwner(t, "c"))
	auth.wait(t, 1).Fail(&zmtp.ZAPError{Detail: "version \"2.0\""})
	if e := bo.waitEvent(t, EventHandshakeFailedProtocol); !errors.Is(e.Err, zmtp.ErrZAPReply) {
		t.Fatalf("malformed: %v", e)
	}

	network, addr := netAddr(t, l.Endpoint())
	nc, err := net.DialTimeout(network, addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	greeting := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	if _, err := nc.Write(greeting); err != nil {
		t.Fatal(err)
	}
	z := auth.wait(t, 2)
	// A READY and a 70 KiB message the server must not take before it answers.
	flood := codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PUSH")})
	flood = codec.AppendFrame(flood, 0, make([]byte, 70<<10))
	_ = nc.SetWriteDeadline(time.Now().Add(waitLimit))
	_, _ = nc.Write(flood)
	if e := bo.waitEvent(t, EventHandshakeFailedProtocol); !errors.Is(e.Err, zmtp.ErrUnexpectedCommand) {
		t.Fatalf("flood: %v", e)
	}
	waitFor(t, "the flooder's call is done", z.Done)
}
