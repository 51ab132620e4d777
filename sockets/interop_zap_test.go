package sockets

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
)

// ZAP against libzmq 4.3 (pyzmq), both directions, over tcp and ws. Each mechanism is one row of
// zapMechanisms: how a server and a client of it are set up on either side, so that "admitted" and
// "refused" mean the same thing to libzmq's handler (a REP at inproc://zeromq.zap.01 in the peer's
// process, as zmq.auth binds it) and to zloop's (a Go function, or a handler socket). CURVE joins
// the table with its keys: the client's public key is its one credential.

// zapMechanism is one security mechanism as the ZAP interop tests drive it.
type zapMechanism struct {
	name  string
	rules []testpeer.ZAPRule // the policy, for both handlers: what is not admitted gets 400
	// zloop's server and client sockets, for a client that is to be admitted or refused.
	server func(admit bool) []Option
	client func(admit bool) []Option
	// libzmq's.
	libServer func(p *testpeer.Peer, admit bool)
	libClient func(p *testpeer.Peer, admit bool)
	userID    string // the User-Id an admitted client's messages carry
}

func strPtr(s string) *string { return &s }

var zapMechanisms = []zapMechanism{
	{
		name: "PLAIN",
		rules: []testpeer.ZAPRule{{Mechanism: "PLAIN", Credentials: [][]byte{[]byte("alice"), []byte("secret")},
			Status: "200", UserID: "alice@zap", Metadata: map[string]string{"X-Tier": "gold"}}},
		server: func(bool) []Option { return []Option{WithPlainServer(true, nil)} },
		client: func(admit bool) []Option { return []Option{WithPlainClient("alice", pick(admit, "secret", "guess"))} },
		libServer: func(p *testpeer.Peer, _ bool) {
			p.SetInt("PLAIN_SERVER", 1)
		},
		libClient: func(p *testpeer.Peer, admit bool) {
			p.SetBytes("PLAIN_USERNAME", []byte("alice"))
			p.SetBytes("PLAIN_PASSWORD", []byte(pick(admit, "secret", "guess")))
		},
		userID: "alice@zap",
	},
	{
		// NULL asks ZAP only with a ZAP_DOMAIN, so the server's domain decides.
		name:      "NULL",
		rules:     []testpeer.ZAPRule{{Mechanism: "NULL", Domain: strPtr("allow"), Status: "200", UserID: "anonymous"}},
		server:    func(admit bool) []Option { return []Option{WithZAPDomain(pick(admit, "allow", "deny"))} },
		client:    func(bool) []Option { return nil },
		libServer: func(p *testpeer.Peer, admit bool) { p.SetBytes("ZAP_DOMAIN", []byte(pick(admit, "allow", "deny"))) },
		libClient: func(*testpeer.Peer, bool) {},
		userID:    "anonymous",
	},
	{
		// CURVE: the client's long-term public key is its one credential; the refused client
		// completes the handshake with a key of its own that no rule names.
		name: "CURVE",
		rules: []testpeer.ZAPRule{{Mechanism: "CURVE", Credentials: [][]byte{zapCurveClient.pub[:]},
			Status: "200", UserID: "curve-client", Metadata: map[string]string{"X-Tier": "silver"}}},
		server: func(bool) []Option {
			return []Option{WithCurveServer(true), WithCurveSecretKey(zapCurveServer.sec.String())}
		},
		client: func(admit bool) []Option {
			k := zapCurveStranger
			if admit {
				k = zapCurveClient
			}
			return []Option{WithCurveServerKey(zapCurveServer.pub.String()), WithCurveSecretKey(string(k.sec[:]))}
		},
		libServer: func(p *testpeer.Peer, _ bool) {
			p.SetInt("CURVE_SERVER", 1)
			p.SetBytes("CURVE_SECRETKEY", zapCurveServer.sec[:])
		},
		libClient: func(p *testpeer.Peer, admit bool) {
			k := zapCurveStranger
			if admit {
				k = zapCurveClient
			}
			p.SetBytes("CURVE_SERVERKEY", zapCurveServer.pub[:])
			p.SetBytes("CURVE_PUBLICKEY", k.pub[:])
			p.SetBytes("CURVE_SECRETKEY", k.sec[:])
		},
		userID: "curve-client",
	},
}

// Fixed CURVE key pairs for the ZAP table: a secret key is any 32 bytes.
var zapCurveServer, zapCurveClient, zapCurveStranger = fixedCurvePair(1), fixedCurvePair(2), fixedCurvePair(3)

type curvePair struct{ pub, sec CurveKey }

func fixedCurvePair(seed byte) curvePair {
	var sec CurveKey
	for i := range sec {
		sec[i] = seed*31 + byte(i)
	}
	return curvePair{pub: CurvePublic(sec), sec: sec}
}

func pick(admit bool, yes, no string) string {
	if admit {
		return yes
	}
	return no
}

// zapPolicy is rules as zloop's ZAP handler, so that both handlers decide alike.
func zapPolicy(rules []testpeer.ZAPRule, refusal int) ZAPHandler {
	return func(req ZAPRequest) ZAPReply {
		for _, r := range rules {
			if r.Mechanism != req.Mechanism || (r.Domain != nil && *r.Domain != req.Domain) {
				continue
			}
			if r.Credentials != nil && (len(r.Credentials) != len(req.Credentials) ||
				!equalFrames(r.Credentials, req.Credentials)) {
				continue
			}
			code := 200
			if r.Status != "200" {
				code = int(r.Status[0]-'0') * 100
			}
			return ZAPReply{StatusCode: code, UserID: r.UserID, Metadata: r.Metadata}
		}
		return ZAPReply{StatusCode: refusal, StatusText: "no rule"}
	}
}

func equalFrames(a, b [][]byte) bool {
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// authEvent is a refusal as a monitor reports it.
type authEvent struct {
	Type  EventType
	Value int
}

const zapWait = 10 * time.Second

// zloopAuthEvent waits for the first handshake failure on a zloop monitor.
func zloopAuthEvent(t *testing.T, events <-chan reactor.Event) authEvent {
	t.Helper()
	e := waitEvent(t, events, func(e reactor.Event) bool {
		return e.Type == EventHandshakeFailedAuth || e.Type == EventHandshakeFailedProtocol || e.Type == EventHandshakeFailedNoDetail
	})
	return authEvent{e.Type, e.Value}
}

// libAuthEvent waits for the first handshake failure on a libzmq monitor.
func libAuthEvent(t *testing.T, p *testpeer.Peer) authEvent {
	t.Helper()
	e, err := p.WaitEvent(int(EventHandshakeFailedAuth|EventHandshakeFailedProtocol|EventHandshakeFailedNoDetail), zapWait)
	if err != nil {
		t.Fatalf("libzmq's monitor: %v", err)
	}
	if EventType(e.Event) != EventHandshakeFailedAuth {
		e.Value = 0 // libzmq's errno; zloop has none to give
	}
	return authEvent{EventType(e.Event), e.Value}
}

func TestInteropZAP(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, m := range zapMechanisms {
		for _, bind := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/zap"} {
			for _, refusal := range []int{400, 300, 500} {
				name := m.name + "/" + bind[:strings.Index(bind, ":")] + "/" + strconv.Itoa(refusal)
				t.Run(name, func(t *testing.T) { testInteropZAP(t, m, bind, refusal) })
			}
		}
	}
}

// testInteropZAP: libzmq's handler judges zloop clients (libzmq server), then zloop's handler,
// in both forms, judges libzmq clients (zloop server); what is not admitted gets refusal. The
// refusals must give the same monitor events on the mirrored sides: zloop's server as libzmq's
// (HANDSHAKE_FAILED_AUTH with the status), zloop's client as libzmq's (the same, or for a 300,
// which sends nothing and holds the connection until HANDSHAKE_IVL, what an EOF gives).
func testInteropZAP(t *testing.T, m zapMechanism, bind string, refusal int) {
	ctx := testCtx(t)
	r := newReactor(t)

	// libzmq server, libzmq's ZAP handler, zloop clients.
	var libServerEv, zloopClientEv authEvent
	for _, admit := range []bool{true, false} {
		lib := testpeer.Start(t, "PULL")
		lib.ServeZAP(strconv.Itoa(refusal), m.rules...)
		lib.Monitor()
		lib.SetInt("HANDSHAKE_IVL", 500) // a 300 keeps the connection until then
		m.libServer(lib, admit)
		ep := lib.Bind(bind)
		// libzmq's ws engine keeps a connection its ZAP handler answered 300 open past
		// HANDSHAKE_IVL: the client's own handshake timer ends it, as a libzmq client's would.
		push := newSocket(t, r, Push, append(m.client(admit), WithHandshakeIvl(500*time.Millisecond))...)
		events := push.Monitor(64)
		connect(t, push, ep)
		if admit {
			if err := push.Send(ctx, []byte("to libzmq")); err != nil {
				t.Fatal(err)
			}
			got, err := lib.RecvMeta(zapWait, "User-Id")
			if err != nil {
				t.Fatalf("libzmq did not admit zloop's client: %v", err)
			}
			if u := got.Props["User-Id"]; u == nil || *u != m.userID || string(got.Frames[0]) != "to libzmq" {
				t.Fatalf("libzmq got %q with User-Id %v, want %q", got.Frames, u, m.userID)
			}
			seen := lib.ZAPSeen()
			if len(seen) == 0 || string(seen[0][5]) != m.name || string(seen[0][3]) != "127.0.0.1" {
				t.Fatalf("libzmq's handler saw %q", seen)
			}
			continue
		}
		zloopClientEv = zloopAuthEvent(t, events)
		libServerEv = libAuthEvent(t, lib)
	}
	if libServerEv != (authEvent{EventHandshakeFailedAuth, refusal}) {
		t.Fatalf("refused by libzmq: libzmq's server reports %v, want HANDSHAKE_FAILED_AUTH %d", libServerEv, refusal)
	}
	t.Logf("refused by libzmq with %d: libzmq's server %v, zloop's client %v", refusal, libServerEv, zloopClientEv)

	// zloop server, zloop's ZAP handler in both forms, libzmq clients.
	for _, form := range []string{"func", "socket"} {
		r := newReactor(t)
		if form == "func" {
			if err := SetZAPHandler(r, zapPolicy(m.rules, refusal)); err != nil {
				t.Fatal(err)
			}
		} else {
			h := newSocket(t, r, Rep)
			if _, err := h.Bind(ZAPEndpoint); err != nil {
				t.Fatal(err)
			}
			serveZAP(t, h, zapPolicy(m.rules, refusal))
		}
		var zloopServerEv, libClientEv authEvent
		for _, admit := range []bool{true, false} {
			pull := newSocket(t, r, Pull, append(m.server(admit), WithHandshakeIvl(500*time.Millisecond))...)
			events := pull.Monitor(64)
			ep, err := pull.Bind(bind)
			if err != nil {
				t.Fatal(err)
			}
			lib := testpeer.Start(t, "PUSH")
			lib.Monitor()
			m.libClient(lib, admit)
			lib.Connect(ep)
			if admit {
				lib.Send([]byte("from libzmq"))
				got, err := pull.RecvMsg(ctx)
				if err != nil {
					t.Fatal(err)
				}
				u, ok := got.Gets("User-Id")
				if !ok || u != m.userID || string(got.Frame(0)) != "from libzmq" {
					t.Fatalf("%s: zloop got %q with User-Id %q, want %q", form, got.Frame(0), u, m.userID)
				}
				if a, _ := got.Gets("Peer-Address"); a != "127.0.0.1" {
					t.Fatalf("%s: Peer-Address %q", form, a)
				}
				got.Release()
				continue
			}
			zloopServerEv = zloopAuthEvent(t, events)
			libClientEv = libAuthEvent(t, lib)
		}
		t.Logf("%s: refused by zloop with %d: zloop's server %v, libzmq's client %v", form, refusal, zloopServerEv, libClientEv)
		if zloopServerEv != libServerEv || libClientEv != zloopClientEv {
			t.Fatalf("%s: refused by zloop: zloop's server reports %v, libzmq's client %v; libzmq's server reported %v, zloop's client %v",
				form, zloopServerEv, libClientEv, libServerEv, zloopClientEv)
		}
	}
}
