package sockets

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// pipeLens sums the inbound and outbound queue lengths of s's pipes.
func pipeLens(s *Socket) (in, out int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.pipes {
		in += p.InLen()
		out += p.OutLen()
	}
	return in, out
}

func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// waitStalled waits until cond holds and none of counters has moved for a while: the senders that
// count in them are blocked in Send, held back by full queues and kernel buffers. (Queues at their
// HWM alone do not say so: the loop may still be handing messages to a kernel with room left.)
func waitStalled(t *testing.T, what string, cond func() bool, counters ...*atomic.Int64) {
	t.Helper()
	const stallFor = 200 * time.Millisecond
	last := make([]int64, len(counters))
	since := time.Now()
	waitFor(t, what, func() bool {
		moved := false
		for i, c := range counters {
			if v := c.Load(); v != last[i] {
				last[i], moved = v, true
			}
		}
		if moved || !cond() {
			since = time.Now()
			return false
		}
		return time.Since(since) >= stallFor
	})
}

// pauseModes are the two ways a connection with a full reader stops reading: muted in epoll (the
// default on Linux) and detached from gnet (the portable fallback).
var pauseModes = []struct {
	name string
	cfg  reactor.Config
}{
	{"mute", reactor.Config{Loops: 1}},
	{"detach", portablePause(reactor.Config{Loops: 1})},
}

// portablePause returns cfg with the reactor's portable pause forced (detaching, never muting),
// which only this module can ask for.
func portablePause(cfg reactor.Config) reactor.Config {
	plumbing.PortablePause(&cfg)
	return cfg
}

// isPortablePause reports whether cfg forces the portable pause: forcing it again changes nothing.
func isPortablePause(cfg reactor.Config) bool { return cfg == portablePause(cfg) }

// checkPauses fails t unless the connections paused the way cfg asks: muted at once, or detached
// once gnet holds pauseSoftLimit bytes, which only a bulk transfer reaches.
func checkPauses(t *testing.T, r *reactor.Reactor, cfg reactor.Config, bulk bool) {
	t.Helper()
	st := r.Stats()
	ok := st.Pauses > 0 && st.Detaches == 0
	portable := isPortablePause(cfg)
	if portable {
		ok = st.Detaches == st.Pauses && (st.Detaches > 0 || !bulk)
	}
	if !ok {
		t.Fatalf("%d pauses, %d of them detaches, with the portable pause %v", st.Pauses, st.Detaches, portable)
	}
}

// A PULL that stops reading while a PUSH offers 1 GiB: the receiving side pauses (muted in epoll, or
// detached from gnet), TCP pushes back, the PUSH fills its HWM and blocks, and the heap stays at a
// few MiB plus the HWMs' worth of messages. Then the PULL reads again and all of it arrives intact
// and in order.
func TestBoundedMemorySlowReceiver(t *testing.T) {
	for _, mode := range pauseModes {
		t.Run(mode.name, func(t *testing.T) { testBoundedMemory(t, mode.cfg) })
	}
}

func testBoundedMemory(t *testing.T, cfg reactor.Config) {
	const (
		size = 64 << 10
		hwm  = 16
	)
	total := 1 << 30
	if raceEnabled {
		total = 256 << 20 // the full GiB runs in the non-race pass of the test command
	}
	count := total / size
	r := newReactorWith(t, cfg)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	pull := newSocket(t, r, Pull, WithHWM(hwm))
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, WithHWM(hwm))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	base := heapMiB()

	var sent atomic.Int64
	sendErr := make(chan error, 1)
	go func() {
		payload := make([]byte, size)
		for i := 0; i < count; i++ {
			binary.LittleEndian.PutUint64(payload, uint64(i))
			m := pool.NewMsg()
			m.AppendFrame(payload)
			if err := push.SendMsg(ctx, m); err != nil {
				m.Release()
				sendErr <- err
				return
			}
			sent.Add(1)
		}
		sendErr <- nil
	}()

	// Both queues full means everything between them (kernel buffers, gnet) is saturated too:
	// without pausing the reader, gnet would keep reading and the PUSH queue would never fill.
	waitStalled(t, "both HWMs reached and the PUSH blocked", func() bool {
		in, _ := pipeLens(pull)
		_, out := pipeLens(push)
		return in >= hwm && out >= hwm
	}, &sent)
	grown := heapMiB() - base
	offered := float64(sent.Load()) * size / (1 << 20)
	t.Logf("heap grew %.1f MiB with %.1f MiB accepted by the PUSH", grown, offered)
	hwmWorth := float64(2*hwm*size) / (1 << 20)
	if grown > 8+hwmWorth {
		t.Fatalf("heap grew %.1f MiB: more than 8 MiB plus the HWMs' %.1f MiB", grown, hwmWorth)
	}
	if offered > 64 {
		t.Fatalf("the PUSH accepted %.1f MiB while the PULL did not read", offered)
	}

	for i := 0; i < count; i++ {
		m, err := pull.RecvMsg(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Len() != 1 || len(m.Frame(0)) != size {
			t.Fatalf("message %d: %d frames, %d bytes", i, m.Len(), len(m.Frame(0)))
		}
		if got := binary.LittleEndian.Uint64(m.Frame(0)); got != uint64(i) {
			t.Fatalf("message %d carries sequence %d", i, got)
		}
		m.Release()
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	checkPauses(t, r, cfg, true)
}

// With RCVHWM 1 a full queue still pauses the connection (the low-water mark is below the HWM), and
// every message arrives.
func TestRcvHWMOne(t *testing.T) {
	for _, mode := range pauseModes {
		t.Run(mode.name, func(t *testing.T) { testRcvHWMOne(t, mode.cfg) })
	}
}

func testRcvHWMOne(t *testing.T, cfg reactor.Config) {
	r := newReactorWith(t, cfg)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithRcvHWM(1))
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := 0; i < n; i++ {
		if err := push.Send(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the reader's queue full", func() bool { in, _ := pipeLens(pull); return in == 1 })
	for i := 0; i < n; i++ {
		m, err := pull.Recv(ctx)
		if err != nil || m[0][0] != byte(i) {
			t.Fatalf("message %d: %q %v", i, m, err)
		}
	}
	checkPauses(t, r, cfg, false)
}

// Two DEALERs that both send and neither reads: each connection is paused while gnet also holds
// output for it. Muting keeps write events and drops only read events, so nothing more is read from
// the kernel and the heap stays bounded. (Detaching must wait for the output to drain, which here it
// never does, so only the muting path can pass this.) Then both read, and everything arrives in order.
func TestBoundedMemoryBothWays(t *testing.T) {
	const (
		size = 64 << 10
		hwm  = 16
	)
	total := 256 << 20
	if raceEnabled {
		total = 64 << 20
	}
	count := total / size
	r := newReactor(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	a, b := tcpPair(t, r, Dealer, []Option{WithHWM(hwm)}, Dealer, []Option{WithHWM(hwm)})
	base := heapMiB()

	var sent [2]atomic.Int64
	errs := make(chan error, 4)
	send := func(s *Socket, n *atomic.Int64) {
		payload := make([]byte, size)
		for i := 0; i < count; i++ {
			fillSeq(payload, uint64(i))
			if err := s.Send(ctx, payload); err != nil {
				errs <- err
				return
			}
			n.Add(1)
		}
		errs <- nil
	}
	go send(a, &sent[0])
	go send(b, &sent[1])
	waitStalled(t, "all four queues full and both senders blocked", func() bool {
		ain, aout := pipeLens(a)
		bin, bout := pipeLens(b)
		return ain >= hwm && aout >= hwm && bin >= hwm && bout >= hwm
	}, &sent[0], &sent[1])
	grown := heapMiB() - base
	offered := float64(sent[0].Load()+sent[1].Load()) * size / (1 << 20)
	t.Logf("heap grew %.1f MiB with %.1f MiB accepted by the two DEALERs", grown, offered)
	hwmWorth := float64(4*hwm*size) / (1 << 20)
	if grown > 16+hwmWorth {
		t.Fatalf("heap grew %.1f MiB: more than 16 MiB plus the HWMs' %.1f MiB", grown, hwmWorth)
	}

	recv := func(s *Socket) {
		for i := 0; i < count; i++ {
			m, err := s.Recv(ctx)
			if err != nil {
				errs <- fmt.Errorf("message %d: %w", i, err)
				return
			}
			if err := checkSeq(m[0], uint64(i), size); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}
	go recv(a)
	go recv(b)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkPauses(t, r, reactor.Config{}, true)
}

// A connection muted for a full reader while it also sends: gnet's flush of its output must not
// turn reading back on (it re-arms reads when its buffer empties), or every flush would pull up to
// 64 KiB more into memory. a never reads and sends without pause; b sends too and reads slowly.
func TestMutedWhileSending(t *testing.T) {
	r := newReactor(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	a, b := tcpPair(t, r, Pair, []Option{WithRcvHWM(10), WithLinger(0)}, Pair, []Option{WithLinger(0)})
	payload := make([]byte, 10<<10)
	errs := make(chan error, 2)
	for _, s := range []*Socket{a, b} {
		go func() {
			for ctx.Err() == nil {
				if err := s.Send(ctx, payload); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 2000; i++ { // b drains a's output slowly, so gnet flushes it in many steps
		if _, err := b.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond) // pacing the reader, not synchronising
		}
	}
	cancel()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := r.Stats()
	t.Logf("%d pauses, %d reads while muted", st.Pauses, st.MutedReads)
	if st.Pauses == 0 || st.MutedReads != 0 {
		t.Fatalf("%d pauses, %d reads while muted: want pauses and no muted reads", st.Pauses, st.MutedReads)
	}
}
