package sockets

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// Large messages: received into their final buffer, sent by reference when the kernel refuses part
// of them (reactor's conn.part), in order and in bounded memory.

// largeMsg is message i of a test: frames whose sizes cycle through small and large ones, each byte
// derived from (i, frame, offset), so that a frame out of place or a byte out of order shows.
func largeMsg(i int) [][]byte {
	shapes := [][]int{
		{1<<20 + 7},
		{100},
		{3 << 20, 5, 1 << 20},
		{64 << 10},
		{0, 2<<20 + 1},
		{7, 4<<20 + 9}, // at least reactor's loopWriteMin: written by the loop alone
	}
	shape := shapes[i%len(shapes)]
	frames := make([][]byte, len(shape))
	for j, n := range shape {
		f := make([]byte, n)
		for k := range f {
			f[k] = byte(i*31 + j*7 + k/251)
		}
		if n >= 4 {
			binary.BigEndian.PutUint32(f, uint32(i))
		}
		frames[j] = f
	}
	return frames
}

func checkLargeMsg(t *testing.T, i int, got [][]byte) {
	t.Helper()
	want := largeMsg(i)
	if len(got) != len(want) {
		t.Fatalf("message %d: %d frames, want %d", i, len(got), len(want))
	}
	for j := range want {
		if !bytes.Equal(got[j], want[j]) {
			seq := -1
			if len(got[j]) >= 4 {
				seq = int(binary.BigEndian.Uint32(got[j]))
			}
			t.Fatalf("message %d, frame %d: %d bytes (of message %d?), want %d bytes", i, j, len(got[j]), seq, len(want[j]))
		}
	}
}

var largeTransports = []struct {
	name, ep string
	bound    bool // the sender binds (over ws: the server writes; connecting, the client masks)
}{
	{"tcp", "tcp://127.0.0.1:*", false},
	{"ipc", "ipc://*", false},
	{"ws/client-sends", "ws://127.0.0.1:*/zmq", false},
	{"ws/server-sends", "ws://127.0.0.1:*/zmq", true},
}

// pushPull makes a PUSH and a PULL over ep, the PUSH binding when pushBinds.
func pushPull(t *testing.T, r *reactor.Reactor, ep string, pushBinds bool, po, lo []Option) (push, pull *Socket) {
	t.Helper()
	push, pull = newSocket(t, r, Push, po...), newSocket(t, r, Pull, lo...)
	binder, connecter := pull, push
	if pushBinds {
		binder, connecter = push, pull
	}
	bound, err := binder.Bind(ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := connecter.Connect(bound); err != nil {
		t.Fatal(err)
	}
	return push, pull
}

// Large messages mixed with small ones reach a slow reader whole and in order over every stream
// transport: the kernel refuses parts of the large bodies, which the sender then writes from the
// message as the socket drains, and nothing overtakes them. With heartbeats, both sides send one
// every millisecond (and answer) while a body is held; without them, over TCP, the reader's socket
// wakes its loop in bulks (reactor's receive low-water mark), which must never hold a message back.
func TestLargeInOrder(t *testing.T) {
	for _, tr := range largeTransports {
		for _, heartbeats := range []bool{true, false} {
			name := tr.name
			if !heartbeats {
				if strings.HasPrefix(tr.ep, "ipc://") {
					continue // a unix socket's poll ignores the mark: nothing to add to the run above
				}
				name += "/no-heartbeats"
			}
			t.Run(name, func(t *testing.T) {
				r := newReactorWith(t, reactor.Config{Loops: 2})
				ctx := testCtx(t)
				po, lo := []Option{WithSndHWM(4)}, []Option{WithRcvHWM(2)}
				if heartbeats {
					hb := WithHeartbeat(time.Millisecond, time.Minute, time.Minute)
					po, lo = append(po, hb), append(lo, hb)
				}
				push, pull := pushPull(t, r, tr.ep, tr.bound, po, lo)
				sendLargeInOrder(t, ctx, push, pull, 40)
				st, rs := push.Stats(), pull.Stats()
				t.Logf("sender: %d held bodies, %d writes; receiver: %d direct reads, %d low-water waits",
					st.HeldBodies, st.Writes, rs.DirectReads, rs.LowWaterWaits)
				if runtime.GOOS == "linux" && (st.HeldBodies == 0 || rs.DirectReads == 0) {
					t.Fatalf("no body held (%d) or no direct read (%d): the paths under test did not run", st.HeldBodies, rs.DirectReads)
				}
			})
		}
	}
}

// fillUntilBlocked sends largeMsg(0), largeMsg(1), ... until a Send has waited for room for a
// while: the peer reads nothing, so its queue, both kernels' buffers and the sender's queue are full,
// and the sender's connection holds a large body. It returns how many were sent.
func fillUntilBlocked(t *testing.T, ctx context.Context, push *Socket) int {
	t.Helper()
	for i := 0; ; i++ {
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := push.Send(sctx, largeMsg(i)...)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			if runtime.GOOS == "linux" && push.Stats().HeldBodies == 0 {
				t.Fatalf("blocked after %d messages with no body held", i)
			}
			return i
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 1000 {
			t.Fatal("1000 large messages sent to a peer that reads none")
		}
	}
}

// A socket closed while the kernel holds back part of a large body lingers until the body is
// written: the reader, which starts only after the close, gets every message.
func TestLargeLingerDelivers(t *testing.T) {
	for _, tr := range largeTransports {
		t.Run(tr.name, func(t *testing.T) {
			r := newReactorWith(t, reactor.Config{Loops: 2})
			ctx := testCtx(t)
			push, pull := pushPull(t, r, tr.ep, tr.bound, []Option{WithLinger(-1), WithSndHWM(2)}, []Option{WithRcvHWM(1)})
			n := fillUntilBlocked(t, ctx, push)
			if err := push.Close(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				got, err := pull.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				checkLargeMsg(t, i, got)
			}
		})
	}
}

// When LINGER runs out with a body held, the rest is dropped, counted in the monitor's event, and
// the message released (a race build would panic on a second release or a use after it).
func TestLargeLingerExpires(t *testing.T) {
	r := newReactorWith(t, reactor.Config{Loops: 2})
	ctx := testCtx(t)
	push, _ := pushPull(t, r, "tcp://127.0.0.1:*", false, []Option{WithLinger(50 * time.Millisecond), WithSndHWM(2)}, []Option{WithRcvHWM(1)})
	events := push.Monitor(64)
	fillUntilBlocked(t, ctx, push)
	if err := push.Close(); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	if !errors.Is(e.Err, ErrLingerExpired) || strings.Contains(e.Err.Error(), " 0 bytes") {
		t.Fatalf("disconnected with %v, want the linger's expiry with bytes not sent", e.Err)
	}
}

// The peer goes away while a body is held: the connection ends, the message is released, and a
// new peer on the same endpoint gets what is sent next.
func TestLargePeerGoneWhileHeld(t *testing.T) {
	r := newReactorWith(t, reactor.Config{Loops: 2})
	ctx := testCtx(t)
	push := newSocket(t, r, Push, WithSndHWM(2))
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	events := push.Monitor(64)
	pull := newSocket(t, r, Pull, WithRcvHWM(1))
	if err := pull.Connect(ep); err != nil {
		t.Fatal(err)
	}
	sendCtx, cancel := context.WithCancel(ctx)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; sendCtx.Err() == nil; i++ {
			if push.Send(sendCtx, largeMsg(0)...) != nil {
				return
			}
		}
	}()
	if runtime.GOOS == "linux" {
		waitFor(t, "a held body", func() bool { return push.Stats().HeldBodies > 0 })
	}
	if err := pull.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	cancel()
	<-sent
	pull2 := newSocket(t, r, Pull)
	if err := pull2.Connect(ep); err != nil {
		t.Fatal(err)
	}
	if err := push.Send(ctx, largeMsg(2)...); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := pull2.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == len(largeMsg(2)) {
			checkLargeMsg(t, 2, got)
			return
		}
		checkLargeMsg(t, 0, got) // queued before the first peer went away
	}
}

// Both sides send large messages and read slowly: each connection is muted (its reader is full)
// while it holds a body of its own. Nothing deadlocks, nothing is lost, nothing reorders.
func TestLargeBothWaysWhileMuted(t *testing.T) {
	r := newReactorWith(t, reactor.Config{Loops: 2})
	ctx := testCtx(t)
	a, b := tcpPair(t, r, Pair, []Option{WithRcvHWM(1), WithSndHWM(2)}, Pair, []Option{WithRcvHWM(1), WithSndHWM(2)})
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, s := range []*Socket{a, b} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := s.Send(ctx, largeMsg(i)...); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			// Start reading only once the reader is full and its connection stopped reading.
			for deadline := time.Now().Add(15 * time.Second); s.Stats().Pauses == 0; {
				if time.Now().After(deadline) {
					errs <- errors.New("the reader's connection never paused")
					return
				}
				time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
			}
			for i := 0; i < n; i++ {
				got, err := s.Recv(ctx)
				if err != nil {
					errs <- err
					return
				}
				want := largeMsg(i)
				if len(got) != len(want) || !bytes.Equal(got[len(got)-1], want[len(want)-1]) {
					errs <- fmt.Errorf("message %d differs", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The steady state of large messages allocates nothing, on both sides: the bodies go round their
// size classes, the sender's by reference and the receiver's read in place.
func TestZeroAllocLarge(t *testing.T) {
	if raceEnabled {
		t.Skip("the pool does not recycle under the race detector")
	}
	for _, tr := range largeTransports {
		t.Run(tr.name, func(t *testing.T) {
			r := newReactorWith(t, reactor.Config{Loops: 2})
			// Queues with room for a batch: the sender never waits for the reader, so one goroutine
			// can send the batch and then receive it.
			push, pull := pushPull(t, r, tr.ep, tr.bound, []Option{WithSndHWM(32)}, []Option{WithRcvHWM(32)})
			const batch = 20
			run := pooledBatch(t, push, pull, 1<<20, batch)
			// The pool starts with a body and a Msg for every message that can be alive at once:
			// a batch queued at the sender, a batch at the receiver and one being read. The peak
			// one schedule reaches is lower, and a warm-up that had seen a lower peak than the
			// window then reached left new bodies and Msgs in the measurement (CI once counted
			// 0.0115 allocations per message: 4 MiB, four bodies and their Msgs).
			prefill(1<<20, 2*batch+1)
			// The garbage of the tests before is collected first, so that no collection (which
			// empties every sync.Pool) is due in the middle of the measurement.
			runtime.GC()
			// Every queue, pool and ring reaches its working size, and so do the runtime's caches
			// (a contended lock allocates until the per-P sudog caches balance). How many bodies
			// are in flight at once varies with the scheduling of the two loops, so a fixed number
			// of warm-up runs sometimes left the peak to be reached in the measured window (about
			// one test in eight): warm up until 50 runs in a row allocate nothing, then measure.
			// Nothing here means under a kilobyte: a clock in gnet's worker pool (ants) allocates
			// 24 bytes twice a second whatever the data path does.
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			for i, quiet := 0, 0; i < 2000 && quiet < 50; i++ {
				last := ms.TotalAlloc
				run()
				runtime.ReadMemStats(&ms)
				if quiet++; ms.TotalAlloc-last >= 1<<10 {
					quiet = 0
				}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 100
			for i := 0; i < runs; i++ {
				run()
			}
			runtime.ReadMemStats(&after)
			per := float64(after.Mallocs-before.Mallocs) / (runs * batch)
			t.Logf("%.4f allocations, %.0f bytes per 1 MiB message, %d GCs", per, float64(after.TotalAlloc-before.TotalAlloc)/(runs*batch), after.NumGC-before.NumGC)
			if per > 0.01 {
				t.Errorf("%.3f allocations per 1 MiB message, want at most 0.01", per)
			}
		})
	}
}

// prefill leaves n bodies of size bytes, and n Msgs, in the pool.
func prefill(size, n int) {
	payload := make([]byte, size)
	msgs := make([]*pool.Msg, n)
	for i := range msgs {
		msgs[i] = pool.NewMsg()
		msgs[i].AppendFrame(payload)
	}
	for _, m := range msgs {
		m.Release()
	}
}

// PUB fans one large body out to slow subscribers: each peer's connection holds its share of the
// body while its kernel is full, and each subscriber gets whole messages, in order (a PUB drops
// what a full subscriber has no room for, as libzmq does).
func TestLargePubFanOut(t *testing.T) {
	r := newReactorWith(t, reactor.Config{Loops: 2})
	ctx := testCtx(t)
	pub := newSocket(t, r, Pub, WithSndHWM(4))
	ep, err := pub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	subs := make([]*Socket, 3)
	for i := range subs {
		subs[i] = newSocket(t, r, Sub, WithRcvHWM(2))
		if err := subs[i].Subscribe(nil); err != nil {
			t.Fatal(err)
		}
		if err := subs[i].Connect(ep); err != nil {
			t.Fatal(err)
		}
	}
	// Subscriptions travel after the handshake: send until every subscriber has one message.
	for i, s := range subs {
		waitFor(t, fmt.Sprintf("subscriber %d", i), func() bool {
			if err := pub.Send(ctx, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			_, err := s.Recv(sctx)
			return err == nil
		})
	}
	const n = 30
	for i := 0; i < n; i++ {
		if err := pub.Send(ctx, largeMsg(i)...); err != nil {
			t.Fatal(err)
		}
	}
	if runtime.GOOS == "linux" {
		waitFor(t, "a held body", func() bool { return pub.Stats().HeldBodies > 0 })
	}
	if err := pub.Send(ctx, []byte("end")); err != nil {
		t.Fatal(err)
	}
	for si, s := range subs {
		last, got := -1, 0
		for last < n-1 {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			m, err := s.Recv(sctx)
			cancel()
			if err != nil {
				break // "end" was dropped too: what came is checked
			}
			if len(m) == 1 && string(m[0]) == "hello" {
				continue
			}
			if len(m) == 1 && string(m[0]) == "end" {
				break
			}
			i := int(binary.BigEndian.Uint32(m[len(m)-1]))
			if i <= last || i >= n {
				t.Fatalf("subscriber %d: message %d after %d", si, i, last)
			}
			checkLargeMsg(t, i, m)
			last = i
			got++
		}
		if got == 0 {
			t.Fatalf("subscriber %d got none of %d large messages", si, n)
		}
		t.Logf("subscriber %d: %d of %d", si, got, n)
	}
}

// sendLargeInOrder sends n large messages (largeMsg) from push while pull is not reading yet, until
// the queues and the kernel's buffers are full and a large body is held (where the platform holds
// them), then reads and checks all n, whole and in order.
func sendLargeInOrder(t *testing.T, ctx context.Context, push, pull *Socket, n int) {
	t.Helper()
	errs := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := push.Send(ctx, largeMsg(i)...); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	if runtime.GOOS == "linux" {
		waitFor(t, "a held body", func() bool { return push.Stats().HeldBodies > 0 })
	}
	for i := 0; i < n; i++ {
		got, err := pull.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkLargeMsg(t, i, got)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
