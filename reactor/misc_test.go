package reactor

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/pool"
)

// seqSender sends numbered 100-byte messages on k's dialed pipe and checks that each arrives, in
// order, before the next; the test's goroutine only.
type seqSender struct {
	t   *testing.T
	k   *link
	sc  *Counters // the dialed side's write counters
	seq uint64
}

// next sends the next message with send (the pipe's TrySend or TrySendLoop), waits for it, lets
// the connection go idle, and reports whether the sender wrote it itself.
func (q *seqSender) next(send func(*pool.Msg) bool) (direct bool) {
	q.t.Helper()
	sentAt := time.Now()
	before := q.sc.Stats().SenderWrites
	if !send(newMsg(seqMsg(q.seq, 100))) {
		q.t.Fatal("refused")
	}
	if err := checkSeq(recv(q.t, q.k.bo, q.k.bp)[0], q.seq, 100); err != nil {
		q.t.Fatal(err)
	}
	q.seq++
	idleFor(q.t, sentAt, 100*time.Microsecond)
	return q.sc.Stats().SenderWrites > before
}

// TrySend on an idle connection writes from the sender's goroutine; TrySendLoop called off the loop
// always leaves the write to the loop. Both deliver everything in order.
func TestTrySendLoopOffLoopLeavesWritesToLoop(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var sc Counters
	k := pair(t, r, "tcp", testOptions("PULL"), pushOptions(&sc))
	q := &seqSender{t: t, k: k, sc: &sc}
	waitFor(t, "a direct write", func() bool { return q.next(k.cp.TrySend) })
	before := sc.Stats().SenderWrites
	for i := 0; i < 20; i++ {
		q.next(k.cp.TrySendLoop)
	}
	if d := sc.Stats().SenderWrites - before; d != 0 {
		t.Fatalf("%d direct writes of queued sends", d)
	}
}

// Two pipes that both send and neither reads: each connection is muted for its full reader while
// gnet also holds output for it. The loop flushes that output itself, without turning reading back
// on, so gnet never reads for a muted connection; once the two read, everything arrives in order.
func TestMutedWhileSending(t *testing.T) {
	const (
		size  = 16 << 10
		hwm   = 4
		count = 100 // 1.6 MB each way: several times what the kernel and gnet hold
	)
	cfg := Config{Loops: 1}
	r := newTestReactor(t, cfg)
	opts := func() *Options {
		o := testOptions("PAIR")
		o.SndHWM, o.RcvHWM, o.SndBuf = hwm, hwm, 8192
		return o
	}
	k := pair(t, r, "tcp", opts(), opts())
	var sent [2]atomic.Int64
	errs := make(chan error, 4)
	sender := func(o *testOwner, p *Pipe, n *atomic.Int64) {
		for i := 0; i < count; i++ {
			if err := trySendWait(o, p, newMsg(seqMsg(uint64(i), size))); err != nil {
				errs <- err
				return
			}
			n.Add(1)
		}
		errs <- nil
	}
	go sender(k.bo, k.bp, &sent[0])
	go sender(k.co, k.cp, &sent[1])
	var total atomic.Int64
	waitStalled(t, "both readers full and both senders held back", func() bool {
		total.Store(sent[0].Load() + sent[1].Load())
		return k.bp.InLen() == hwm && k.cp.InLen() == hwm
	}, &total)
	if st := r.Stats(); st.Pauses == 0 {
		t.Fatal("no connection paused")
	}
	for _, reader := range []struct {
		o *testOwner
		p *Pipe
	}{{k.co, k.cp}, {k.bo, k.bp}} {
		for i := 0; i < count; i++ {
			m, err := recvWait(reader.o, reader.p)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			err = checkSeq(m.Frame(0), uint64(i), size)
			m.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkPauses(t, r, cfg, true)
}

// Monitoring events and operation errors print what they are about.
func TestEventAndErrorStrings(t *testing.T) {
	if s := EventHandshakeFailedProtocol.String(); s != "HANDSHAKE_FAILED_PROTOCOL" {
		t.Fatalf("%q", s)
	}
	if s := EventType(0x10000).String(); s != "EVENT(0x10000)" {
		t.Fatalf("%q", s)
	}
	e := Event{Type: EventDisconnected, Endpoint: "tcp://127.0.0.1:5555", Remote: "127.0.0.1:40000", Err: ErrClosed}
	if s := e.String(); s != "DISCONNECTED tcp://127.0.0.1:5555 remote=127.0.0.1:40000 err=zmq: closed" {
		t.Fatalf("%q", s)
	}
	if s := (Event{Type: EventListening, Endpoint: "ipc:///x"}).String(); s != "LISTENING ipc:///x" {
		t.Fatalf("%q", s)
	}
}

// Bind failures: an address in use (an *OpError naming the endpoint, and a BIND_FAILED event), a
// malformed endpoint, a transport zloop lacks, a directory that does not exist. Connect refuses
// what it cannot dial.
func TestListenErrors(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	o := newOwner(t, "pull")
	ep := "tcp://" + taken.Addr().String()
	_, err = r.Listen(ep, testOptions("PULL"), o)
	var oe *OpError
	if !errors.Is(err, ErrAddrInUse) || !errors.As(err, &oe) || oe.Op != "bind" || oe.Endpoint != ep {
		t.Fatalf("bind to a taken port: %v", err)
	}
	if want := "bind " + ep + ": zmq: address in use"; err.Error() != want {
		t.Fatalf("%q, want %q", err.Error(), want)
	}
	if e := o.waitEvent(t, EventBindFailed); !errors.Is(e.Err, ErrAddrInUse) || e.Endpoint != ep {
		t.Fatalf("%v", e)
	}

	missing := "ipc://" + filepath.Join(t.TempDir(), "no", "such", "dir.sock")
	if _, err := r.Listen(missing, testOptions("PULL"), o); err == nil || errors.Is(err, ErrAddrInUse) {
		t.Fatalf("bind in a missing directory: %v", err)
	}
	o.waitEvent(t, EventBindFailed)

	for _, c := range []struct {
		ep   string
		want error
	}{
		{"tcp://127.0.0.1", ErrBadEndpoint},
		{"nope://x", ErrBadEndpoint},
		{"pgm://eth0;239.192.1.1:5555", ErrTransport},
	} {
		if _, err := r.Listen(c.ep, testOptions("PULL"), o); !errors.Is(err, c.want) {
			t.Errorf("Listen %s: %v, want %v", c.ep, err, c.want)
		}
		if _, err := r.Connect(c.ep, testOptions("PUSH"), o); !errors.Is(err, c.want) {
			t.Errorf("Connect %s: %v, want %v", c.ep, err, c.want)
		}
	}
	for _, ep := range []string{"tcp://*:5555", "tcp://127.0.0.1:0", "ipc://*"} {
		if _, err := r.Connect(ep, testOptions("PUSH"), o); !errors.Is(err, ErrBadEndpoint) {
			t.Errorf("Connect %s: %v", ep, err)
		}
	}
}

// A socket file left behind by a process that died is replaced by a new bind, as libzmq does; the
// file goes away when the listener closes.
func TestStaleIPCSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("no stale file: %v", err)
	}
	r := newTestReactor(t, Config{Loops: 1})
	bo := newOwner(t, "pull")
	l := listen(t, r, "ipc://"+path, testOptions("PULL"), bo)
	if l.Endpoint() != "ipc://"+path {
		t.Fatalf("endpoint %q", l.Endpoint())
	}
	co := newOwner(t, "push")
	connect(t, r, l.Endpoint(), testOptions("PUSH"), co)
	bp := bo.waitAttached(t)
	send(t, co, co.waitAttached(t), []byte("through"))
	if m := recv(t, bo, bp); string(m[0]) != "through" {
		t.Fatalf("got %q", m)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the socket file outlived its listener: %v", err)
	}
}

// The default reactor is started once, and started again after it was shut down.
func TestDefaultReactor(t *testing.T) {
	a, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := Default(); err != nil || b != a {
		t.Fatalf("a second default reactor: %v", err)
	}
	if err := ShutdownDefault(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !a.Terminated() {
		t.Fatal("the default reactor was not shut down")
	}
	b, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if b == a {
		t.Fatal("a shut down default reactor was handed out again")
	}
	if err := CloseDefault(); err != nil {
		t.Fatal(err)
	}
	if err := CloseDefault(); err != nil {
		t.Fatalf("closing no default reactor: %v", err)
	}
}

// Reactor.Stats sums the loops' counters: with a pipe on each of two loops it counts what both
// pipes' own counters count.
func TestReactorStatsSumLoops(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 2})
	var a, b Counters
	ka := pair(t, r, "tcp", testOptions("PULL"), pushOptions(&a))
	kb := pair(t, r, "tcp", testOptions("PULL"), pushOptions(&b))
	for i := 0; i < 100; i++ {
		send(t, ka.co, ka.cp, []byte("a"))
		send(t, kb.co, kb.cp, []byte("b"))
	}
	for i := 0; i < 100; i++ {
		recv(t, ka.bo, ka.bp)
		recv(t, kb.bo, kb.bp)
	}
	sa, sb, sr := a.Stats(), b.Stats(), r.Stats()
	if sa.Writes == 0 || sb.Writes == 0 {
		t.Fatal("a pipe's counters counted no write")
	}
	if sr.Writes < sa.Writes+sb.Writes || sr.BytesInline < sa.BytesInline+sb.BytesInline {
		t.Fatalf("the reactor counts %+v, the pipes %+v and %+v", sr, sa, sb)
	}
}

// A loop serves several peers once it reads a third connection sharedReads times within
// sharedWindow, and for sharedWindow after; its first two connections, reading the same one again,
// or going back and forth between two do not count.
func TestLoopServing(t *testing.T) {
	l := &loop{}
	a, b, c := new(conn), new(conn), new(conn)
	if l.serving(time.Now().UnixNano()) {
		t.Fatal("a loop that read nothing serves peers")
	}
	for _, x := range []*conn{a, b, b, a, a, b, a} {
		l.noteRead(x)
	}
	if l.serving(time.Now().UnixNano()) {
		t.Fatal("going back and forth between two connections counted as serving several peers")
	}
	l.noteRead(c)
	if l.serving(time.Now().UnixNano()) {
		t.Fatal("one read of a third connection counted as serving several peers")
	}
	// Three in turn: each read is of a third connection. Reads a few nanoseconds apart reach
	// sharedReads within one window; a test descheduled for a window restarts the count, so it
	// reads on for a while rather than count on exactly sharedReads.
	for i := 0; i < 100*sharedReads && !l.serving(time.Now().UnixNano()); i++ {
		l.noteRead([]*conn{a, b, c}[i%3])
	}
	at := l.switchAt.Load()
	if at == 0 || !l.serving(at) {
		t.Fatal("a loop reading three connections in turn does not serve several peers")
	}
	if l.serving(at + int64(sharedWindow)) {
		t.Fatal("the loop still serves several peers a window after it last found it did")
	}
}

// loopPair connects a PUSH pipe to a PULL pipe over tcp on a reactor of one loop, and returns the
// loop and a sequence sender on the PUSH side that counts its direct writes.
func loopPair(t *testing.T) (*Reactor, *link, *loop, *seqSender) {
	t.Helper()
	r := newTestReactor(t, Config{Loops: 1})
	sc := new(Counters)
	k := pair(t, r, "tcp", testOptions("PULL"), pushOptions(sc))
	k.cp.mu.Lock()
	l := k.cp.conn.loop
	k.cp.mu.Unlock()
	return r, k, l, &seqSender{t: t, k: k, sc: sc}
}

// A loop serving several peers passes its waker's turn once, to the back of the ready descriptors,
// and runs the posted tasks at the next: everything queued is still written, in order. A loop that
// does not serve runs them at once.
func TestServingLoopPassesWakerTurnOnce(t *testing.T) {
	r, k, l, q := loopPair(t)
	for i := 0; i < 5; i++ {
		q.next(k.cp.TrySendLoop) // posted to the waker, whose turn runs it
	}
	if n := r.Stats().PassedTurns; n != 0 {
		t.Fatalf("a loop reading one peer passed its waker's turn %d times", n)
	}
	l.switchAt.Store(time.Now().Add(time.Hour).UnixNano()) // serving others while the test runs
	const n = 20
	for i := 0; i < n; i++ {
		q.next(k.cp.TrySendLoop)
	}
	if p := r.Stats().PassedTurns; p < n || p > 2*n {
		t.Fatalf("%d messages each posted alone to a serving loop's waker passed %d turns, want one each", n, p)
	}
	l.switchAt.Store(0)
}

// While the connection's loop serves other peers, an idle connection's send is left to the loop;
// once it serves this one peer alone, the sender writes it again. Everything arrives in order.
func TestNoDirectWriteWhileLoopServesOthers(t *testing.T) {
	_, k, l, q := loopPair(t)
	next := func() bool { return q.next(k.cp.TrySend) }
	next() // the loop's last read is now the PULL side's, the only connection it reads from here on
	// Serving others, for as long as the test runs: the switch an hour ahead.
	l.switchAt.Store(time.Now().Add(time.Hour).UnixNano())
	for i := 0; i < 20; i++ {
		if next() {
			t.Fatalf("message %d: written by the sender while the loop serves other peers", i)
		}
	}
	l.switchAt.Store(0)
	waitFor(t, "a direct write once the loop serves one peer", next)
}
