package reactor

// The seed's engine tests, in Go form: speculative (inline) write, async fallback under
// backpressure, buffer lifetime, and batching. Moved here from package sockets: they test the
// reactor's write path, which a socket only reaches through TrySend.

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/pool"
)

// pushOptions are a PUSH socket's pipe options with libzmq's default HWMs, counting its writes in
// sc (a socket's Stats).
func pushOptions(sc *Counters) *Options {
	o := testOptions("PUSH", "PULL")
	o.SndHWM, o.RcvHWM, o.Counters = 1000, 1000, sc
	return o
}

// (1) With a reading peer, every byte goes to the kernel inline: nothing enters gnet's outbound buffer.
func TestEngineInlineWrite(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var sc Counters
	o := newOwner(t, "push")
	l := listen(t, r, "tcp://127.0.0.1:*", pushOptions(&sc), o)
	peer := rawDial(t, l.Endpoint(), "PULL")
	p := o.waitAttached(t)
	before := sc.Stats()
	const n, size = 500, 64
	for i := 0; i < n; i++ {
		send(t, o, p, seqMsg(uint64(i), size))
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(m[0], uint64(i), size); err != nil {
			t.Fatal(err)
		}
	}
	// The loop counts a write just after the kernel took it, maybe after the peer read it.
	waitFor(t, "every byte counted", func() bool {
		return sc.Stats().BytesInline-before.BytesInline >= n*(size+2)
	})
	if q := sc.Stats().BytesQueued - before.BytesQueued; q != 0 {
		t.Fatalf("%d bytes went through gnet's outbound buffer with a reading peer", q)
	}
}

// stalledPush binds a PUSH pipe with a 4 KiB SO_SNDBUF and connects a raw PULL peer that reads only
// when the test makes it: the kernel soon refuses data, and gnet has to hold it. edit adjusts the
// options first.
func stalledPush(t *testing.T, r *Reactor, sc *Counters, edit func(*Options)) (*testOwner, *Pipe, *zmtptest.Peer) {
	t.Helper()
	opts := pushOptions(sc)
	opts.SndBuf = 4096
	if edit != nil {
		edit(opts)
	}
	o := newOwner(t, "push")
	l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
	peer := rawDial(t, l.Endpoint(), "PULL")
	return o, o.waitAttached(t), peer
}

// (2)+(3) With a tiny kernel buffer and a peer that does not read, data is queued; when the peer
// reads, every byte arrives intact and in order. Frames of every size class, including bodies large
// enough for writev straight from the message, check that no buffer is reused while gnet or the
// kernel still needs it (pool poisoning is on under -race and here).
func TestEngineQueuedThenDelivered(t *testing.T) {
	pool.SetDebug(true)
	defer pool.SetDebug(false)
	var sc Counters
	o, p, peer := stalledPush(t, newTestReactor(t, Config{Loops: 1}), &sc, nil)
	sizes := []int{8, 100, 1000, 9000, 70000}
	const n = 400
	before := sc.Stats()
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := trySendWait(o, p, newMsg(seqMsg(uint64(i), sizes[i%len(sizes)]))); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	waitFor(t, "bytes queued in gnet while the peer does not read", func() bool {
		return sc.Stats().BytesQueued > before.BytesQueued
	})
	for i := 0; i < n; i++ {
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m) != 1 {
			t.Fatalf("message %d has %d frames", i, len(m))
		}
		if err := checkSeq(m[0], uint64(i), sizes[i%len(sizes)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// A sender on an idle connection writes directly to the socket. When the kernel stops taking the
// data (a tiny SNDBUF, a peer that does not read), a direct write comes up short, the loop writes its
// rest ahead of anything newer, and what the kernel refuses then waits in gnet. When the peer reads,
// everything arrives intact and in order, and once gnet has drained, idle sends are direct again.
func TestEngineSenderWrites(t *testing.T) {
	pool.SetDebug(true)
	defer pool.SetDebug(false)
	var sc Counters
	o, p, peer := stalledPush(t, newTestReactor(t, Config{Loops: 1}), &sc, nil)
	waitFor(t, "the handshake", func() bool { return sc.Stats().Writes > 0 })
	const size, max = 1000, 20000
	before := sc.Stats()
	backlog := func() bool {
		st := sc.Stats()
		return st.SenderShort > before.SenderShort && st.BytesQueued > before.BytesQueued
	}
	n := 0
	for ; n < max && !backlog(); n++ {
		sentAt := time.Now()
		send(t, o, p, seqMsg(uint64(n), size))
		idleFor(t, sentAt, 100*time.Microsecond)
	}
	st := sc.Stats()
	t.Logf("%d messages: %d direct writes, %d short, %d bytes queued in gnet", n,
		st.SenderWrites-before.SenderWrites, st.SenderShort-before.SenderShort, st.BytesQueued-before.BytesQueued)
	if !backlog() || st.SenderWrites == before.SenderWrites {
		t.Fatal("no direct write came up short into a backlog")
	}
	const more = 50 // some queued behind the backlog
	for i := n; i < n+more; i++ {
		send(t, o, p, seqMsg(uint64(i), size))
	}
	for i := 0; i < n+more; i++ {
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m) != 1 {
			t.Fatalf("message %d has %d frames", i, len(m))
		}
		if err := checkSeq(m[0], uint64(i), size); err != nil {
			t.Fatal(err)
		}
	}
	// gnet drains, the loop notices (it polls a blocked connection), and idle sends are direct again.
	seq := uint64(n + more)
	waitFor(t, "a direct write after the backlog", func() bool {
		sentAt := time.Now()
		before := sc.Stats().SenderWrites
		send(t, o, p, seqMsg(seq, size))
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(m[0], seq, size); err != nil {
			t.Fatal(err)
		}
		seq++
		idleFor(t, sentAt, 100*time.Microsecond)
		return sc.Stats().SenderWrites > before
	})
}

// Bursts (batched by the loop) and lone messages after idle gaps (written directly by the sender)
// interleave on one connection in every order; the receiver gets every message once, in order.
func TestEngineDirectAndBatchedInOrder(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var sc Counters
	pullOpts := testOptions("PULL", "PUSH")
	pullOpts.SndHWM, pullOpts.RcvHWM = 1000, 1000
	k := pair(t, r, "tcp", pullOpts, pushOptions(&sc))
	before := sc.Stats()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 6000
	got := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			m, err := recvWait(k.bo, k.bp)
			if err == nil {
				err = checkSeq(m.Frame(0), uint64(i), len(m.Frame(0)))
				m.Release()
			}
			if err != nil {
				got <- fmt.Errorf("message %d: %w", i, err)
				return
			}
		}
		got <- nil
	}()
	for i := 0; i < n; {
		burst := 1 + rng.IntN(40)
		if rng.IntN(2) == 0 {
			burst = 1
		}
		var sentAt time.Time
		for j := 0; j < burst && i < n; j, i = j+1, i+1 {
			sentAt = time.Now()
			send(t, k.co, k.cp, seqMsg(uint64(i), 8+rng.IntN(3000)))
		}
		if rng.IntN(3) == 0 {
			idleFor(t, sentAt, 50*time.Microsecond)
		}
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	st := sc.Stats()
	direct := st.SenderWrites - before.SenderWrites
	t.Logf("%d messages, %d writes, %d of them direct", n, st.Writes-before.Writes, direct)
	if direct == 0 || direct >= st.Writes-before.Writes {
		t.Fatal("the run did not mix direct and loop writes")
	}
}

// (4) Thousands of small messages cost far fewer write syscalls than messages: a backlog queued
// before the peer is up goes out in out-batch-sized writes.
func TestEngineBatching(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var sc Counters
	opts := pushOptions(&sc)
	opts.SndHWM = 20000
	o := newOwner(t, "push")
	const n = 10000
	d := connect(t, r, "tcp://"+ln.Addr().String(), opts, o)
	for i := 0; i < n; i++ {
		send(t, o, d.Pipe(), seqMsg(uint64(i), 64))
	}
	before := sc.Stats()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	peer := zmtptest.New(c, "PULL")
	t.Cleanup(func() { _ = c.Close() })
	if err := peer.Handshake(waitLimit); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(m[0], uint64(i), 64); err != nil {
			t.Fatal(err)
		}
	}
	writes := sc.Stats().Writes - before.Writes
	t.Logf("%d messages in %d writes", n, writes)
	if min := uint64(n * 66 / outBatch); writes > min+min/10+4 {
		t.Fatalf("%d writes for %d messages of 64 B: not batched (want about %d)", writes, n, min)
	}
}

// A pipe closed with a linger while gnet still holds output below sendBound for a peer that does not
// read: the loop keeps checking the lingering connection, so the deadline closes it and the
// reactor's Close (which waits for lingering connections) returns.
func TestLingerDeadlineWithOutputInGnet(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var sc Counters
	o := newOwner(t, "push")
	opts := pushOptions(&sc)
	opts.SndBuf = 4096
	l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
	peer := rawDial(t, l.Endpoint(), "PULL") // never reads
	if err := peer.Conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	p := o.waitAttached(t)
	before := sc.Stats()
	for i := 0; i < 250; i++ { // 250 KB: more than the kernel takes, below sendBound
		send(t, o, p, make([]byte, 1000))
	}
	waitFor(t, "output held in gnet", func() bool { return sc.Stats().BytesQueued > before.BytesQueued })
	// As a socket closes: its accepted pipes with its linger, then its listeners.
	p.Close(100 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the reactor did not close: the lingering connection outlived its deadline")
	}
}
