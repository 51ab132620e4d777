package sockets

import (
	"context"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// Every bind form libzmq accepts, connected to and carrying a message.
func TestBindForms(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	cases := []struct{ bind, connectHost string }{
		{"tcp://127.0.0.1:*", ""},
		{"tcp://127.0.0.1:!", ""},
		{"tcp://*:*", "127.0.0.1"},
		{"tcp://lo:*", ""},
		{"tcp://[::1]:*", ""},
		{"tcp://localhost:*", ""},
		{"ipc://*", ""},
		{"ipc://@zloop-test-abstract", ""},
	}
	for _, c := range cases {
		t.Run(c.bind, func(t *testing.T) {
			if strings.Contains(c.bind, "::1") && !hasIPv6Loopback() {
				t.Skip("no IPv6 loopback")
			}
			pull := newSocket(t, r, Pull)
			ep, err := pull.Bind(c.bind)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(ep, ":0") || strings.HasSuffix(ep, ":*") {
				t.Fatalf("resolved endpoint %s has no port", ep)
			}
			if c.connectHost != "" {
				_, port, _ := net.SplitHostPort(strings.TrimPrefix(ep, "tcp://"))
				ep = "tcp://" + net.JoinHostPort(c.connectHost, port)
			}
			push := newSocket(t, r, Push)
			if err := push.Connect(ep); err != nil {
				t.Fatal(err)
			}
			if err := push.Send(ctx, []byte(c.bind)); err != nil {
				t.Fatal(err)
			}
			m, err := pull.Recv(ctx)
			if err != nil || string(m[0]) != c.bind {
				t.Fatalf("%q %v", m, err)
			}
		})
	}
}

func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func TestBindAddressInUse(t *testing.T) {
	r := newReactor(t)
	a := newSocket(t, r, Pull)
	ep, err := a.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	b := newSocket(t, r, Pull)
	events := b.Monitor(4)
	if _, err := b.Bind(ep); err == nil {
		t.Fatal("second bind to the same port succeeded")
	} else if !strings.Contains(err.Error(), "address in use") {
		t.Fatalf("error %v", err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventBindFailed })
}

// libzmq with heartbeats on, against zloop with heartbeats on: PINGs are answered both ways, so
// neither side drops the connection during a window of many heartbeat intervals.
func TestInteropHeartbeats(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	ctx := testCtx(t)
	push := newSocket(t, r, Push, WithHeartbeat(25*time.Millisecond, time.Second, time.Second))
	events := push.Monitor(64)
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	l := testpeer.Start(t, "PULL")
	l.SetInt("HEARTBEAT_IVL", 25)
	l.SetInt("HEARTBEAT_TIMEOUT", 1000)
	l.SetInt("HEARTBEAT_TTL", 1000)
	l.Connect(ep)
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	heartbeatsHold(t, ctx, events, push, l)
}

// heartbeatsHold watches 60 heartbeat intervals: a PING left unanswered on either side would end
// the connection within 40 of them (1 s timeouts: generous for a loaded CI machine). Then a
// message still goes through.
func heartbeatsHold(t *testing.T, ctx context.Context, events <-chan reactor.Event, push *Socket, l *testpeer.Peer) {
	t.Helper()
	window := time.After(1500 * time.Millisecond)
	for {
		select {
		case e := <-events:
			if e.Type == reactor.EventDisconnected {
				t.Fatalf("connection dropped despite heartbeats: %v", e)
			}
		case <-window:
			if err := push.Send(ctx, []byte("still here")); err != nil {
				t.Fatal(err)
			}
			if m, err := l.Recv(10 * time.Second); err != nil || string(m[0]) != "still here" {
				t.Fatalf("%q %v", m, err)
			}
			return
		}
	}
}

// libzmq refuses an incompatible socket type at the handshake, and so does zloop.
func TestInteropIncompatibleRefused(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	push := newSocket(t, r, Push)
	events := push.Monitor(16)
	l := testpeer.Start(t, "PUSH")
	ep := l.Bind("tcp://127.0.0.1:*")
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedProtocol })
	t.Logf("refused: %v", e.Err)
}

// pooledBatch returns a function that sends n pooled messages of size bytes with SendMsg and takes
// them with RecvMsg, releasing each.
func pooledBatch(t *testing.T, push, pull *Socket, size, n int) func() {
	ctx := testCtx(t)
	payload := make([]byte, size)
	return func() {
		for i := 0; i < n; i++ {
			m := pool.NewMsg()
			m.AppendFrame(payload)
			if err := push.SendMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < n; i++ {
			m, err := pull.RecvMsg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.Release()
		}
	}
}

// The steady-state pooled path allocates nothing: batches of messages sent with SendMsg, carried
// over TCP by the loops (encode, write, read, parse, deliver) and taken with RecvMsg, with no
// allocation in 100 messages, wake-ups included.
func TestZeroAllocSteadyState(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	pull, push := tcpPair(t, newReactor(t), Pull, nil, Push, nil)
	const batch = 100
	roundTrip := pooledBatch(t, push, pull, 64, batch)
	for i := 0; i < 100; i++ {
		roundTrip() // warm the pools and let every queue reach its working size
	}
	if allocs := testing.AllocsPerRun(200, roundTrip); allocs != 0 {
		t.Errorf("%.0f allocations per %d messages", allocs, batch)
	}
}

// A reader slower than its sender: with RCVHWM 10 the connection pauses (muted in epoll) and resumes
// many times per run, and that costs no allocation either.
func TestZeroAllocPausingReader(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	pull, push := tcpPair(t, newReactor(t), Pull, []Option{WithRcvHWM(10)}, Push, nil)
	const batch = 500
	run := pooledBatch(t, push, pull, 64, batch)
	for i := 0; i < 50; i++ {
		run()
	}
	before := pull.Stats().Pauses // the reader's connection pauses
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%.0f allocations per %d messages", allocs, batch)
	}
	if p := pull.Stats().Pauses - before; p < 100 {
		t.Fatalf("%d pauses in 101 runs: the reader did not hold the connection back", p)
	}
}

// A REQ/REP round trip on idle connections: both requests and replies go out as direct writes of
// the sending goroutine, and the whole round trip allocates nothing.
func TestZeroAllocRoundTrip(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	ctx := testCtx(t)
	rep, req := tcpPair(t, newReactor(t), Rep, nil, Req, nil)
	payload := make([]byte, 64)
	var last time.Time
	roundTrip := func() {
		for time.Since(last) < 50*time.Microsecond {
			runtime.Gosched() // direct writes need an idle connection; waiting for it is the test
		}
		m := pool.NewMsg()
		m.AppendFrame(payload)
		if err := req.SendMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
		q, err := rep.RecvMsg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.SendMsg(ctx, q); err != nil {
			t.Fatal(err)
		}
		a, err := req.RecvMsg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a.Release()
		last = time.Now()
	}
	for i := 0; i < 100; i++ {
		roundTrip()
	}
	direct := func() uint64 { return req.Stats().SenderWrites + rep.Stats().SenderWrites } // request and reply
	before := direct()
	if allocs := testing.AllocsPerRun(200, roundTrip); allocs != 0 {
		t.Errorf("%.1f allocations per round trip", allocs)
	}
	if d := direct() - before; d < 2*201 {
		t.Fatalf("%d direct writes in 201 round trips, want 2 per round trip", d)
	}
}
