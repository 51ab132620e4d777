package sockets

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// A subscriber's messages stay in order whichever path each took: to one matching peer a message
// goes through TrySend (maybe a direct write), to several through reactor.FanOut, both into the
// peer's queue. Topic "a" reaches both subscribers, "b" only the second, over tcp and inproc.
func TestFanOutKeepsOrderAcrossPaths(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			r := newReactor(t)
			pub := newSocket(t, r, Pub, WithSndHWM(0))
			ep := "inproc://fanout-order"
			if tr == "tcp" {
				ep = bindTCP(t, pub)
			} else if _, err := pub.Bind(ep); err != nil {
				t.Fatal(err)
			}
			one := newSocket(t, r, Sub, WithRcvHWM(0))
			both := newSocket(t, r, Sub, WithRcvHWM(0))
			for s, topics := range map[*Socket][]string{one: {"a"}, both: {"a", "b"}} {
				for _, tp := range topics {
					if err := s.Subscribe([]byte(tp)); err != nil {
						t.Fatal(err)
					}
				}
				connect(t, s, ep)
			}
			waitFor(t, "three subscriptions", func() bool { return pubTopics(pub) == 3 })
			const n = 3000
			ctx := testCtx(t)
			for i := 0; i < n; i++ {
				topic := "a"
				if i%3 != 0 {
					topic = "b"
				}
				b := binary.BigEndian.AppendUint32([]byte(topic), uint32(i))
				if err := pub.Send(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			check := func(s *Socket, every int) {
				for i := 0; i < n; i += every {
					m, err := s.Recv(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if got := binary.BigEndian.Uint32(m[0][1:]); got != uint32(i) {
						t.Fatalf("got message %d, want %d", got, i)
					}
				}
			}
			check(both, 1)
			check(one, 3)
		})
	}
}

// Publishing to many subscribers allocates nothing in the steady state: one message for all of
// them, held once per peer (pool.Msg.Hold), and one wake-up per loop.
func TestFanOutZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	r := newReactor(t)
	pub := newSocket(t, r, Pub, WithSndHWM(0))
	ep := bindTCP(t, pub)
	subs := make([]*Socket, 8)
	for i := range subs {
		subs[i] = newSocket(t, r, Sub, WithRcvHWM(0))
		if err := subs[i].Subscribe(nil); err != nil {
			t.Fatal(err)
		}
		connect(t, subs[i], ep)
	}
	waitFor(t, "the subscriptions", func() bool { return pubTopics(pub) == len(subs) })
	ctx := testCtx(t)
	payload := make([]byte, 64)
	const batch = 100
	run := func() {
		for i := 0; i < batch; i++ {
			m := pool.NewMsg()
			m.AppendFrame(payload)
			if err := pub.SendMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range subs {
			for i := 0; i < batch; i++ {
				m, err := s.RecvMsg(ctx)
				if err != nil {
					t.Fatal(err)
				}
				m.Release()
			}
		}
	}
	for i := 0; i < 100; i++ {
		run()
	}
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%.0f allocations per %d messages to %d subscribers", allocs, batch, len(subs))
	}
}

// Replies to a peer whose next requests are already waiting are left to the loop, which writes them
// together, instead of a system call each from the sending goroutine: a raw dealer pipelines four
// requests, and the ROUTER's replies while some of them wait make no direct write.
func TestRouterPipelinedRepliesBatched(t *testing.T) {
	r := newReactor(t)
	router := newSocket(t, r, Router)
	ep := bindTCP(t, router)
	peer := rawDial(t, ep, "DEALER")
	var reqs []byte
	for i := 0; i < 4; i++ {
		reqs = codec.AppendFrame(reqs, 0, []byte{byte('0' + i)})
	}
	if _, err := peer.Conn.Write(reqs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the four requests at the ROUTER", func() bool { return inLen(router) == 4 })
	ctx := testCtx(t)
	before := router.Stats().SenderWrites
	for i := 0; i < 4; i++ {
		m, err := router.RecvMsg(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := router.SendMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			if n := router.Stats().SenderWrites - before; n != 0 {
				t.Fatalf("reply %d with %d requests waiting: %d direct writes", i, 3-i, n)
			}
		}
	}
	for i := 0; i < 4; i++ {
		f, err := peer.Recv(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) != 1 || string(f[0]) != string(rune('0'+i)) {
			t.Fatalf("reply %d: %q", i, f)
		}
	}
}

// inLen is what s's pipes hold received and not yet taken.
func inLen(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p := range s.pipes {
		n += p.InLen()
	}
	return n
}

// A ROUTER echoing pipelined requests of several dealers allocates nothing in the steady state:
// the routing id is looked up without a string, pushed and popped in place, and the replies go
// through the loop without a wake-up's allocation.
func TestRouterEchoZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	r := newReactor(t)
	router := newSocket(t, r, Router)
	ep := bindTCP(t, router)
	dealers := make([]*Socket, 4)
	for i := range dealers {
		dealers[i] = newSocket(t, r, Dealer)
		connect(t, dealers[i], ep)
	}
	ctx := testCtx(t)
	payload := make([]byte, 64)
	const inFlight = 4
	run := func() {
		for _, d := range dealers {
			for i := 0; i < inFlight; i++ {
				m := pool.NewMsg()
				m.AppendFrame(payload)
				if err := d.SendMsg(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := 0; i < len(dealers)*inFlight; i++ {
			m, err := router.RecvMsg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := router.SendMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range dealers {
			for i := 0; i < inFlight; i++ {
				m, err := d.RecvMsg(ctx)
				if err != nil {
					t.Fatal(err)
				}
				m.Release()
			}
		}
	}
	for i := 0; i < 100; i++ {
		run()
	}
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("%.1f allocations per %d round trips", allocs, len(dealers)*inFlight)
	}
}
