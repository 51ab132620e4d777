package sockets

// The envelope and publish-subscribe halves of the interop matrix (see TestInteropMatrix), and
// the libzmq-facing tests of ROUTER identities, subscriptions and the XSUB/XPUB proxy.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
)

const interopWait = 20 * time.Second

func frames(f ...[]byte) [][]byte { return f }

func join(head [][]byte, tail ...[]byte) [][]byte {
	out := append([][]byte(nil), head...)
	return append(out, tail...)
}

var (
	probe = []byte("probe")
	reply = []byte("re")
)

// upstreamMessages are what an XSUB sends up: no frame starts with 0x00 or 0x01, which a
// publisher would take for a subscription.
func upstreamMessages() [][][]byte {
	return [][][]byte{{[]byte("up")}, {[]byte("up"), []byte("stream"), frameOf(70000, 'x')}}
}

func mustRecv(t *testing.T, z *Socket) [][]byte {
	t.Helper()
	m, err := z.Recv(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustSend(t *testing.T, z *Socket, frames ...[]byte) {
	t.Helper()
	if err := z.Send(testCtx(t), frames...); err != nil {
		t.Fatal(err)
	}
}

func libRecv(t *testing.T, l *testpeer.Peer) [][]byte {
	t.Helper()
	m, err := l.Recv(interopWait)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func expect(t *testing.T, who string, i int, got, want [][]byte) {
	t.Helper()
	if !sameMsg(got, want) {
		t.Fatalf("%s: message %d: got %d frames %s, want %d frames %s", who, i, len(got), short(got), len(want), short(want))
	}
}

func short(m [][]byte) string {
	s := "["
	for i, f := range m {
		if i > 0 {
			s += " "
		}
		if len(f) > 16 {
			s += fmt.Sprintf("%q...(%d)", f[:16], len(f))
		} else {
			s += fmt.Sprintf("%q", f)
		}
	}
	return s + "]"
}

// exchangePattern runs the exchange of one matrix case whose zloop side is zt and libzmq side lt.
func exchangePattern(t *testing.T, z *Socket, l *testpeer.Peer, zt, lt Type) {
	msgs := testMessages()
	switch {
	case zt == Req && lt == Router:
		for i, m := range msgs {
			mustSend(t, z, m...)
			got := libRecv(t, l)
			if len(got) < 2 || len(got[1]) != 0 {
				t.Fatalf("ROUTER got %s: want routing id, delimiter, request", short(got))
			}
			expect(t, "libzmq ROUTER", i, got[2:], m)
			l.Send(join(got[:2], join(frames(reply), m...)...)...)
			expect(t, "zloop REQ", i, mustRecv(t, z), join(frames(reply), m...))
		}
	case zt == Router && lt == Req:
		for i, m := range msgs {
			l.Send(m...)
			got := mustRecv(t, z)
			checkGeneratedID(t, got[0])
			expect(t, "zloop ROUTER", i, got[1:], join(frames(nil), m...))
			mustSend(t, z, join(frames(got[0], nil, reply), m...)...)
			expect(t, "libzmq REQ", i, libRecv(t, l), join(frames(reply), m...))
		}
	case zt == Dealer && lt == Rep:
		for i, m := range msgs {
			mustSend(t, z, join(frames(nil), m...)...)
			got := libRecv(t, l)
			expect(t, "libzmq REP", i, got, m)
			l.Send(join(frames(reply), got...)...)
			expect(t, "zloop DEALER", i, mustRecv(t, z), join(frames(nil, reply), m...))
		}
	case zt == Rep && lt == Dealer:
		// An envelope of several frames, as a chain of brokers builds it.
		env := frames([]byte("hop1"), []byte("hop2"), nil)
		done := serveRep(t, z, len(msgs))
		for i, m := range msgs {
			l.Send(join(env, m...)...)
			expect(t, "libzmq DEALER", i, libRecv(t, l), join(env, join(frames(reply), m...)...))
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	case zt == Dealer && lt == Router:
		for i, m := range msgs {
			mustSend(t, z, m...)
			got := libRecv(t, l)
			checkGeneratedID(t, got[0])
			expect(t, "libzmq ROUTER", i, got[1:], m)
			l.Send(join(frames(got[0], reply), m...)...)
			expect(t, "zloop DEALER", i, mustRecv(t, z), join(frames(reply), m...))
		}
	case zt == Router && lt == Dealer:
		for i, m := range msgs {
			l.Send(m...)
			got := mustRecv(t, z)
			checkGeneratedID(t, got[0])
			expect(t, "zloop ROUTER", i, got[1:], m)
			mustSend(t, z, join(frames(got[0], reply), m...)...)
			expect(t, "libzmq DEALER", i, libRecv(t, l), join(frames(reply), m...))
		}
	case zt == Dealer && lt == Dealer:
		for i, m := range msgs {
			mustSend(t, z, m...)
			got := libRecv(t, l)
			expect(t, "libzmq DEALER", i, got, m)
			l.Send(join(frames(reply), got...)...)
			expect(t, "zloop DEALER", i, mustRecv(t, z), join(frames(reply), m...))
		}
	case zt == Router && lt == Router:
		// The zloop ROUTER is mandatory: it learns that the libzmq peer is routable when its
		// first send stops failing with ErrHostUnreachable.
		first := join(frames([]byte("libzmq")), msgs[0]...)
		waitFor(t, "the libzmq ROUTER to become routable", func() bool {
			err := z.Send(testCtx(t), first...)
			if err != nil && !errors.Is(err, ErrHostUnreachable) {
				t.Fatal(err)
			}
			return err == nil
		})
		for i, m := range msgs {
			if i > 0 {
				mustSend(t, z, join(frames([]byte("libzmq")), m...)...)
			}
			got := libRecv(t, l)
			expect(t, "libzmq ROUTER", i, got, join(frames([]byte("zloop")), m...))
			l.Send(join(frames([]byte("zloop"), reply), m...)...)
			expect(t, "zloop ROUTER", i, mustRecv(t, z), join(frames([]byte("libzmq"), reply), m...))
		}
	case (zt == Pub || zt == XPub) && (lt == Sub || lt == XSub):
		if lt == Sub {
			l.SetBytes("SUBSCRIBE", nil)
		} else {
			l.Send([]byte{1})
		}
		if zt == XPub {
			// The subscription itself tells us the peer is listening.
			expect(t, "zloop XPUB", 0, awaitXPubSub(t, z, l), frames([]byte{1}))
		} else {
			awaitLibSub(t, z, l)
		}
		for _, m := range msgs {
			mustSend(t, z, m...)
		}
		for i, m := range msgs {
			expect(t, "libzmq "+lt.String(), i, libRecvData(t, l), m)
		}
		if zt == XPub && lt == XSub {
			for i, m := range upstreamMessages() {
				l.Send(m...)
				expect(t, "zloop XPUB upstream", i, mustRecv(t, z), m)
			}
		}
	case (zt == Sub || zt == XSub) && (lt == Pub || lt == XPub):
		if zt == Sub {
			if err := z.Subscribe(nil); err != nil {
				t.Fatal(err)
			}
		} else {
			mustSend(t, z, []byte{1})
		}
		if lt == XPub {
			expect(t, "libzmq XPUB", 0, libRecv(t, l), frames([]byte{1}))
		} else {
			awaitZloopSub(t, z, l)
		}
		for _, m := range msgs {
			l.Send(m...)
		}
		for i, m := range msgs {
			expect(t, "zloop "+zt.String(), i, zRecvData(t, z), m)
		}
		if zt == XSub && lt == XPub {
			for i, m := range upstreamMessages() {
				mustSend(t, z, m...)
				expect(t, "libzmq XPUB upstream", i, libRecv(t, l), m)
			}
		}
	default:
		t.Fatalf("no exchange for zloop %v with libzmq %v", zt, lt)
	}
}

// awaitXPubSub receives the first subscription from libzmq on z. A libzmq socket takes up a
// connection it accepted only when its user calls into it (zmq_recv, zmq_poll, ZMQ_EVENTS): only
// then does a bound SUB send its subscriptions. So the wait keeps asking the peer for its EVENTS.
func awaitXPubSub(t *testing.T, z *Socket, l *testpeer.Peer) [][]byte {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for {
		l.GetInt("EVENTS")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		m, err := z.Recv(ctx)
		cancel()
		if err == nil {
			return m
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Now().After(deadline) {
			t.Fatalf("no subscription reached zloop: %v", err)
		}
	}
}

// checkGeneratedID checks a routing id a ROUTER made up for a peer without one: 0x00 + uint32.
func checkGeneratedID(t *testing.T, id []byte) {
	t.Helper()
	if len(id) != 5 || id[0] != 0 {
		t.Fatalf("generated routing id %x: want 5 bytes starting with 0x00", id)
	}
}

func serveRep(t *testing.T, z *Socket, n int) <-chan error {
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			req, err := z.Recv(ctx)
			if err == nil {
				err = z.Send(ctx, join(frames(reply), req...)...)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

// awaitLibSub publishes probes from z until the libzmq subscriber receives one: its subscription
// has then reached z. Probes still in flight arrive before anything sent later (one connection
// keeps order), and libRecvData skips them.
func awaitLibSub(t *testing.T, z *Socket, l *testpeer.Peer) {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for {
		mustSend(t, z, probe)
		m, err := l.Recv(20 * time.Millisecond)
		if err == nil {
			if !sameMsg(m, frames(probe)) {
				t.Fatalf("libzmq got %s before any probe", short(m))
			}
			return
		}
		if !errors.Is(err, testpeer.ErrTimeout) || time.Now().After(deadline) {
			t.Fatalf("no probe reached libzmq: %v", err)
		}
	}
}

func awaitZloopSub(t *testing.T, z *Socket, l *testpeer.Peer) {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for {
		l.Send(probe)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		m, err := z.Recv(ctx)
		cancel()
		if err == nil {
			if !sameMsg(m, frames(probe)) {
				t.Fatalf("zloop got %s before any probe", short(m))
			}
			return
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Now().After(deadline) {
			t.Fatalf("no probe reached zloop: %v", err)
		}
	}
}

func libRecvData(t *testing.T, l *testpeer.Peer) [][]byte {
	t.Helper()
	for {
		if m := libRecv(t, l); !sameMsg(m, frames(probe)) {
			return m
		}
	}
}

func zRecvData(t *testing.T, z *Socket) [][]byte {
	t.Helper()
	for {
		if m := mustRecv(t, z); !sameMsg(m, frames(probe)) {
			return m
		}
	}
}

func skipWithoutPeer(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
}

// Incompatible socket types are refused at the handshake, whichever side binds.
func TestInteropIncompatiblePairs(t *testing.T) {
	skipWithoutPeer(t)
	pairs := []struct{ zloop, libzmq Type }{
		{Pub, Pull}, {Sub, Sub}, {XPub, Req}, {XSub, Dealer}, {Dealer, Pub},
		{Router, Pull}, {Req, Req}, {Rep, Router}, {Dealer, Push}, {Sub, Router},
	}
	for i, pr := range pairs {
		zloopBinds := i%2 == 0
		t.Run(fmt.Sprintf("zloop %v with libzmq %v", pr.zloop, pr.libzmq), func(t *testing.T) {
			r := newReactor(t)
			z := newSocket(t, r, pr.zloop, WithLinger(0))
			events := z.Monitor(64)
			l := testpeer.Start(t, pr.libzmq.String())
			if zloopBinds {
				ep, err := z.Bind("tcp://127.0.0.1:*")
				if err != nil {
					t.Fatal(err)
				}
				l.Connect(ep)
			} else if err := z.Connect(l.Bind("tcp://127.0.0.1:*")); err != nil {
				t.Fatal(err)
			}
			e := waitEvent(t, events, func(e reactor.Event) bool {
				if e.Type == reactor.EventHandshakeSucceeded {
					t.Fatalf("handshake with an incompatible peer succeeded")
				}
				return e.Type == reactor.EventHandshakeFailedProtocol
			})
			t.Logf("refused: %v", e.Err)
		})
	}
}

// ROUTER identities against libzmq: a libzmq DEALER's ROUTING_ID names it on a zloop ROUTER, a
// zloop DEALER's names it on a libzmq ROUTER, and a zloop ROUTER's generated ids count up by one.
func TestInteropRoutingIDs(t *testing.T) {
	skipWithoutPeer(t)
	r := newReactor(t)
	ctx := testCtx(t)
	router := newSocket(t, r, Router, WithRouterMandatory(true))
	ep, err := router.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	named := testpeer.Start(t, "DEALER")
	named.SetBytes("ROUTING_ID", []byte("alice"))
	named.Connect(ep)
	named.Send([]byte("hi"))
	got := mustRecv(t, router)
	expect(t, "zloop ROUTER", 0, got, frames([]byte("alice"), []byte("hi")))
	mustSend(t, router, []byte("alice"), []byte("hello alice"))
	expect(t, "libzmq DEALER", 0, libRecv(t, named), frames([]byte("hello alice")))

	var ids [][]byte
	for i := 0; i < 2; i++ {
		anon := testpeer.Start(t, "DEALER")
		anon.Connect(ep)
		anon.Send([]byte("anon"))
		got := mustRecv(t, router)
		checkGeneratedID(t, got[0])
		ids = append(ids, got[0])
	}
	if a, b := ids[0][1:], ids[1][1:]; uint32(b[3])|uint32(b[2])<<8|uint32(b[1])<<16|uint32(b[0])<<24 !=
		1+(uint32(a[3])|uint32(a[2])<<8|uint32(a[1])<<16|uint32(a[0])<<24) {
		t.Errorf("generated ids %x then %x: want consecutive", ids[0], ids[1])
	}
	if err := router.Send(ctx, []byte("nobody"), []byte("x")); !errors.Is(err, ErrHostUnreachable) {
		t.Fatalf("send to an unknown id: %v, want ErrHostUnreachable", err)
	}

	lr := testpeer.Start(t, "ROUTER")
	lep := lr.Bind("tcp://127.0.0.1:*")
	dealer := newSocket(t, r, Dealer, WithRoutingID([]byte("bob")))
	if err := dealer.Connect(lep); err != nil {
		t.Fatal(err)
	}
	mustSend(t, dealer, []byte("from bob"))
	expect(t, "libzmq ROUTER", 0, libRecv(t, lr), frames([]byte("bob"), []byte("from bob")))
}

// Subscriptions between zloop and libzmq: filtering on the publisher, counted subscriptions,
// cancellations, and a zloop SUB subscribing before it connects.
func TestInteropSubscriptions(t *testing.T) {
	skipWithoutPeer(t)
	r := newReactor(t)

	// libzmq SUB against a zloop XPUB: the XPUB sees the subscription and filters for it.
	xpub := newSocket(t, r, XPub)
	ep, err := xpub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	sub := testpeer.Start(t, "SUB")
	sub.SetBytes("SUBSCRIBE", []byte("A"))
	sub.Connect(ep)
	expect(t, "zloop XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01A")))
	for _, topic := range []string{"B1", "A1", "C1", "A2"} {
		mustSend(t, xpub, []byte(topic), []byte("body"))
	}
	expect(t, "libzmq SUB", 0, libRecv(t, sub), frames([]byte("A1"), []byte("body")))
	expect(t, "libzmq SUB", 1, libRecv(t, sub), frames([]byte("A2"), []byte("body")))
	sub.SetBytes("UNSUBSCRIBE", []byte("A"))
	expect(t, "zloop XPUB", 1, mustRecv(t, xpub), frames([]byte("\x00A")))
	xpub.mu.Lock()
	left := len(pubState(firstPipe(xpub)).topics)
	xpub.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d topics left after the cancellation", left)
	}

	// zloop SUB against a libzmq XPUB, subscribed before connecting; two subscriptions to one
	// topic need two cancellations before libzmq hears of it.
	lpub := testpeer.Start(t, "XPUB")
	lpub.SetInt("XPUB_VERBOSE", 1)
	lep := lpub.Bind("tcp://127.0.0.1:*")
	zsub := newSocket(t, r, Sub)
	if err := zsub.Subscribe([]byte("T")); err != nil {
		t.Fatal(err)
	}
	if err := zsub.Connect(lep); err != nil {
		t.Fatal(err)
	}
	expect(t, "libzmq XPUB", 0, libRecv(t, lpub), frames([]byte("\x01T")))
	if err := zsub.Subscribe([]byte("T")); err != nil {
		t.Fatal(err)
	}
	expect(t, "libzmq XPUB (verbose)", 1, libRecv(t, lpub), frames([]byte("\x01T")))
	lpub.Send([]byte("T1"))
	lpub.Send([]byte("U1"))
	lpub.Send([]byte("T2"))
	expect(t, "zloop SUB", 0, mustRecv(t, zsub), frames([]byte("T1")))
	expect(t, "zloop SUB", 1, mustRecv(t, zsub), frames([]byte("T2")))
	if err := zsub.Unsubscribe([]byte("T")); err != nil {
		t.Fatal(err)
	}
	if m, err := lpub.Recv(50 * time.Millisecond); err == nil {
		t.Fatalf("libzmq XPUB got %s after the first of two cancellations", short(m))
	}
	if err := zsub.Unsubscribe([]byte("T")); err != nil {
		t.Fatal(err)
	}
	expect(t, "libzmq XPUB", 2, libRecv(t, lpub), frames([]byte("\x00T")))
}

// firstPipe returns one of s's pipes; the caller holds s.mu.
func firstPipe(s *Socket) *reactor.Pipe {
	for p := range s.pipes {
		return p
	}
	return nil
}

// A zloop XSUB/XPUB forwarder (Proxy) between libzmq publishers and subscribers passes the
// subscriptions upstream and the messages downstream, filtered per subscriber.
func TestInteropProxyForwarder(t *testing.T) {
	skipWithoutPeer(t)
	r := newReactor(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	xsub := newSocket(t, r, XSub)
	xpub := newSocket(t, r, XPub)
	front, err := xsub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	back, err := xpub.Bind("ipc://" + t.TempDir() + "/back.sock")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Proxy(ctx, xsub, xpub, nil) }()

	// Publisher 1 is an XPUB, so the test sees the subscriptions arrive; publisher 2 a plain PUB.
	pub1 := testpeer.Start(t, "XPUB")
	pub1.Connect(front)
	pub2 := testpeer.Start(t, "PUB")
	pub2.Connect(front)
	subA := testpeer.Start(t, "SUB")
	subA.SetBytes("SUBSCRIBE", []byte("A"))
	subA.Connect(back)
	subB := testpeer.Start(t, "SUB")
	subB.SetBytes("SUBSCRIBE", []byte("B"))
	subB.Connect(back)

	seen := map[string]bool{}
	for len(seen) < 2 {
		m := libRecv(t, pub1)
		seen[string(m[0])] = true
	}
	if !seen["\x01A"] || !seen["\x01B"] {
		t.Fatalf("upstream subscriptions: %v", seen)
	}
	for i := 0; i < 3; i++ {
		pub1.Send([]byte(fmt.Sprintf("A-%d", i)))
		pub1.Send([]byte(fmt.Sprintf("B-%d", i)))
		pub1.Send([]byte(fmt.Sprintf("C-%d", i)))
	}
	for i := 0; i < 3; i++ {
		expect(t, "SUB A", i, libRecv(t, subA), frames([]byte(fmt.Sprintf("A-%d", i))))
		expect(t, "SUB B", i, libRecv(t, subB), frames([]byte(fmt.Sprintf("B-%d", i))))
	}
	// The plain PUB learnt the subscriptions through the same XSUB: its A messages reach SUB A
	// once they have, and its C messages nobody.
	deadline := time.Now().Add(interopWait)
	for {
		pub2.Send([]byte("C-probe"))
		pub2.Send([]byte("A-pub2"))
		m, err := subA.Recv(20 * time.Millisecond)
		if err == nil {
			expect(t, "SUB A from PUB 2", 0, m, frames([]byte("A-pub2")))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing from the plain PUB reached SUB A")
		}
	}
	if m, err := subB.Recv(50 * time.Millisecond); err == nil {
		t.Fatalf("SUB B got %s", short(m))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Proxy returned %v, want context.Canceled", err)
	}
}
