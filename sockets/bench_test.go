package sockets

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// BenchmarkPushPullTCP measures in-process PUSH to PULL over loopback TCP on the pooled path:
// ns and allocations per message, sender and receiver together.
func BenchmarkPushPullTCP(b *testing.B) {
	for _, size := range []int{64, 1024, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			benchPushPull(b, "tcp://127.0.0.1:*", size)
		})
	}
}

func BenchmarkPushPullIPC(b *testing.B) {
	benchPushPull(b, "ipc://*", 64)
}

func benchPushPull(b *testing.B, ep string, size int) {
	r := newReactor(b)
	ctx := context.Background()
	pull := newSocket(b, r, Pull)
	bound, err := pull.Bind(ep)
	if err != nil {
		b.Fatal(err)
	}
	push := newSocket(b, r, Push)
	if err := push.Connect(bound); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			m, err := pull.RecvMsg(ctx)
			if err != nil {
				done <- err
				return
			}
			m.Release()
		}
		done <- nil
	}()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	before := r.Stats() // the reader's pauses count too
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := pool.NewMsg()
		m.AppendFrame(payload)
		if err := push.SendMsg(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	reportStats(b, r, before)
}

// BenchmarkReqRepTCP is a round trip of 64 B between REQ and REP in one process.
func BenchmarkReqRepTCP(b *testing.B) {
	rep, req := tcpPair(b, newReactor(b), Rep, nil, Req, nil)
	benchRoundTrip(b, rep, req)
}

// benchRoundTrip times b.N round trips of 64 B from client to an echo goroutine on server.
func benchRoundTrip(b *testing.B, server, client *Socket) {
	ctx := context.Background()
	go func() {
		for {
			m, err := server.RecvMsg(ctx)
			if err != nil {
				return
			}
			if server.SendMsg(ctx, m) != nil {
				m.Release()
				return
			}
		}
	}()
	payload := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := pool.NewMsg()
		m.AppendFrame(payload)
		if err := client.SendMsg(ctx, m); err != nil {
			b.Fatal(err)
		}
		reply, err := client.RecvMsg(ctx)
		if err != nil {
			b.Fatal(err)
		}
		reply.Release()
	}
	b.StopTimer()
	runtime.GC()
}

func reportStats(b *testing.B, r *reactor.Reactor, before reactor.Stats) {
	st := r.Stats()
	n := float64(b.N)
	b.ReportMetric(float64(st.Writes-before.Writes)/n, "writes/msg")
	b.ReportMetric(float64(st.Pauses-before.Pauses), "pauses")
	b.ReportMetric(float64(st.Blocks-before.Blocks), "blocks")
	if held := st.HeldBodies - before.HeldBodies; held > 0 {
		b.ReportMetric(float64(held)/n, "held/msg")
	}
	if dr := st.DirectReads - before.DirectReads; dr > 0 {
		b.ReportMetric(float64(dr)/n, "directreads/msg")
	}
}
