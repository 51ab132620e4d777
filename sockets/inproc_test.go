package sockets

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/zmtp"
)

// inproc:// in either order, with multipart messages and no loop in between.
func TestInproc(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	for _, bindFirst := range []bool{true, false} {
		name := fmt.Sprintf("inproc://test-%v", bindFirst)
		pull := newSocket(t, r, Pull)
		push := newSocket(t, r, Push)
		if bindFirst {
			if _, err := pull.Bind(name); err != nil {
				t.Fatal(err)
			}
		}
		if err := push.Connect(name); err != nil {
			t.Fatal(err)
		}
		// Queued before the bind when connecting first, as libzmq allows.
		for i := 0; i < 10; i++ {
			if err := push.Send(ctx, []byte{byte(i)}, []byte("tail")); err != nil {
				t.Fatal(err)
			}
		}
		if !bindFirst {
			if _, err := pull.Bind(name); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 10; i++ {
			m, err := pull.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != 2 || m[0][0] != byte(i) || string(m[1]) != "tail" {
				t.Fatalf("message %d: %q", i, m)
			}
		}
	}
}

func TestInprocReqRepAndHWM(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	rep := newSocket(t, r, Rep)
	if _, err := rep.Bind("inproc://rr"); err != nil {
		t.Fatal(err)
	}
	req := newSocket(t, r, Req)
	if err := req.Connect("inproc://rr"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			m, err := rep.Recv(ctx)
			if err != nil {
				return
			}
			if rep.Send(ctx, append([]byte("re:"), m[0]...)) != nil {
				return
			}
		}
	}()
	for i := 0; i < 100; i++ {
		if err := req.Send(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		m, err := req.Recv(ctx)
		if err != nil || string(m[0]) != "re:"+string([]byte{byte(i)}) {
			t.Fatalf("%q %v", m, err)
		}
	}

	// The queue between two inproc sockets holds SNDHWM + RCVHWM messages, then Send would block.
	pull := newSocket(t, r, Pull, WithRcvHWM(3))
	if _, err := pull.Bind("inproc://hwm"); err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, WithSndHWM(2), WithSndTimeout(0))
	if err := push.Connect("inproc://hwm"); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for ; sent < 100; sent++ {
		if err := push.Send(ctx, []byte("x")); err != nil {
			if !errors.Is(err, ErrWouldBlock) {
				t.Fatal(err)
			}
			break
		}
	}
	if sent != 5 {
		t.Fatalf("%d messages queued, want SNDHWM+RCVHWM = 5", sent)
	}
	if _, err := pull.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	if err := push.Send(ctx, []byte("y")); err != nil {
		t.Fatalf("send after the reader made room: %v", err)
	}

	// Incompatible types are refused; a name can be bound once.
	bad := newSocket(t, r, Push)
	events := bad.Monitor(4)
	if err := bad.Connect("inproc://rr"); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedProtocol })
	if !errors.Is(e.Err, zmtp.ErrIncompatible) {
		t.Fatal(e)
	}
	other := newSocket(t, r, Rep)
	if _, err := other.Bind("inproc://rr"); err == nil {
		t.Fatal("bound an inproc name twice")
	}
}

// A second PAIR connecting over inproc is refused (the pair is closed while the socket holds its
// lock), and the first keeps working.
func TestInprocPairRefusesSecond(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	a := newSocket(t, r, Pair)
	if _, err := a.Bind("inproc://pair"); err != nil {
		t.Fatal(err)
	}
	b := newSocket(t, r, Pair)
	if err := b.Connect("inproc://pair"); err != nil {
		t.Fatal(err)
	}
	c := newSocket(t, r, Pair)
	if err := c.Connect("inproc://pair"); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, []byte("from b")); err != nil {
		t.Fatal(err)
	}
	m, err := a.Recv(ctx)
	if err != nil || string(m[0]) != "from b" {
		t.Fatalf("%q %v", m, err)
	}
	if err := a.Send(ctx, []byte("to b")); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || string(m[0]) != "to b" {
		t.Fatalf("%q %v", m, err)
	}
}

// PUB/SUB and XPUB/XSUB over inproc: a SUB's SUBSCRIBE and CANCEL travel as command messages, not
// parsed by any session, and the publisher must apply them as it does those from tcp peers.
func TestInprocPubSub(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	xpub := newSocket(t, r, XPub)
	if _, err := xpub.Bind("inproc://pubsub"); err != nil {
		t.Fatal(err)
	}
	sub := newSocket(t, r, Sub)
	if err := sub.Subscribe([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := sub.Connect("inproc://pubsub"); err != nil {
		t.Fatal(err)
	}
	if m, err := xpub.Recv(ctx); err != nil || string(m[0]) != "\x01a" {
		t.Fatalf("XPUB got %q, %v; want the subscription as 0x01+topic", m, err)
	}
	for _, topic := range []string{"b-dropped", "a-kept"} {
		if err := xpub.Send(ctx, []byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := sub.Recv(ctx); err != nil || string(m[0]) != "a-kept" {
		t.Fatalf("SUB got %q, %v", m, err)
	}
	if err := sub.Unsubscribe([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if m, err := xpub.Recv(ctx); err != nil || string(m[0]) != "\x00a" {
		t.Fatalf("XPUB got %q, %v; want the cancellation as 0x00+topic", m, err)
	}
}
