package sockets

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/zmtp"
)

func checkAlice(user, pass string) bool { return user == "alice" && pass == "secret" }

// PLAIN between zloop sockets: the right credentials pass, wrong ones are refused with
// HANDSHAKE_FAILED_AUTH, and a NULL peer fails on the mechanism.
func TestPlain(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithPlainServer(true, checkAlice))
	events := pull.Monitor(32)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	bad := newSocket(t, r, Push, WithPlainClient("alice", "guess"))
	if err := bad.Connect(ep); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedAuth })
	if !errors.Is(e.Err, zmtp.ErrAuthentication) {
		t.Fatalf("refusal: %v", e.Err)
	}
	null := newSocket(t, r, Push)
	if err := null.Connect(ep); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedProtocol })
	if !errors.Is(e.Err, zmtp.ErrMechanismMismatch) {
		t.Fatalf("NULL peer: %v", e.Err)
	}
	good := newSocket(t, r, Push, WithPlainClient("alice", "secret"))
	if err := good.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := good.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := pull.Recv(ctx); err != nil || string(m[0]) != "hello" {
		t.Fatalf("got %q, %v", m, err)
	}
	// Over ws:// the subprotocol (ZWS2.0/PLAIN) stands for the greeting.
	wsPull := newSocket(t, r, Pull, WithPlainServer(true, checkAlice))
	wsEvents := wsPull.Monitor(32)
	wep, err := wsPull.Bind("ws://127.0.0.1:*/plain")
	if err != nil {
		t.Fatal(err)
	}
	if err := newSocket(t, r, Push, WithPlainClient("alice", "guess")).Connect(wep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, wsEvents, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedAuth })
	wsPush := newSocket(t, r, Push, WithPlainClient("alice", "secret"))
	if err := wsPush.Connect(wep); err != nil {
		t.Fatal(err)
	}
	if err := wsPush.Send(ctx, []byte("over ws")); err != nil {
		t.Fatal(err)
	}
	if m, err := wsPull.Recv(ctx); err != nil || string(m[0]) != "over ws" {
		t.Fatalf("got %q, %v", m, err)
	}
	if err := newSocket(t, r, Push).SetOptions(WithPlainClient(string(make([]byte, 256)), "")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a 256-byte username: %v", err)
	}
}

// PLAIN against libzmq 4.3 both ways, over tcp and ws: libzmq's server, with a ZAP handler, takes zloop's client and
// refuses it with a wrong password; zloop's server takes libzmq's client with the right password
// and refuses it with a wrong one.
func TestInteropPlain(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, bind := range []string{"tcp://127.0.0.1:*", "ws://127.0.0.1:*/plain"} {
		t.Run(bind[:strings.Index(bind, ":")], func(t *testing.T) { testInteropPlain(t, bind) })
	}
}

func testInteropPlain(t *testing.T, bind string) {
	r := newReactor(t)
	ctx := testCtx(t)

	l := testpeer.Start(t, "PULL")
	l.ZAP([]byte("alice"), []byte("secret"))
	l.SetInt("PLAIN_SERVER", 1)
	ep := l.Bind(bind)
	refused := newSocket(t, r, Push, WithPlainClient("alice", "guess"))
	revents := refused.Monitor(32)
	if err := refused.Connect(ep); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, revents, func(e reactor.Event) bool { return e.Err != nil })
	var pe *zmtp.PeerError
	if e.Type != reactor.EventHandshakeFailedAuth || !errors.As(e.Err, &pe) || pe.Reason != "400" {
		t.Fatalf("refused by libzmq: %v (%v), want HANDSHAKE_FAILED_AUTH with ZAP status 400", e.Err, e.Type)
	}
	push := newSocket(t, r, Push, WithPlainClient("alice", "secret"))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := push.Send(ctx, []byte("to libzmq")); err != nil {
		t.Fatal(err)
	}
	if m, err := l.Recv(10 * time.Second); err != nil || string(m[0]) != "to libzmq" {
		t.Fatalf("libzmq got %q, %v", m, err)
	}

	pull := newSocket(t, r, Pull, WithPlainServer(true, checkAlice))
	events := pull.Monitor(32)
	zep, err := pull.Bind(bind)
	if err != nil {
		t.Fatal(err)
	}
	wrong := testpeer.Start(t, "PUSH")
	wrong.SetBytes("PLAIN_USERNAME", []byte("alice"))
	wrong.SetBytes("PLAIN_PASSWORD", []byte("guess"))
	wrong.Connect(zep)
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedAuth })
	wrong.Close()

	right := testpeer.Start(t, "PUSH")
	right.SetBytes("PLAIN_USERNAME", []byte("alice"))
	right.SetBytes("PLAIN_PASSWORD", []byte("secret"))
	right.Connect(zep)
	right.Send([]byte("from libzmq"))
	if m, err := pull.Recv(ctx); err != nil || string(m[0]) != "from libzmq" {
		t.Fatalf("zloop got %q, %v", m, err)
	}
}
