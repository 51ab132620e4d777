package sockets

import (
	"context"
	"fmt"
	"testing"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// BenchmarkLarge measures PUSH to PULL of large messages over each stream transport, two loops
// (sender and receiver each on its own, as in two processes), HWM 16 both ways: msg/s, bytes and
// allocations per message in the steady state (after a warm-up that fills every queue), and the
// process's CPU time per message, which a loaded machine disturbs less than the wall clock.
func BenchmarkLarge(b *testing.B) {
	for _, tr := range []struct{ name, ep string }{
		{"tcp", "tcp://127.0.0.1:*"},
		{"ipc", "ipc://*"},
		{"ws", "ws://127.0.0.1:*/zmq"},
	} {
		for _, size := range []int{1 << 20, 16 << 20} {
			b.Run(fmt.Sprintf("%s/%dMiB", tr.name, size>>20), func(b *testing.B) {
				benchLarge(b, tr.ep, size)
			})
		}
	}
}

func benchLarge(b *testing.B, ep string, size int) {
	const hwm = 16
	r := newReactorWith(b, reactor.Config{Loops: 2})
	ctx := context.Background()
	pull := newSocket(b, r, Pull, WithRcvHWM(hwm))
	bound, err := pull.Bind(ep)
	if err != nil {
		b.Fatal(err)
	}
	push := newSocket(b, r, Push, WithSndHWM(hwm))
	if err := push.Connect(bound); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	warm := 4 * hwm
	done := make(chan error, 1)
	go func() {
		for i := 0; i < warm+b.N; i++ {
			m, err := pull.RecvMsg(ctx)
			if err != nil {
				done <- err
				return
			}
			m.Release()
		}
		done <- nil
	}()
	send := func() {
		m := pool.NewMsg()
		m.AppendFrame(payload)
		if err := push.SendMsg(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < warm; i++ {
		send()
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	before := r.Stats()
	cpu := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		send()
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
	reportStats(b, r, before)
}
