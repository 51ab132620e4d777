package sockets

// The seed's engine tests, in Go form: speculative (inline) write, async fallback under
// backpressure, buffer lifetime, and batching.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
}

func rawDial(t testing.TB, ep, sockType string) *zmtptest.Peer {
	t.Helper()
	network, addr := "tcp", strings.TrimPrefix(ep, "tcp://")
	if path, ok := strings.CutPrefix(ep, "ipc://"); ok {
		network, addr = "unix", path
	}
	p, err := zmtptest.Dial(network, addr, sockType, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Conn.Close() })
	return p
}

// seqMsg is frame of size n whose first bytes hold seq and whose rest is a pattern derived from it.
func seqMsg(seq uint64, n int) []byte {
	b := make([]byte, n)
	fillSeq(b, seq)
	return b
}

func fillSeq(b []byte, seq uint64) {
	var tmp [8]byte
	binary.LittleEndian.PutUint64(tmp[:], seq)
	copy(b, tmp[:])
	for i := 8; i < len(b); i++ {
		b[i] = byte(seq) ^ byte(i)
	}
}

func checkSeq(b []byte, seq uint64, n int) error {
	if len(b) != n {
		return fmt.Errorf("seq %d: size %d, want %d", seq, len(b), n)
	}
	want := seqMsg(seq, n)
	for i := range b {
		if b[i] != want[i] {
			return fmt.Errorf("seq %d: byte %d is %#x, want %#x", seq, i, b[i], want[i])
		}
	}
	return nil
}

// (1) With a reading peer, every byte goes to the kernel inline: nothing enters gnet's outbound buffer.
func TestEngineInlineWrite(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	push := newSocket(t, r, Push)
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	peer := rawDial(t, ep, "PULL")
	before := push.Stats()
	const n, size = 500, 64
	for i := 0; i < n; i++ {
		if err := push.Send(ctx, seqMsg(uint64(i), size)); err != nil {
			t.Fatal(err)
		}
		m, err := peer.Recv(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(m[0], uint64(i), size); err != nil {
			t.Fatal(err)
		}
	}
	// The loop counts a write just after the kernel took it, maybe after the peer read it.
	waitFor(t, "every byte counted", func() bool {
		return push.Stats().BytesInline-before.BytesInline >= n*(size+2)
	})
	if q := push.Stats().BytesQueued - before.BytesQueued; q != 0 {
		t.Fatalf("%d bytes went through gnet's outbound buffer with a reading peer", q)
	}
}

// stalledPush binds a PUSH with a 4 KiB SO_SNDBUF and connects a raw PULL peer that reads only when
// the test makes it: the kernel soon refuses data, and gnet has to hold it.
func stalledPush(t *testing.T, r *reactor.Reactor, opts ...Option) (*Socket, *zmtptest.Peer) {
	t.Helper()
	push := newSocket(t, r, Push, append([]Option{func(o *Options) { o.SndBuf = 4096 }}, opts...)...)
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	return push, rawDial(t, ep, "PULL")
}

// (2)+(3) With a tiny kernel buffer and a peer that does not read, data is queued; when the peer
// reads, every byte arrives intact and in order. Frames of every size class, including bodies large
// enough for writev straight from the message, check that no buffer is reused while gnet or the
// kernel still needs it (pool poisoning is on under -race and here).
func TestEngineQueuedThenDelivered(t *testing.T) {
	pool.SetDebug(true)
	defer pool.SetDebug(false)
	ctx := testCtx(t)
	push, peer := stalledPush(t, newReactor(t))
	sizes := []int{8, 100, 1000, 9000, 70000}
	const n = 400
	before := push.Stats()
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := push.Send(ctx, seqMsg(uint64(i), sizes[i%len(sizes)])); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	waitFor(t, "bytes queued in gnet while the peer does not read", func() bool {
		return push.Stats().BytesQueued > before.BytesQueued
	})
	for i := 0; i < n; i++ {
		m, err := peer.Recv(10 * time.Second)
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

// idleFor returns once d has passed since t. It does not synchronise with anything: a connection
// that has been idle for a while is the scenario under test (a sender writes directly then).
func idleFor(t *testing.T, since time.Time, d time.Duration) {
	waitFor(t, "the connection idle", func() bool { return time.Since(since) >= d })
}

// A sender on an idle connection writes directly to the socket. When the kernel stops taking the
// data (a tiny SNDBUF, a peer that does not read), a direct write comes up short, the loop writes its
// rest ahead of anything newer, and what the kernel refuses then waits in gnet. When the peer reads,
// everything arrives intact and in order, and once gnet has drained, idle sends are direct again.
func TestEngineSenderWrites(t *testing.T) {
	pool.SetDebug(true)
	defer pool.SetDebug(false)
	ctx := testCtx(t)
	push, peer := stalledPush(t, newReactor(t))
	waitFor(t, "the handshake", func() bool { return push.Stats().Writes > 0 })
	const size, max = 1000, 20000
	before := push.Stats()
	backlog := func() bool {
		st := push.Stats()
		return st.SenderShort > before.SenderShort && st.BytesQueued > before.BytesQueued
	}
	n := 0
	for ; n < max && !backlog(); n++ {
		sentAt := time.Now()
		if err := push.Send(ctx, seqMsg(uint64(n), size)); err != nil {
			t.Fatal(err)
		}
		idleFor(t, sentAt, 100*time.Microsecond)
	}
	st := push.Stats()
	t.Logf("%d messages: %d direct writes, %d short, %d bytes queued in gnet", n,
		st.SenderWrites-before.SenderWrites, st.SenderShort-before.SenderShort, st.BytesQueued-before.BytesQueued)
	if !backlog() || st.SenderWrites == before.SenderWrites {
		t.Fatal("no direct write came up short into a backlog")
	}
	const more = 50 // some queued behind the backlog
	for i := n; i < n+more; i++ {
		if err := push.Send(ctx, seqMsg(uint64(i), size)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n+more; i++ {
		m, err := peer.Recv(10 * time.Second)
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
		before := push.Stats().SenderWrites
		if err := push.Send(ctx, seqMsg(seq, size)); err != nil {
			t.Fatal(err)
		}
		m, err := peer.Recv(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(m[0], seq, size); err != nil {
			t.Fatal(err)
		}
		seq++
		idleFor(t, sentAt, 100*time.Microsecond)
		return push.Stats().SenderWrites > before
	})
}

// Bursts (batched by the loop) and lone messages after idle gaps (written directly by the sender)
// interleave on one connection in every order; the receiver gets every message once, in order.
func TestEngineDirectAndBatchedInOrder(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull, push := tcpPair(t, r, Pull, nil, Push, nil)
	before := push.Stats()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 6000
	got := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			m, err := pull.Recv(ctx)
			if err == nil {
				err = checkSeq(m[0], uint64(i), len(m[0]))
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
			if err := push.Send(ctx, seqMsg(uint64(i), 8+rng.IntN(3000))); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(3) == 0 {
			idleFor(t, sentAt, 50*time.Microsecond)
		}
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	st := push.Stats()
	direct := st.SenderWrites - before.SenderWrites
	t.Logf("%d messages, %d writes, %d of them direct", n, st.Writes-before.Writes, direct)
	if direct == 0 || direct >= st.Writes-before.Writes {
		t.Fatal("the run did not mix direct and loop writes")
	}
}

func pipeCount(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pipes)
}

// A PUB with one subscriber writes directly when idle; with two, the loops write (a publisher must not
// make a system call per subscriber).
func TestEngineFanOutLeavesWritesToLoops(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pub := newSocket(t, r, Pub)
	ep, err := pub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	var subs []*Socket
	publish := func(n int) uint64 {
		t.Helper()
		before := pub.Stats().SenderWrites
		for i := 0; i < n; i++ {
			sentAt := time.Now()
			if err := pub.Send(ctx, []byte("tick")); err != nil {
				t.Fatal(err)
			}
			for _, s := range subs {
				if m, err := s.Recv(ctx); err != nil || string(m[0]) != "tick" {
					t.Fatalf("subscriber got %q, %v", m, err)
				}
			}
			idleFor(t, sentAt, 100*time.Microsecond)
		}
		return pub.Stats().SenderWrites - before
	}
	for len(subs) < 2 {
		sub := newSocket(t, r, Sub)
		if err := sub.Subscribe(nil); err != nil {
			t.Fatal(err)
		}
		if err := sub.Connect(ep); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
		// The subscription reaches the PUB some time after the connection: until then it drops.
		waitFor(t, "the subscription", func() bool {
			if err := pub.Send(ctx, []byte("probe")); err != nil {
				t.Fatal(err)
			}
			m, err := sub.Recv(withTimeout(t, 20*time.Millisecond))
			return err == nil && string(m[0]) == "probe"
		})
		for _, s := range subs { // drain the probes the others got
			for {
				if _, err := s.Recv(withTimeout(t, 20*time.Millisecond)); err != nil {
					break
				}
			}
		}
	}
	if d := publish(20); d != 0 {
		t.Fatalf("%d direct writes with two subscribers", d)
	}
	subs[1].Close()
	waitFor(t, "the second subscriber gone", func() bool { return pipeCount(pub) == 1 })
	subs = subs[:1]
	if d := publish(20); d == 0 {
		t.Fatal("no direct write with one subscriber")
	}
}

// (4) Thousands of small messages cost far fewer write syscalls than messages: a backlog queued
// before the peer is up goes out in out-batch-sized writes.
func TestEngineBatching(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	push := newSocket(t, r, Push, WithSndHWM(20000))
	const n = 10000
	if err := push.Connect("tcp://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m := pool.NewMsg()
		m.AppendFrame(seqMsg(uint64(i), 64))
		if err := push.SendMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	before := push.Stats()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	peer := zmtptest.New(c, "PULL")
	t.Cleanup(func() { _ = c.Close() })
	if err := peer.Handshake(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m, err := peer.Recv(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSeq(m[0], uint64(i), 64); err != nil {
			t.Fatal(err)
		}
	}
	writes := push.Stats().Writes - before.Writes
	t.Logf("%d messages in %d writes", n, writes)
	if min := uint64(n * 66 / outBatchForTest); writes > min+min/10+4 {
		t.Fatalf("%d writes for %d messages of 64 B: not batched (want about %d)", writes, n, min)
	}
}

// outBatchForTest mirrors the reactor's out-batch size (8 KiB, libzmq's out_batch_size).
const outBatchForTest = 8 << 10

var _ = context.Background

// A socket closed with LINGER while gnet still holds output below sendBound for a peer that does not
// read: the loop keeps checking the lingering connection, so the deadline closes it and the
// reactor's Close (which waits for lingering connections) returns.
func TestLingerDeadlineWithOutputInGnet(t *testing.T) {
	r, err := reactor.New(reactor.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	push, err := NewOn(r, Push, WithLinger(100*time.Millisecond), func(o *Options) { o.SndBuf = 4096 })
	if err != nil {
		t.Fatal(err)
	}
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	peer := rawDial(t, ep, "PULL") // never reads
	if err := peer.Conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	before := push.Stats()
	for i := 0; i < 250; i++ { // 250 KB: more than the kernel takes, below sendBound
		if err := push.Send(ctx, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "output held in gnet", func() bool { return push.Stats().BytesQueued > before.BytesQueued })
	if err := push.Close(); err != nil {
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
