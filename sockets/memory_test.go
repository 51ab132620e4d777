package sockets

import (
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/zloop/zloop/pool"
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

// A PULL that stops reading while a PUSH offers 1 GiB: the receiving side pauses (gnet cannot, so
// the connection is detached from epoll), TCP pushes back, the PUSH fills its HWM and blocks, and the
// heap stays at a few MiB plus the HWMs' worth of messages. Then the PULL reads again and all of it
// arrives intact and in order.
func TestBoundedMemorySlowReceiver(t *testing.T) {
	const (
		size = 64 << 10
		hwm  = 16
	)
	total := 1 << 30
	if raceEnabled {
		total = 256 << 20 // the full GiB runs in the non-race pass of the test command
	}
	count := total / size
	r := newReactor(t)
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
	waitFor(t, "both HWMs reached", func() bool {
		in, _ := pipeLens(pull)
		_, out := pipeLens(push)
		return in >= hwm && out >= hwm
	})
	// The PUSH now blocks: a send with a context that is already done comes back with the
	// context's error instead of queueing.
	m := pool.NewMsg()
	m.AppendFrame(make([]byte, size))
	done, stop := context.WithCancel(ctx)
	stop()
	if err := push.SendMsg(done, m); !errors.Is(err, context.Canceled) {
		t.Fatalf("send past the HWM: %v, want it to block", err)
	}
	m.Release()
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
}

// With RCVHWM 1 a full queue still pauses the connection (the low-water mark is below the HWM), and
// every message arrives.
func TestRcvHWMOne(t *testing.T) {
	r := newReactor(t)
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
}
