package reactor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/pool"
)

// An inproc connect may come before the bind: the pipe takes messages at once, and they reach the
// bound side when it appears, with the events a connection would have.
func TestInprocConnectBeforeBind(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	ep := bindAddr("inproc")
	co := newOwner(t, "push")
	copts := testOptions("PUSH", "PULL")
	copts.Session.Identity = []byte("pusher")
	d := connect(t, r, ep, copts, co)
	cp := d.Pipe()
	if cp.Connected() {
		t.Fatal("connected before the bind")
	}
	for i := 0; i < 3; i++ {
		send(t, co, cp, seqMsg(uint64(i), 10))
	}
	bo := newOwner(t, "pull")
	l := listen(t, r, ep, testOptions("PULL", "PUSH"), bo)
	if e := bo.waitEvent(t, EventListening); e.Endpoint != ep {
		t.Fatalf("listening on %q", e.Endpoint)
	}
	bp := bo.waitAttached(t)
	if co.waitAttached(t) != cp {
		t.Fatal("another pipe attached")
	}
	co.waitEvent(t, EventHandshakeSucceeded)
	bo.waitEvent(t, EventAccepted)
	if !cp.Connected() || !bp.Connected() {
		t.Fatal("the pair is not connected")
	}
	if peer := bp.Peer(); peer.SocketType != "PUSH" || string(peer.Identity) != "pusher" {
		t.Fatalf("the bound side's peer: %+v", peer)
	}
	if n := cp.OutLen(); n != 0 {
		t.Fatalf("%d messages left on the connecting side", n)
	}
	for i := 0; i < 3; i++ {
		if err := checkSeq(recv(t, bo, bp)[0], uint64(i), 10); err != nil {
			t.Fatal(err)
		}
	}
	if l.Endpoint() != ep {
		t.Fatalf("endpoint %q", l.Endpoint())
	}
}

// Between inproc pipes the queue holds the sender's SNDHWM plus the receiver's RCVHWM (libzmq's
// rule); a full one refuses, and the sender hears PipeWritable once the reader took a message. A
// pipe without a limit on either side has none.
func TestInprocHWM(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	copts, bopts := testOptions("PUSH"), testOptions("PULL")
	copts.SndHWM, bopts.RcvHWM = 2, 3
	k := pair(t, r, "inproc", bopts, copts)
	for i := 0; i < 5; i++ {
		if !k.cp.CanSend() {
			t.Fatalf("full after %d messages", i)
		}
		send(t, k.co, k.cp, []byte{byte(i)})
	}
	m := newMsg([]byte("over"))
	if k.cp.CanSend() || k.cp.TrySend(m) {
		t.Fatal("the queue took more than SNDHWM+RCVHWM")
	}
	if got := recv(t, k.bo, k.bp); got[0][0] != 0 {
		t.Fatalf("got %v first", got)
	}
	select {
	case <-k.co.writable:
	case <-time.After(waitLimit):
		t.Fatal("no PipeWritable after the reader made room")
	}
	if !k.cp.TrySend(m) {
		t.Fatal("refused after the reader made room")
	}
	for i := 1; i < 5; i++ {
		if got := recv(t, k.bo, k.bp); got[0][0] != byte(i) {
			t.Fatalf("message %d: %v", i, got)
		}
	}
	if got := recv(t, k.bo, k.bp); string(got[0]) != "over" {
		t.Fatalf("got %q last", got)
	}

	u := pair(t, r, "inproc", testOptions("PULL"), testOptions("PUSH"))
	for i := 0; i < 5000; i++ {
		m := newMsg([]byte("x"))
		if !u.cp.TrySend(m) {
			t.Fatalf("a pipe without HWM refused message %d", i)
		}
	}
	if n := u.bp.InLen(); n != 5000 {
		t.Fatalf("%d messages arrived", n)
	}
}

// SendLatest replaces what the peer has not taken yet (ZMQ_CONFLATE), inproc and over a connection
// that is not up yet.
func TestSendLatest(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	k := pair(t, r, "inproc", testOptions("PULL"), testOptions("PUSH"))
	for i := 0; i < 3; i++ {
		send(t, k.co, k.cp, []byte{byte(i)})
	}
	if !k.cp.SendLatest(newMsg([]byte("latest"))) {
		t.Fatal("SendLatest refused")
	}
	if got := recv(t, k.bo, k.bp); string(got[0]) != "latest" || k.bp.InLen() != 0 {
		t.Fatalf("got %q with %d more", got, k.bp.InLen())
	}

	ep := unboundIPC(t)
	co := newOwner(t, "push")
	d := connect(t, r, ep, testOptions("PUSH"), co)
	for i := 0; i < 3; i++ {
		send(t, co, d.Pipe(), []byte{byte(i)})
	}
	if !d.Pipe().SendLatest(newMsg([]byte("latest"))) || d.Pipe().OutLen() != 1 {
		t.Fatalf("SendLatest left %d messages queued", d.Pipe().OutLen())
	}
	bo := newOwner(t, "pull")
	listen(t, r, ep, testOptions("PULL"), bo)
	bp := bo.waitAttached(t)
	if got := recv(t, bo, bp); string(got[0]) != "latest" {
		t.Fatalf("got %q", got)
	}
	send(t, co, d.Pipe(), []byte("next"))
	if !d.Pipe().SendLatest(newMsg([]byte("newest"))) {
		t.Fatal("SendLatest refused on a connected pipe")
	}
	for got := recv(t, bo, bp); string(got[0]) != "newest"; got = recv(t, bo, bp) {
		if string(got[0]) != "next" {
			t.Fatalf("got %q", got)
		}
	}
	waitClosed(t, "the close", d.Close(0))
	m := newMsg([]byte("closed"))
	if d.Pipe().SendLatest(m) {
		t.Fatal("a closed pipe took a latest message")
	}
	m.Release()
	waitClosed(t, "the inproc close", k.d.Close(0))
	for _, o := range []*testOwner{k.co, k.bo} {
		o.waitDetached(t)
	}
	if k.cp.SendLatest(m) {
		t.Fatal("a closed inproc pipe took a latest message")
	}
}

// Closing either end of an inproc pair, or the listener, ends both pipes for good; what the
// survivor received stays readable. A name is bound once.
func TestInprocClose(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	k := pair(t, r, "inproc", testOptions("PAIR"), testOptions("PAIR"))
	send(t, k.co, k.cp, []byte("kept"))
	k.bp.Close(0)
	for _, o := range []*testOwner{k.co, k.bo} {
		if d := o.waitDetached(t); !d.final {
			t.Fatalf("%s: not final", o.name)
		}
	}
	if k.bp.Connected() || k.cp.Connected() {
		t.Fatal("a closed pair is connected")
	}
	if m := k.bp.TryRecv(); m == nil || string(m.Frame(0)) != "kept" {
		t.Fatal("a message received before the close was lost")
	} else {
		m.Release()
	}

	k2 := pair(t, r, "inproc", testOptions("PAIR"), testOptions("PAIR"))
	other := newOwner(t, "other")
	_, err := r.Listen(k2.l.Endpoint(), testOptions("PAIR"), other)
	var oe *OpError
	if !errors.Is(err, ErrAddrInUse) || !errors.As(err, &oe) || oe.Op != "bind" {
		t.Fatalf("a second bind: %v", err)
	}
	other.waitEvent(t, EventBindFailed)
	if err := k2.l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*testOwner{k2.co, k2.bo} {
		if d := o.waitDetached(t); !d.final {
			t.Fatalf("%s: not final", o.name)
		}
	}
	k2.bo.waitEvent(t, EventClosed)
	// The name is free again.
	listen(t, r, k2.l.Endpoint(), testOptions("PAIR"), other)

	if _, err := r.Listen("inproc://", testOptions("PAIR"), other); !errors.Is(err, ErrBadEndpoint) {
		t.Fatalf("Listen without a name: %v", err)
	}
	if _, err := r.Connect("inproc://", testOptions("PAIR"), other); !errors.Is(err, ErrBadEndpoint) {
		t.Fatalf("Connect without a name: %v", err)
	}
}

// An inproc connect closed with messages queued before anybody bound its name lingers for the
// bind, as libzmq's pending connections do: it delivers when the bind comes in time, drops them at
// the end of its linger (saying how many), and Shutdown's context ends it too.
func TestInprocLinger(t *testing.T) {
	queued := func(t *testing.T, r *Reactor, ep string) (*testOwner, *Dialer) {
		o := newOwner(t, "push")
		d, err := r.Connect(ep, testOptions("PUSH"), o)
		if err != nil {
			t.Fatal(err)
		}
		send(t, o, d.Pipe(), []byte("one"))
		send(t, o, d.Pipe(), []byte("two"))
		return o, d
	}
	t.Run("delivers", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		ep := bindAddr("inproc")
		_, d := queued(t, r, ep)
		done := d.Close(waitLimit)
		if isClosedChan(done) {
			t.Fatal("the close ended with messages nobody received")
		}
		bo := newOwner(t, "pull")
		listen(t, r, ep, testOptions("PULL"), bo)
		bp := bo.waitAttached(t)
		waitClosed(t, "the lingering close", done)
		for _, want := range []string{"one", "two"} {
			if got := recv(t, bo, bp); string(got[0]) != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		if d := bo.waitDetached(t); !d.final {
			t.Fatal("the bound side did not see its peer leave")
		}
	})
	t.Run("expires", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		o, d := queued(t, r, bindAddr("inproc"))
		waitClosed(t, "the lingering close", d.Close(50*time.Millisecond))
		e := o.waitEvent(t, EventClosed)
		if !errors.Is(e.Err, ErrLingerExpired) || !strings.Contains(e.Err.Error(), "2 messages") {
			t.Fatalf("closed with %v", e.Err)
		}
	})
	t.Run("zero", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		ep := bindAddr("inproc")
		_, d := queued(t, r, ep)
		if !isClosedChan(d.Close(0)) {
			t.Fatal("a close with linger 0 waits")
		}
		bo := newOwner(t, "pull")
		listen(t, r, ep, testOptions("PULL"), bo)
		// A later connect is the only one the bind sees.
		co := newOwner(t, "push2")
		connect(t, r, ep, testOptions("PUSH"), co)
		bp := bo.waitAttached(t)
		send(t, co, co.waitAttached(t), []byte("fresh"))
		if got := recv(t, bo, bp); string(got[0]) != "fresh" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		r := newTestReactor(t, Config{Loops: 1})
		o, d := queued(t, r, bindAddr("inproc"))
		d.Close(-1)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if e := o.waitEvent(t, EventClosed); !errors.Is(e.Err, ErrLingerExpired) {
			t.Fatalf("closed with %v", e.Err)
		}
	})
}

// TryRecvBatch on an inproc pipe takes what is there up to dst's capacity, in order, under one lock,
// and a sender that found the queue full hears PipeWritable, as after TryRecv.
func TestInprocTryRecvBatch(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	copts, bopts := testOptions("PUSH"), testOptions("PULL")
	copts.SndHWM, bopts.RcvHWM = 2, 3
	k := pair(t, r, "inproc", bopts, copts)
	for i := 0; i < 5; i++ {
		send(t, k.co, k.cp, []byte{byte(i)})
	}
	if k.cp.CanSend() {
		t.Fatal("the queue took more than SNDHWM+RCVHWM")
	}
	got := k.bp.TryRecvBatch(make([]*pool.Msg, 0, 3))
	if len(got) != 3 {
		t.Fatalf("took %d messages into room for 3", len(got))
	}
	for i, m := range got {
		if b := m.Frame(0); len(b) != 1 || b[0] != byte(i) {
			t.Fatalf("message %d: %q", i, b)
		}
		m.Release()
	}
	select {
	case <-k.co.writable:
	case <-time.After(waitLimit):
		t.Fatal("no PipeWritable after the reader made room")
	}
	got = k.bp.TryRecvBatch(make([]*pool.Msg, 0, 8))
	if len(got) != 2 || got[0].Frame(0)[0] != 3 || got[1].Frame(0)[0] != 4 {
		t.Fatalf("took %d messages, want the last 2", len(got))
	}
	for _, m := range got {
		m.Release()
	}
}
