package sockets

import (
	"context"
	"errors"
	"testing"
)

// A ROUTER-DEALER broker under zmq_proxy_steerable's commands, with a capture socket.
func TestProxySteerable(t *testing.T) {
	r := newReactor(t)
	front := newSocket(t, r, Router)
	back := newSocket(t, r, Dealer)
	capture := newSocket(t, r, Push)
	captured := newSocket(t, r, Pull)
	control := newSocket(t, r, Rep)
	ctl := newSocket(t, r, Req)
	frontEP, backEP := bindTCP(t, front), bindTCP(t, back)
	connect(t, capture, bindTCP(t, captured))
	connect(t, ctl, bindTCP(t, control))
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- ProxySteerable(ctx, front, back, capture, control) }()

	worker := newSocket(t, r, Rep)
	connect(t, worker, backEP)
	client := newSocket(t, r, Req)
	connect(t, client, frontEP)
	serve := func() {
		t.Helper()
		q := mustRecv(t, worker)
		mustSend(t, worker, append([]byte("r"), q[0][1:]...))
	}
	command := func(cmd string) [][]byte {
		t.Helper()
		mustSend(t, ctl, []byte(cmd))
		return mustRecv(t, ctl)
	}

	mustSend(t, client, []byte("q1"))
	serve()
	expect(t, "client", 0, mustRecv(t, client), frames([]byte("r1")))
	for i, want := range []string{"q1", "r1"} {
		m := mustRecv(t, captured)
		if len(m) != 3 || len(m[1]) != 0 || string(m[2]) != want {
			t.Fatalf("capture %d: %s", i, short(m))
		}
	}

	expect(t, "PAUSE reply", 0, command("PAUSE"), frames(nil))
	mustSend(t, client, []byte("q2"))
	recvNone(t, worker, "worker while paused")
	expect(t, "RESUME reply", 0, command("RESUME"), frames(nil))
	serve()
	expect(t, "client", 1, mustRecv(t, client), frames([]byte("r2")))

	st, err := ParseProxyStats(command("STATISTICS"))
	if err != nil {
		t.Fatal(err)
	}
	// Each message is a 5-byte routing id, an empty delimiter and a 2-byte body.
	want := ProxyStats{Frontend: ProxySide{2, 14, 2, 14}, Backend: ProxySide{2, 14, 2, 14}}
	if st != want {
		t.Fatalf("statistics %+v, want %+v", st, want)
	}
	if got, _ := ParseProxyStats(want.AppendFrames(nil)); got != want {
		t.Fatalf("round trip %+v", got)
	}
	if _, err := ParseProxyStats(frames([]byte("short"))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad STATISTICS reply: %v", err)
	}

	expect(t, "TERMINATE reply", 0, command("TERMINATE"), frames(nil))
	if err := <-done; err != nil {
		t.Fatalf("ProxySteerable after TERMINATE: %v", err)
	}
}

func TestProxyErrors(t *testing.T) {
	r := newReactor(t)
	a, b := newSocket(t, r, Push), newSocket(t, r, Push)
	if err := Proxy(testCtx(t), a, b, nil); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("PUSH to PUSH: %v", err)
	}
	if err := Proxy(testCtx(t), nil, b, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil frontend: %v", err)
	}
	// A socket closed under a running proxy stops it with ErrClosed.
	pull, push := newSocket(t, r, Pull), newSocket(t, r, Push)
	done := make(chan error, 1)
	go func() { done <- Proxy(context.Background(), pull, push, nil) }()
	if err := pull.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("proxy over a closed socket: %v", err)
	}
}
