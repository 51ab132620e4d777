package reactor

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
)

// backlogged fills p with n messages of 1000 bytes for a peer that does not read, until the loop
// stopped at sendBound with messages still in the pipe: nothing of the rest can be flushed before
// the peer reads.
func backlogged(t *testing.T, o *testOwner, p *Pipe, sc *Counters, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		send(t, o, p, seqMsg(uint64(i), 1000))
	}
	waitFor(t, "the loop blocked with messages in the pipe", func() bool {
		return sc.Stats().Blocks > 0 && p.OutLen() > 0
	})
}

// readAll reads n sequence messages of 1000 bytes from peer.
func readAll(t *testing.T, peer *zmtptest.Peer, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := checkSeq(m[0], uint64(i), 1000); err != nil {
			t.Fatal(err)
		}
	}
}

// Closing an accepted pipe whose peer does not read, as a socket closes with each LINGER: 0 drops
// what is queued and closes at once; a positive linger delivers everything if the peer reads in
// time, and otherwise drops the rest at the deadline, saying so; a negative one waits as long as
// it takes. Nothing is taken once Close was called.
func TestPipeCloseLinger(t *testing.T) {
	const n = 1000 // 1 MB: four times sendBound
	setup := func(t *testing.T) (*testOwner, *Pipe, *zmtptest.Peer) {
		var sc Counters
		o, p, peer := stalledPush(t, newTestReactor(t, Config{Loops: 1}), &sc, func(o *Options) { o.SndHWM = 0 })
		backlogged(t, o, p, &sc, n)
		return o, p, peer
	}
	refused := func(t *testing.T, p *Pipe) {
		t.Helper()
		m := newMsg([]byte("late"))
		if p.TrySend(m) {
			t.Fatal("a closed pipe took a message")
		}
		m.Release()
	}

	t.Run("zero", func(t *testing.T) {
		o, p, peer := setup(t)
		waitClosed(t, "the close", p.Close(0))
		refused(t, p)
		if e := o.waitEvent(t, EventDisconnected); !errors.Is(e.Err, ErrClosed) {
			t.Fatalf("disconnected with %v", e.Err)
		}
		if d := o.waitDetached(t); !d.final {
			t.Fatal("the detachment is not final")
		}
		if n := p.OutLen(); n != 0 {
			t.Fatalf("%d messages kept after a close with linger 0", n)
		}
		if err := peer.WaitClosed(waitLimit); err != nil {
			t.Fatal(err)
		}
	})
	for _, linger := range []time.Duration{waitLimit, -1} {
		t.Run("delivers/"+linger.String(), func(t *testing.T) {
			o, p, peer := setup(t)
			done := p.Close(linger)
			refused(t, p)
			if isClosedChan(done) {
				t.Fatal("the close ended with messages the peer has not read")
			}
			readAll(t, peer, n)
			waitClosed(t, "the lingering close", done)
			if e := o.waitEvent(t, EventDisconnected); !errors.Is(e.Err, ErrClosed) || errors.Is(e.Err, ErrLingerExpired) {
				t.Fatalf("disconnected with %v after delivering everything", e.Err)
			}
			if err := peer.WaitClosed(waitLimit); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("expires", func(t *testing.T) {
		o, p, _ := setup(t)
		waitClosed(t, "the lingering close", p.Close(50*time.Millisecond))
		e := o.waitEvent(t, EventDisconnected)
		if !errors.Is(e.Err, ErrLingerExpired) || !strings.Contains(e.Err.Error(), "messages") {
			t.Fatalf("disconnected with %v, want the linger expired", e.Err)
		}
		if d := o.waitDetached(t); !d.final {
			t.Fatal("the detachment is not final")
		}
	})
}

// Unbinding closes the connections it accepted, except one whose pipe lingers: that one still
// delivers what was queued.
func TestListenerCloseLeavesLingeringPipes(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var sc Counters
	opts := pushOptions(&sc)
	opts.SndBuf, opts.SndHWM = 4096, 0
	o := newOwner(t, "push")
	l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
	lingering := rawDial(t, l.Endpoint(), "PULL")
	p1 := o.waitAttached(t)
	plain := rawDial(t, l.Endpoint(), "PULL")
	p2 := o.waitAttached(t)
	const n = 1000
	backlogged(t, o, p1, &sc, n)
	done := p1.Close(-1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if e := o.waitEvent(t, EventClosed); e.Endpoint != l.Endpoint() {
		t.Fatalf("closed event for %q", e.Endpoint)
	}
	if d := o.waitDetached(t); d.p != p2 || !d.final {
		t.Fatal("the unbound listener's other connection was not closed first")
	}
	if err := plain.WaitClosed(waitLimit); err != nil {
		t.Fatal(err)
	}
	readAll(t, lingering, n)
	waitClosed(t, "the lingering close", done)
	if d := o.waitDetached(t); d.p != p1 || !d.final {
		t.Fatal("the lingering pipe did not end")
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(l.Endpoint(), "tcp://")); err == nil {
		t.Fatal("the closed listener still accepts")
	}
}

// unboundIPC is an ipc:// endpoint that nobody has bound yet.
func unboundIPC(t *testing.T) string {
	return "ipc://" + filepath.Join(t.TempDir(), "later.sock")
}

// Closing a dialer with messages queued and no connection, as a socket closes: linger 0 drops them
// at once; otherwise it keeps connecting and delivers once the peer appears, or drops them when the
// linger runs out, saying how many.
func TestDialerCloseLinger(t *testing.T) {
	queued := func(t *testing.T, r *Reactor) (string, *testOwner, *Dialer) {
		ep := unboundIPC(t)
		o := newOwner(t, "push")
		d := connect(t, r, ep, testOptions("PUSH"), o)
		for i := 0; i < 5; i++ {
			send(t, o, d.Pipe(), seqMsg(uint64(i), 100))
		}
		return ep, o, d
	}
	t.Run("zero", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		_, _, d := queued(t, r)
		if !isClosedChan(d.Close(0)) {
			t.Fatal("a close with linger 0 waits")
		}
		if n := d.Pipe().OutLen(); n != 0 {
			t.Fatalf("%d messages kept", n)
		}
	})
	t.Run("delivers", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		ep, _, d := queued(t, r)
		done := d.Close(waitLimit)
		if isClosedChan(done) {
			t.Fatal("the close ended with messages nobody received")
		}
		bo := newOwner(t, "pull")
		listen(t, r, ep, testOptions("PULL"), bo)
		bp := bo.waitAttached(t)
		for i := 0; i < 5; i++ {
			if err := checkSeq(recv(t, bo, bp)[0], uint64(i), 100); err != nil {
				t.Fatal(err)
			}
		}
		waitClosed(t, "the lingering close", done)
		if d := bo.waitDetached(t); !d.final {
			t.Fatal("the peer's pipe did not end after the delivery")
		}
	})
	t.Run("expires", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		_, o, d := queued(t, r)
		waitClosed(t, "the lingering close", d.Close(50*time.Millisecond))
		e := o.waitEvent(t, EventClosed)
		if !errors.Is(e.Err, ErrLingerExpired) || !strings.Contains(e.Err.Error(), "5 messages") {
			t.Fatalf("closed with %v, want 5 messages dropped", e.Err)
		}
	})
}

// A dialer closed while connected, with a peer that has not read everything yet: it flushes and
// closes once the peer read it all, or at the linger's end; with nothing queued it closes at once.
func TestDialerCloseLingerConnected(t *testing.T) {
	setup := func(t *testing.T) (*link, int) {
		r := newTestReactor(t, Config{Loops: 1})
		var sc Counters
		pullOpts, pushOpts := testOptions("PULL"), pushOptions(&sc)
		pullOpts.RcvHWM, pushOpts.SndHWM, pushOpts.SndBuf = 1, 0, 4096
		k := pair(t, r, "tcp", pullOpts, pushOpts)
		const n = 2000 // 2 MB against a reader that holds one message
		backlogged(t, k.co, k.cp, &sc, n)
		return k, n
	}
	t.Run("delivers", func(t *testing.T) {
		k, n := setup(t)
		done := k.d.Close(waitLimit)
		for i := 0; i < n; i++ {
			if err := checkSeq(recv(t, k.bo, k.bp)[0], uint64(i), 1000); err != nil {
				t.Fatal(err)
			}
		}
		waitClosed(t, "the lingering close", done)
		if d := k.bo.waitDetached(t); !d.final {
			t.Fatal("the reader's pipe did not end")
		}
		if e := k.co.waitEvent(t, EventDisconnected); errors.Is(e.Err, ErrLingerExpired) {
			t.Fatalf("disconnected with %v after delivering everything", e.Err)
		}
	})
	t.Run("expires", func(t *testing.T) {
		k, _ := setup(t)
		waitClosed(t, "the lingering close", k.d.Close(50*time.Millisecond))
		if e := k.co.waitEvent(t, EventDisconnected); !errors.Is(e.Err, ErrLingerExpired) {
			t.Fatalf("disconnected with %v, want the linger expired", e.Err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		k := pair(t, r, "tcp", testOptions("PULL"), testOptions("PUSH"))
		waitClosed(t, "the close", k.d.Close(waitLimit))
		if d := k.bo.waitDetached(t); !d.final {
			t.Fatal("the peer's pipe did not end")
		}
	})
}

// Shutdown waits for what closed pipes still deliver, for a dialer that has to connect first too.
func TestShutdownWaitsForLinger(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	o := newOwner(t, "push")
	opts := testOptions("PUSH")
	d, err := r.Connect("tcp://"+ln.Addr().String(), opts, o)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := 0; i < n; i++ {
		send(t, o, d.Pipe(), seqMsg(uint64(i), 1000))
	}
	d.Close(-1)
	shut := make(chan error, 1)
	go func() { shut <- r.Shutdown(context.Background()) }()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := zmtptest.New(c, "PULL")
	if err := peer.Handshake(waitLimit); err != nil {
		t.Fatal(err)
	}
	readAll(t, peer, n)
	select {
	case err := <-shut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Shutdown did not return after the lingering dialer delivered")
	}
}

// testTerminator is a socket as Shutdown sees it.
type testTerminator struct{ n atomic.Int32 }

func (s *testTerminator) Terminate() { s.n.Add(1) }

// Shutdown terminates every registered socket once, stops taking new ones and new endpoints, and
// when its context ends it drops what lingering pipes and dialers still hold, saying so.
func TestShutdown(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var kept, gone testTerminator
	for _, s := range []*testTerminator{&kept, &gone} {
		if err := r.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	r.Unregister(&gone)

	// A dialer that lingers for a peer that never comes, and a connection that lingers for a
	// peer that never reads.
	o := newOwner(t, "push")
	d, err := r.Connect(unboundIPC(t), testOptions("PUSH"), o)
	if err != nil {
		t.Fatal(err)
	}
	send(t, o, d.Pipe(), []byte("never delivered"))
	d.Close(-1)
	var sc Counters
	so, sp, _ := stalledPush(t, r, &sc, func(o *Options) { o.SndHWM = 0 })
	backlogged(t, so, sp, &sc, 1000)
	sp.Close(-1)

	if r.Terminated() {
		t.Fatal("terminated before Shutdown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var shut [2]chan error
	for i := range shut { // concurrent calls all return once the reactor stopped
		shut[i] = make(chan error, 1)
		go func() { shut[i] <- r.Shutdown(ctx) }()
	}
	for i := range shut {
		select {
		case err := <-shut[i]:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Shutdown did not return when its context ended")
		}
	}
	if kept.n.Load() != 1 || gone.n.Load() != 0 {
		t.Fatalf("terminated %d times, and the unregistered socket %d times", kept.n.Load(), gone.n.Load())
	}
	if !r.Terminated() {
		t.Fatal("not terminated after Shutdown")
	}
	if e := o.waitEvent(t, EventClosed); !errors.Is(e.Err, ErrLingerExpired) {
		t.Fatalf("the lingering dialer closed with %v", e.Err)
	}
	if e := so.waitEvent(t, EventDisconnected); !errors.Is(e.Err, ErrLingerExpired) {
		t.Fatalf("the lingering connection closed with %v", e.Err)
	}
	if err := r.Register(&gone); !errors.Is(err, ErrTerminated) {
		t.Fatalf("Register after Shutdown: %v", err)
	}
	for _, ep := range []string{"tcp://127.0.0.1:*", "inproc://after-shutdown"} {
		if _, err := r.Listen(ep, testOptions("PULL"), o); !errors.Is(err, ErrTerminated) {
			t.Fatalf("Listen %s after Shutdown: %v", ep, err)
		}
		if ep == "tcp://127.0.0.1:*" {
			ep = "tcp://127.0.0.1:1"
		}
		if _, err := r.Connect(ep, testOptions("PUSH"), o); !errors.Is(err, ErrTerminated) {
			t.Fatalf("Connect %s after Shutdown: %v", ep, err)
		}
	}
}
