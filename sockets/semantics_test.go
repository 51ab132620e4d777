package sockets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/zmtp"
)

func TestWrongOperations(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	push := newSocket(t, r, Push)
	if _, err := push.Recv(ctx); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Recv on PUSH: %v", err)
	}
	pull := newSocket(t, r, Pull)
	if err := pull.Send(ctx, []byte("x")); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Send on PULL: %v", err)
	}
	rep := newSocket(t, r, Rep)
	if err := rep.Send(ctx, []byte("x")); !errors.Is(err, ErrState) {
		t.Errorf("Send on REP before Recv: %v", err)
	}
	req := newSocket(t, r, Req)
	if _, err := req.Recv(ctx); !errors.Is(err, ErrState) {
		t.Errorf("Recv on REQ before Send: %v", err)
	}
	if err := push.Send(ctx); !errors.Is(err, ErrEmptyMessage) {
		t.Errorf("Send of no frames: %v", err)
	}
	if err := push.Unbind("tcp://127.0.0.1:1"); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("Unbind of an unknown endpoint: %v", err)
	}
	if err := push.Disconnect("tcp://127.0.0.1:1"); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("Disconnect of an unknown endpoint: %v", err)
	}
	if _, err := push.Bind("bogus"); err == nil {
		t.Error("Bind of a bogus endpoint succeeded")
	}
	if _, err := NewOn(r, Push, WithRoutingID(make([]byte, 256))); !errors.Is(err, ErrInvalid) {
		t.Errorf("256-byte routing id: %v", err)
	}
}

func TestTimeoutsAndCancel(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull, WithRcvTimeout(0))
	if _, err := pull.Recv(context.Background()); !errors.Is(err, ErrWouldBlock) {
		t.Errorf("non-blocking Recv: %v", err)
	}
	_ = pull.SetOptions(WithRcvTimeout(10 * time.Millisecond))
	if _, err := pull.Recv(context.Background()); !errors.Is(err, ErrWouldBlock) {
		t.Errorf("Recv with RCVTIMEO: %v", err)
	}
	_ = pull.SetOptions(WithRcvTimeout(-1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pull.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv with a cancelled context: %v", err)
	}
	// A PUSH with no peer at all blocks (libzmq: no pipe, nothing to queue to).
	push := newSocket(t, r, Push, WithSndTimeout(0))
	if err := push.Send(context.Background(), []byte("x")); !errors.Is(err, ErrWouldBlock) {
		t.Errorf("Send with no peer: %v", err)
	}
	// Close wakes a blocked Recv.
	done := make(chan error, 1)
	blocked := newSocket(t, r, Pull)
	go func() { _, err := blocked.Recv(context.Background()); done <- err }()
	_ = blocked.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Recv on a closed socket: %v", err)
	}
}

// Messages queued by a connecting socket before its peer exists are delivered once it binds.
func TestConnectBeforeBind(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "tcp://" + ln.Addr().String()
	_ = ln.Close()
	push := newSocket(t, r, Push, WithReconnectIvl(10*time.Millisecond, 0))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := push.Send(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	pull := newSocket(t, r, Pull)
	if _, err := pull.Bind(ep); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m[0][0] != byte(i) {
			t.Fatalf("got %d, want %d", m[0][0], i)
		}
	}
}

// A zloop peer that goes away and comes back on the same endpoint gets the stream again.
func TestReconnectAfterRebind(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, WithReconnectIvl(10*time.Millisecond, 50*time.Millisecond))
	events := push.Monitor(64)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := push.Send(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if m, err := pull.Recv(ctx); err != nil || string(m[0]) != "one" {
		t.Fatalf("%q %v", m, err)
	}
	if err := pull.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	pull2 := newSocket(t, r, Pull)
	if _, err := pull2.Bind(ep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	if err := push.Send(ctx, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if m, err := pull2.Recv(ctx); err != nil || string(m[0]) != "two" {
		t.Fatalf("%q %v", m, err)
	}
}

// Close lingers until queued messages reach a connected peer; LINGER 0 drops them.
func TestLinger(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push, err := NewOn(r, Push, WithLinger(10*time.Second), WithSndHWM(0))
	if err != nil {
		t.Fatal(err)
	}
	events := push.Monitor(16)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	const n = 20000
	payload := bytes.Repeat([]byte("x"), 1000)
	for i := 0; i < n; i++ {
		if err := push.Send(ctx, payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := pull.Recv(ctx); err != nil {
			t.Fatalf("message %d of %d after Close: %v", i, n, err)
		}
	}
}

func TestUnbindClosesAcceptedConnections(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	peer := rawDial(t, ep, "PUSH")
	if err := pull.Unbind(ep); err != nil {
		t.Fatal(err)
	}
	if err := peer.WaitClosed(10 * time.Second); err != nil {
		t.Fatalf("accepted connection still open after Unbind: %v", err)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://")); err == nil {
		t.Fatal("still listening after Unbind")
	}
	// The port can be bound again at once (SO_REUSEADDR, as libzmq).
	if _, err := pull.Bind(ep); err != nil {
		t.Fatalf("rebind: %v", err)
	}
}

func TestIncompatiblePeerRefused(t *testing.T) {
	r := newReactor(t)
	a := newSocket(t, r, Push)
	events := a.Monitor(16)
	ep, err := a.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	b := newSocket(t, r, Push)
	if err := b.Connect(ep); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedProtocol })
	if !errors.Is(e.Err, zmtp.ErrIncompatible) {
		t.Fatalf("handshake failure: %v", e.Err)
	}
}

func TestHandshakeTimeout(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull, WithHandshakeIvl(50*time.Millisecond))
	events := pull.Monitor(16)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Say nothing: the handshake timer closes the connection.
	if err := zmtptest.New(c, "PUSH").WaitClosed(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Err != nil })
	if !errors.Is(e.Err, zmtp.ErrHandshakeTimeout) {
		t.Fatalf("event %v", e)
	}
}

// A peer that stops answering PINGs is dropped after HEARTBEAT_TIMEOUT.
func TestHeartbeatTimeout(t *testing.T) {
	r := newReactor(t)
	push := newSocket(t, r, Push, WithHeartbeat(20*time.Millisecond, 0, 100*time.Millisecond))
	events := push.Monitor(16)
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	_ = rawDial(t, ep, "PULL") // completes the handshake, then never reads again
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	if !errors.Is(e.Err, zmtp.ErrHeartbeatTimeout) {
		t.Fatalf("event %v", e)
	}
}

// Many connections, each with its own heartbeat deadlines on one loop: the 40 that stop reading are
// dropped after HEARTBEAT_TIMEOUT, each on its own timer, while the 40 that answer PINGs stay.
func TestHeartbeatsManyConnections(t *testing.T) {
	const live, dead = 40, 40
	r := newReactor(t)
	ctx := testCtx(t)
	pub := newSocket(t, r, Pub, WithHeartbeat(20*time.Millisecond, 0, 150*time.Millisecond))
	events := pub.Monitor(4 * (live + dead))
	ep, err := pub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	var subs []*Socket
	for i := 0; i < live; i++ {
		s := newSocket(t, r, Sub)
		if err := s.Subscribe(nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(ep); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	for i := 0; i < dead; i++ {
		_ = rawDial(t, ep, "SUB") // completes the handshake, then never reads again
	}
	timedOut := 0
	for timedOut < dead {
		e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
		if !errors.Is(e.Err, zmtp.ErrHeartbeatTimeout) {
			t.Fatalf("a connection ended with %v", e.Err)
		}
		timedOut++
	}
	// The live ones outlast several timeouts and still get what is published.
	start := time.Now()
	waitFor(t, "three heartbeat timeouts", func() bool { return time.Since(start) > 450*time.Millisecond })
	if n := pipeCount(pub); n != live {
		t.Fatalf("%d connections left, want the %d live ones", n, live)
	}
	waitFor(t, "every subscriber receiving", func() bool {
		if err := pub.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if _, err := s.Recv(withTimeout(t, 50*time.Millisecond)); err != nil {
				return false
			}
		}
		return true
	})
	for {
		select {
		case e := <-events:
			if e.Type == reactor.EventDisconnected {
				t.Fatalf("a live connection was dropped: %v", e.Err)
			}
			continue
		default:
		}
		break
	}
}

// A peer over MAXMSGSIZE is disconnected; the socket keeps working.
func TestMaxMsgSize(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithMaxMsgSize(100))
	events := pull.Monitor(16)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	peer := rawDial(t, ep, "PUSH")
	if err := peer.SendFrames(make([]byte, 60), make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if err := peer.WaitClosed(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Err != nil })
	if !errors.Is(e.Err, zmtp.ErrTooLarge) {
		t.Fatalf("event %v", e)
	}
	ok := rawDial(t, ep, "PUSH")
	if err := ok.SendFrames(make([]byte, 50), make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	if m, err := pull.Recv(ctx); err != nil || len(m) != 2 {
		t.Fatalf("%d frames, %v", len(m), err)
	}
}

// PUSH round-robins across its peers; PULL fair-queues them.
func TestRoundRobinAndFairQueue(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	const peers, per = 4, 50
	push := newSocket(t, r, Push)
	events := push.Monitor(64)
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	var pulls []*Socket
	for i := 0; i < peers; i++ {
		p := newSocket(t, r, Pull)
		if err := p.Connect(ep); err != nil {
			t.Fatal(err)
		}
		pulls = append(pulls, p)
	}
	for i := 0; i < peers; i++ {
		waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	}
	for i := 0; i < peers*per; i++ {
		if err := push.Send(ctx, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pulls {
		for j := 0; j < per; j++ {
			if _, err := p.Recv(ctx); err != nil {
				t.Fatalf("peer %d got %d of %d messages: %v", i, j, per, err)
			}
		}
		if _, err := p.Recv(withTimeout(t, 20*time.Millisecond)); err == nil {
			t.Fatalf("peer %d got more than its share", i)
		}
	}

	// Fair queueing: two senders with full queues are served alternately.
	pull := newSocket(t, r, Pull, WithRcvHWM(1000))
	ep2, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		s := rawDial(t, ep2, "PUSH") // closed by t.Cleanup
		for j := 0; j < 100; j++ {
			if err := s.SendFrames([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "both senders' messages queued", func() bool { in, _ := pipeLens(pull); return in == 200 })
	counts := [2]int{}
	for j := 0; j < 100; j++ {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts[m[0][0]]++
	}
	if counts[0] != 50 || counts[1] != 50 {
		t.Fatalf("first 100 messages by sender: %v, want 50/50", counts)
	}
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Many goroutines may use one socket at once.
func TestConcurrentUse(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := push.Send(ctx, []byte{byte(w)}, []byte(fmt.Sprint(i))); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	got := make(chan [][]byte, workers*each)
	var rg sync.WaitGroup
	for w := 0; w < 4; w++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for i := 0; i < workers*each/4; i++ {
				m, err := pull.Recv(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				got <- m
			}
		}()
	}
	wg.Wait()
	rg.Wait()
	close(got)
	// Receivers interleave, so order is not checked: every message of every sender exactly once.
	next := make([]int, workers)
	seen := make([][each]bool, workers)
	for m := range got {
		w := m[0][0]
		var i int
		if _, err := fmt.Sscan(string(m[1]), &i); err != nil || i < 0 || i >= each || seen[w][i] {
			t.Fatalf("worker %d: message %q bad or duplicated", w, m[1])
		}
		seen[w][i] = true
		next[w]++
	}
	for w := range next {
		if next[w] != each {
			t.Errorf("worker %d: %d messages arrived, want %d", w, next[w], each)
		}
	}
}

// With IMMEDIATE a PUSH queues only to connected peers: with the one peer gone, Send would block.
func TestImmediate(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, WithImmediate(true), WithSndTimeout(0))
	events := push.Monitor(16)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	if err := push.Send(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if m, err := pull.Recv(ctx); err != nil || string(m[0]) != "a" {
		t.Fatalf("%q %v", m, err)
	}
	_ = pull.Close()
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	if err := push.Send(ctx, []byte("b")); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("send with the only peer gone: %v", err)
	}
	// Without IMMEDIATE the message would have been queued for the reconnection.
	lazy := newSocket(t, r, Push, WithSndTimeout(0), WithLinger(0)) // "c" waits for a peer that never comes
	if err := lazy.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := lazy.Send(ctx, []byte("c")); err != nil {
		t.Fatalf("send without IMMEDIATE: %v", err)
	}
}

// With reconnection off (RECONNECT_IVL -1), a connection that ends takes its pipe with it, as
// libzmq's session terminates: a PUSH then has no peer and does not queue for one that will never
// come back.
func TestNoReconnectEndsThePipe(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, WithReconnectIvl(-1, 0), WithSndTimeout(0), WithLinger(0))
	events := push.Monitor(16)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	_ = pull.Close()
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	waitFor(t, "the pipe to go", func() bool { return pipeCount(push) == 0 })
	if err := push.Send(testCtx(t), []byte("x")); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("send with no peer left: %v", err)
	}
}
