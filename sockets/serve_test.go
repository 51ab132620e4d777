package sockets

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

func newServer(t testing.TB, r *reactor.Reactor, h Handler, opts ...Option) *Server {
	t.Helper()
	s, err := ServeOn(r, "tcp://127.0.0.1:*", h, append([]Option{WithLinger(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func eqFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestServeEcho: zloop DEALER and REQ peers get their messages back, multipart and envelope
// included; the handler sees a REQ's empty delimiter and no routing id.
func TestServeEcho(t *testing.T) {
	r := newReactor(t)
	var mu sync.Mutex
	var seen [][][]byte
	s := newServer(t, r, func(c *Call) {
		mu.Lock()
		seen = append(seen, c.Msg().Copy())
		mu.Unlock()
		c.Echo()
	})
	d := newSocket(t, r, Dealer, WithLinger(0))
	q := newSocket(t, r, Req, WithLinger(0))
	for _, z := range []*Socket{d, q} {
		connect(t, z, s.Endpoint())
	}
	big := bytes.Repeat([]byte("x"), 100000)
	mustSend(t, d, []byte("a"), nil, big)
	if got := mustRecv(t, d); !eqFrames(got, frames([]byte("a"), nil, big)) {
		t.Fatalf("dealer got %d frames back, want a, empty, 100000 bytes", len(got))
	}
	mustSend(t, q, []byte("hello"))
	if got := mustRecv(t, q); !eqFrames(got, frames([]byte("hello"))) {
		t.Fatalf("req got %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !eqFrames(seen[1], frames(nil, []byte("hello"))) {
		t.Fatalf("handler saw %q, want the REQ's delimiter and body", seen)
	}
}

// TestServeLibzmq: libzmq DEALER and REQ peers cannot tell the endpoint from a ROUTER.
func TestServeLibzmq(t *testing.T) {
	r := newReactor(t)
	s := newServer(t, r, func(c *Call) { c.Echo() })
	for _, typ := range []string{"DEALER", "REQ"} {
		l := testpeer.Start(t, typ)
		l.Connect(s.Endpoint())
		want := [][]byte{[]byte("one"), []byte("two")}
		if typ == "REQ" {
			want = want[1:]
		}
		for i := 0; i < 3; i++ {
			l.Send(want...)
			got, err := l.Recv(10 * time.Second)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			if !eqFrames(got, want) {
				t.Fatalf("%s got %q, want %q", typ, got, want)
			}
		}
	}
}

// TestServeLibzmqForward: a libzmq DEALER known by its ROUTING_ID and a zloop DEALER reach each
// other through a forwarding handler, each seeing the other's routing id in front.
func TestServeLibzmqForward(t *testing.T) {
	r := newReactor(t)
	s := newServer(t, r, func(c *Call) {
		m := c.Msg()
		if m.Len() != 2 {
			return
		}
		if to, ok := c.Server().Peer(m.Frame(0)); ok {
			to.SendFrames(c.PeerID(), m.Frame(1))
		}
	})
	l := testpeer.Start(t, "DEALER")
	l.SetBytes("ROUTING_ID", []byte("L"))
	l.Connect(s.Endpoint())
	z := newSocket(t, r, Dealer, WithLinger(0), WithRoutingID([]byte("Z")))
	connect(t, z, s.Endpoint())
	waitFor(t, "both peers", func() bool { return s.Peers() == 2 })
	mustSend(t, z, []byte("L"), []byte("to libzmq"))
	got, err := l.Recv(10 * time.Second)
	if err != nil || !eqFrames(got, frames([]byte("Z"), []byte("to libzmq"))) {
		t.Fatalf("libzmq got %q (%v)", got, err)
	}
	l.Send([]byte("Z"), []byte("to zloop"))
	if got := mustRecv(t, z); !eqFrames(got, frames([]byte("L"), []byte("to zloop"))) {
		t.Fatalf("zloop got %q", got)
	}
}

// TestServeSndHWM: replies to a peer that reads nothing pile up to its SNDHWM and are dropped past
// it, the reply calls saying so, and the loop goes on serving.
func TestServeSndHWM(t *testing.T) {
	r := newReactor(t)
	var took, dropped atomic.Int64
	body := make([]byte, 1<<20)
	s := newServer(t, r, func(c *Call) {
		if c.ReplyFrames(body) {
			took.Add(1)
		} else {
			dropped.Add(1)
		}
	}, WithSndHWM(2))
	p := dialSwarm(t, s.Endpoint(), "DEALER") // never reads again
	defer p.c.Close()
	req := codec.AppendFrame(nil, 0, []byte("give"))
	waitFor(t, "a dropped reply", func() bool {
		if _, err := p.c.Write(req); err != nil {
			t.Fatal(err)
		}
		return dropped.Load() > 0
	})
	if took.Load() < 2 {
		t.Fatalf("%d replies taken before the first drop, want at least SNDHWM", took.Load())
	}
	// The loop still serves others.
	d := newSocket(t, r, Dealer, WithLinger(0))
	connect(t, d, s.Endpoint())
	mustSend(t, d, []byte("x"))
	if got := mustRecv(t, d); len(got) != 1 || len(got[0]) != len(body) {
		t.Fatal("another peer was not served")
	}
}

// TestServeLater: the handler takes the message and replies from another goroutine after the
// call, through a PeerRef.
func TestServeLater(t *testing.T) {
	r := newReactor(t)
	type job struct {
		to PeerRef
		m  *pool.Msg
	}
	jobs := make(chan job, 16)
	s := newServer(t, r, func(c *Call) { jobs <- job{c.Peer(), c.Take()} })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for j := range jobs {
			out := pool.NewMsg()
			out.AppendFrame(append([]byte("later:"), j.m.Frame(0)...))
			j.m.Release()
			j.to.Send(out)
		}
	}()
	defer func() { close(jobs); <-done }()
	d := newSocket(t, r, Dealer, WithLinger(0))
	connect(t, d, s.Endpoint())
	for i := 0; i < 5; i++ {
		body := fmt.Appendf(nil, "m%d", i)
		mustSend(t, d, body)
		if got := mustRecv(t, d); !eqFrames(got, frames(append([]byte("later:"), body...))) {
			t.Fatalf("got %q", got)
		}
	}
}

// TestServeForwardPublish: a peer names another by routing id and the handler forwards to it;
// a message starting with "all" is published to every peer. With two loops the peers' connections
// may be on different loops (gnet balances by connection count).
func TestServeForwardPublish(t *testing.T) {
	for _, loops := range []int{1, 2} {
		t.Run(fmt.Sprintf("%dloops", loops), func(t *testing.T) { testServeForwardPublish(t, loops) })
	}
}

func testServeForwardPublish(t *testing.T, loops int) {
	r := newReactorWith(t, reactor.Config{Loops: loops})
	s := newServer(t, r, func(c *Call) {
		m := c.Msg()
		if string(m.Frame(0)) == "all" {
			out := c.Take()
			c.Server().Publish(out)
			return
		}
		to, ok := c.Server().Peer(m.Frame(0))
		if !ok {
			c.ReplyFrames([]byte("unknown"))
			return
		}
		to.SendFrames(c.PeerID(), m.Frame(1))
	})
	a := newSocket(t, r, Dealer, WithLinger(0), WithRoutingID([]byte("A")))
	b := newSocket(t, r, Dealer, WithLinger(0), WithRoutingID([]byte("B")))
	for _, z := range []*Socket{a, b} {
		connect(t, z, s.Endpoint())
	}
	waitFor(t, "two peers", func() bool { return s.Peers() == 2 })
	mustSend(t, a, []byte("B"), []byte("hi b"))
	if got := mustRecv(t, b); !eqFrames(got, frames([]byte("A"), []byte("hi b"))) {
		t.Fatalf("b got %q", got)
	}
	mustSend(t, b, []byte("C"), []byte("nobody"))
	if got := mustRecv(t, b); !eqFrames(got, frames([]byte("unknown"))) {
		t.Fatalf("b got %q", got)
	}
	mustSend(t, b, []byte("all"), []byte("news"))
	for _, z := range []*Socket{a, b} {
		if got := mustRecv(t, z); !eqFrames(got, frames([]byte("all"), []byte("news"))) {
			t.Fatalf("got %q", got)
		}
	}
}

// TestServePublishAfterLeave: Publish reaches exactly the peers still connected, whichever of them
// left (the first to join, the last), and returns how many took the message.
func TestServePublishAfterLeave(t *testing.T) {
	r := newReactor(t)
	s := newServer(t, r, func(c *Call) {})
	var peers []*Socket
	for _, id := range []string{"A", "B", "C", "D"} {
		z := newSocket(t, r, Dealer, WithLinger(0), WithRoutingID([]byte(id)))
		connect(t, z, s.Endpoint())
		waitFor(t, "peer "+id, func() bool { return s.Peers() == len(peers)+1 })
		peers = append(peers, z)
	}
	for _, leave := range []int{0, 3, 1} {
		_ = peers[leave].Close()
		peers[leave] = nil
		left := 0
		for _, z := range peers {
			if z != nil {
				left++
			}
		}
		waitFor(t, "a peer to leave", func() bool { return s.Peers() == left })
		m := pool.NewMsg()
		m.AppendFrame([]byte("news"))
		if n := s.Publish(m); n != left {
			t.Fatalf("Publish reached %d peers, want %d", n, left)
		}
		for _, z := range peers {
			if z == nil {
				continue
			}
			if got := mustRecv(t, z); !eqFrames(got, frames([]byte("news"))) {
				t.Fatalf("got %q", got)
			}
		}
	}
}

// TestServePeerGone: a reply kept for after the call, for a peer that disconnected meanwhile, is
// dropped (Send reports it) and nothing else happens.
func TestServePeerGone(t *testing.T) {
	r := newReactor(t)
	refs := make(chan PeerRef, 1)
	s := newServer(t, r, func(c *Call) { refs <- c.Peer() })
	d := newSocket(t, r, Dealer, WithLinger(0))
	connect(t, d, s.Endpoint())
	mustSend(t, d, []byte("x"))
	ref := <-refs
	if !ref.Connected() {
		t.Fatal("peer not connected during its call")
	}
	_ = d.Close()
	waitFor(t, "the peer to go", func() bool { return !ref.Connected() && s.Peers() == 0 })
	if ref.SendFrames([]byte("late")) {
		t.Fatal("a reply to a gone peer was taken")
	}
	if (PeerRef{}).SendFrames([]byte("none")) {
		t.Fatal("the zero PeerRef took a message")
	}
}

// TestServeCallAfterReturn: a Call kept past its handler and used later panics instead of touching
// a message the loop has released. The stale use is made by the next handler call, on the same
// (only) loop, so that it is a misuse and not a data race.
func TestServeCallAfterReturn(t *testing.T) {
	r := newReactor(t)
	var kept *Call
	caught := make(chan any, 1)
	s := newServer(t, r, func(c *Call) {
		if kept == nil {
			kept = c
			c.Echo()
			return
		}
		func() {
			defer func() { caught <- recover() }()
			kept.PeerID()
		}()
		c.Echo()
	})
	a := newSocket(t, r, Dealer, WithLinger(0))
	b := newSocket(t, r, Dealer, WithLinger(0))
	for _, z := range []*Socket{a, b} {
		connect(t, z, s.Endpoint())
	}
	mustSend(t, a, []byte("first"))
	mustRecv(t, a)
	mustSend(t, b, []byte("second"))
	mustRecv(t, b)
	if v := <-caught; v == nil {
		t.Fatal("a Call used after its handler returned did not panic")
	}
}

// TestServeAllocs: an echoed message costs no allocation in the steady state, on either side of
// the loop (the raw peer reads and writes into fixed buffers).
func TestServeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	r := newReactor(t)
	s := newServer(t, r, func(c *Call) { c.Echo() })
	p := dialSwarm(t, s.Endpoint(), "DEALER")
	defer p.c.Close()
	req := codec.AppendFrame(nil, 0, make([]byte, 64))
	roundTrip := func() {
		if _, err := p.c.Write(req); err != nil {
			t.Fatal(err)
		}
		p.buf = p.buf[:0]
		for {
			if f, _ := payloadFrames(p.buf); f == 1 {
				return
			}
			p.fill(t, len(p.buf)+1)
		}
	}
	for i := 0; i < 100; i++ {
		roundTrip()
	}
	if n := testing.AllocsPerRun(1000, roundTrip); n != 0 {
		t.Fatalf("%v allocations per echoed message, want 0", n)
	}
}

// TestServeBatchesReplies: replies made by the handler go into the loop's batch: pipelined requests
// that arrive together are answered in a few writes of the loop's, none by a sender.
func TestServeBatchesReplies(t *testing.T) {
	r := newReactor(t)
	s := newServer(t, r, func(c *Call) { c.Echo() })
	p := dialSwarm(t, s.Endpoint(), "DEALER")
	defer p.c.Close()
	const n = 100
	var reqs []byte
	for i := 0; i < n; i++ {
		reqs = codec.AppendFrame(reqs, 0, make([]byte, 64))
	}
	before := r.Stats()
	if _, err := p.c.Write(reqs); err != nil {
		t.Fatal(err)
	}
	for {
		if f, _ := payloadFrames(p.buf); f == n {
			break
		}
		p.fill(t, len(p.buf)+1)
	}
	after := r.Stats()
	writes, direct := after.Writes-before.Writes, after.SenderWrites-before.SenderWrites
	if direct != 0 || writes > 10 {
		t.Fatalf("%d replies took %d loop writes and %d sender writes, want a few of the loop's", n, writes, direct)
	}
}

// TestServeMonitor: a Server's monitor reports its peers coming and going and a hostile peer's
// refusal, as a ROUTER's would, while the handler keeps serving; Close stops it.
func TestServeMonitor(t *testing.T) {
	r := newReactor(t)
	s := newServer(t, r, func(c *Call) { c.Echo() })
	events := s.Monitor(64)
	d := newSocket(t, r, Dealer, WithLinger(0))
	connect(t, d, s.Endpoint())
	mustSend(t, d, []byte("a"))
	if got := mustRecv(t, d); !eqFrames(got, frames([]byte("a"))) {
		t.Fatalf("dealer got %q", got)
	}
	acc := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventAccepted })
	waitEvent(t, events, func(e reactor.Event) bool {
		return e.Type == reactor.EventHandshakeSucceeded && e.Remote == acc.Remote
	})

	// Not ZMTP: refused on the monitor, the dealer still served.
	raw, err := net.Dial("tcp", strings.TrimPrefix(s.Endpoint(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	bad := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeFailedProtocol })
	if bad.Remote == acc.Remote || bad.Err == nil {
		t.Fatalf("refusal %+v: want the raw peer's, with its error", bad)
	}
	mustSend(t, d, []byte("b"))
	if got := mustRecv(t, d); !eqFrames(got, frames([]byte("b"))) {
		t.Fatalf("dealer got %q", got)
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool {
		return e.Type == reactor.EventDisconnected && e.Remote == acc.Remote
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventMonitorStopped })
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-events:
		case <-deadline:
			t.Fatal("monitor not closed after Close")
		}
	}
	if _, open := <-s.Monitor(1); open {
		t.Fatal("Monitor after Close: want a closed channel")
	}
}
