package sockets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
)

// XPUB_NODROP: once a subscriber's queues are full, Send blocks instead of dropping; everything sent
// arrives, in order, and Send works again when the subscriber has read. Without it, Send never
// blocks and the subscriber misses messages.
func TestXPubNoDrop(t *testing.T) {
	for _, nodrop := range []bool{true, false} {
		t.Run(fmt.Sprintf("nodrop=%v", nodrop), func(t *testing.T) {
			r := newReactor(t)
			ctx := testCtx(t)
			pub := newSocket(t, r, XPub, WithSndHWM(5), WithXPubNoDrop(nodrop))
			if _, err := pub.Bind("inproc://nodrop"); err != nil {
				t.Fatal(err)
			}
			sub := newSocket(t, r, Sub, WithRcvHWM(5))
			if err := sub.Subscribe(nil); err != nil {
				t.Fatal(err)
			}
			if err := sub.Connect("inproc://nodrop"); err != nil {
				t.Fatal(err)
			}
			if _, err := pub.Recv(ctx); err != nil { // the subscription
				t.Fatal(err)
			}
			done, stop := context.WithCancel(ctx)
			stop()
			sent := 0
			for ; sent < 1000; sent++ {
				if err := pub.Send(done, seqMsg(uint64(sent), 16)); err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Fatal(err)
					}
					break
				}
			}
			if nodrop != (sent < 1000) {
				t.Fatalf("%d sends went through before one blocked", sent)
			}
			got := 0
			for ; ; got++ {
				m, err := sub.Recv(withTimeout(t, 50*time.Millisecond))
				if err != nil {
					break
				}
				if nodrop {
					if err := checkSeq(m[0], uint64(got), 16); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got == 0 || nodrop && got != sent || !nodrop && got >= sent {
				t.Fatalf("sent %d, received %d", sent, got)
			}
			if err := pub.Send(ctx, seqMsg(uint64(sent), 16)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// PROBE_ROUTER: a connecting DEALER's first message is the empty probe, ahead of what was sent
// before the connection; an accepting ROUTER probes each peer that connects.
func TestProbeRouter(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	router := newSocket(t, r, Router)
	ep, err := router.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	dealer := newSocket(t, r, Dealer, WithProbeRouter(true))
	if err := dealer.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := dealer.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"", "hello"} {
		m, err := router.Recv(ctx)
		if err != nil || len(m) != 2 || string(m[1]) != want {
			t.Fatalf("ROUTER got %q, %v; want [id %q]", m, err, want)
		}
	}

	prober := newSocket(t, r, Router, WithProbeRouter(true))
	pep, err := prober.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	peer := newSocket(t, r, Dealer)
	if err := peer.Connect(pep); err != nil {
		t.Fatal(err)
	}
	if m, err := peer.Recv(ctx); err != nil || len(m) != 1 || len(m[0]) != 0 {
		t.Fatalf("DEALER got %q, %v; want the empty probe", m, err)
	}
}

// CONNECT_ROUTING_ID names the peer of the next Connect, whatever it announces, and only that one.
func TestConnectRoutingID(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	var eps []string
	for _, name := range []string{"first", "second"} {
		s := newSocket(t, r, Router, WithRoutingID([]byte(name)))
		ep, err := s.Bind("tcp://127.0.0.1:*")
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
		t.Cleanup(func() {
			if m, err := s.Recv(ctx); err != nil || string(m[1]) != "to "+name {
				t.Errorf("%s got %q, %v", name, m, err)
			}
		})
	}
	c := newSocket(t, r, Router, WithRouterMandatory(true), WithConnectRoutingID([]byte("alias")))
	if err := c.Connect(eps[0]); err != nil {
		t.Fatal(err)
	}
	if id := c.Options().ConnectRoutingID; id != nil {
		t.Fatalf("Connect left the option set: %q", id)
	}
	if err := c.Connect(eps[1]); err != nil {
		t.Fatal(err)
	}
	send := func(id, body string) {
		waitFor(t, "a route to "+id, func() bool {
			err := c.Send(ctx, []byte(id), []byte(body))
			if err != nil && !errors.Is(err, ErrHostUnreachable) {
				t.Fatal(err)
			}
			return err == nil
		})
	}
	send("alias", "to first")
	send("second", "to second")
	if err := c.Send(ctx, []byte("first"), []byte("x")); !errors.Is(err, ErrHostUnreachable) {
		t.Fatalf("the aliased peer is reachable by its own id too: %v", err)
	}
	if err := c.SetOptions(WithConnectRoutingID([]byte{0, 1})); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an id starting with 0: %v", err)
	}
}

// Over inproc to a bound peer the pipe attaches inside Connect, before Connect has it: the alias
// must already be known then. Disconnect forgets it, also for an IMMEDIATE pipe never connected.
func TestConnectRoutingIDInproc(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	s := newSocket(t, r, Router, WithRoutingID([]byte("bound")))
	if _, err := s.Bind("inproc://connect-routing-id"); err != nil {
		t.Fatal(err)
	}
	c := newSocket(t, r, Router, WithRouterMandatory(true), WithConnectRoutingID([]byte("alias")))
	if err := c.Connect("inproc://connect-routing-id"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a route to the alias", func() bool {
		err := c.Send(ctx, []byte("alias"), []byte("hi"))
		if err != nil && !errors.Is(err, ErrHostUnreachable) {
			t.Fatal(err)
		}
		return err == nil
	})
	if m, err := s.Recv(ctx); err != nil || len(m) != 2 || string(m[1]) != "hi" {
		t.Fatalf("bound got %q, %v", m, err)
	}
	if err := c.SetOptions(WithImmediate(true), WithConnectRoutingID([]byte("never"))); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect("tcp://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []string{"inproc://connect-routing-id", "tcp://127.0.0.1:1"} {
		if err := c.Disconnect(ep); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	n := len(c.pat.(*router).connectIDs)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d connect routing ids kept after Disconnect", n)
	}
}

// libzmq takes both: a libzmq ROUTER gets zloop's probe, and a libzmq ROUTER bound under an id is
// reached through the alias a zloop ROUTER gave it.
func TestInteropProbeAndConnectRoutingID(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	ctx := testCtx(t)
	l := testpeer.Start(t, "ROUTER")
	l.SetBytes("ROUTING_ID", []byte("libzmq"))
	ep := l.Bind("tcp://127.0.0.1:*")
	c := newSocket(t, r, Router, WithRoutingID([]byte("zloop")), WithProbeRouter(true),
		WithRouterMandatory(true), WithConnectRoutingID([]byte("alias")))
	if err := c.Connect(ep); err != nil {
		t.Fatal(err)
	}
	m, err := l.Recv(10 * time.Second)
	if err != nil || len(m) != 2 || string(m[0]) != "zloop" || len(m[1]) != 0 {
		t.Fatalf("libzmq got %q, %v; want [zloop, empty probe]", m, err)
	}
	waitFor(t, "a route to the alias", func() bool {
		return c.Send(ctx, []byte("alias"), []byte("hi")) == nil
	})
	m, err = l.Recv(10 * time.Second)
	if err != nil || len(m) != 2 || !bytes.Equal(m[1], []byte("hi")) {
		t.Fatalf("libzmq got %q, %v", m, err)
	}
}

// A Send blocked by XPUB_NODROP on a full subscriber comes back once that subscriber is gone.
func TestXPubNoDropWakesWhenSubscriberLeaves(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pub := newSocket(t, r, XPub, WithSndHWM(2), WithXPubNoDrop(true))
	if _, err := pub.Bind("inproc://nodrop-leave"); err != nil {
		t.Fatal(err)
	}
	sub := newSocket(t, r, Sub, WithRcvHWM(2))
	if err := sub.Subscribe(nil); err != nil {
		t.Fatal(err)
	}
	if err := sub.Connect("inproc://nodrop-leave"); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if err := pub.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	sent := make(chan error, 1)
	go func() { sent <- pub.Send(ctx, []byte("blocked")) }()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	waitFor(t, "the blocked Send to return", func() bool {
		select {
		case err = <-sent:
			return true
		default:
			return false
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A ROUTER with IMMEDIATE whose dialed peer goes away and comes back routes to it again.
func TestRouterImmediateReconnectRoutes(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	ep := "ipc://" + t.TempDir() + "/peer.sock"
	bindPeer := func() *Socket {
		d := newSocket(t, r, Dealer, WithRoutingID([]byte("peer")))
		if _, err := d.Bind(ep); err != nil {
			t.Fatal(err)
		}
		return d
	}
	peer := bindPeer()
	router := newSocket(t, r, Router, WithImmediate(true), WithRouterMandatory(true), WithReconnectIvl(10*time.Millisecond, 0))
	if err := router.Connect(ep); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		waitFor(t, "a route to the peer", func() bool {
			err := router.Send(ctx, []byte("peer"), []byte("hi"))
			if err != nil && !errors.Is(err, ErrHostUnreachable) {
				t.Fatal(err)
			}
			return err == nil
		})
		if m, err := peer.Recv(ctx); err != nil || string(m[0]) != "hi" {
			t.Fatalf("round %d: %q, %v", round, m, err)
		}
		if round == 0 {
			if err := peer.Close(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the route gone", func() bool {
				return errors.Is(router.Send(ctx, []byte("peer"), []byte("x")), ErrHostUnreachable)
			})
			peer = bindPeer()
		}
	}
}
