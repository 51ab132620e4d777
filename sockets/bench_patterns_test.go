package sockets

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// BenchmarkPubSubFanOut publishes 64 B messages to N subscribers over TCP; ns/op is per message
// published (N deliveries).
func BenchmarkPubSubFanOut(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("%dsubs", n), func(b *testing.B) {
			r := newReactor(b)
			ctx := context.Background()
			// XPUB and a high HWM: the benchmark counts deliveries, so none may be dropped.
			pub := newSocket(b, r, XPub, WithSndHWM(0), WithXPubVerbose(true))
			ep := bindTCP(b, pub)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				sub := newSocket(b, r, Sub, WithRcvHWM(0))
				if err := sub.Subscribe(nil); err != nil {
					b.Fatal(err)
				}
				connect(b, sub, ep)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < b.N; j++ {
						m, err := sub.RecvMsg(ctx)
						if err != nil {
							b.Error(err)
							return
						}
						m.Release()
					}
				}()
			}
			for i := 0; i < n; i++ {
				if _, err := pub.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
			payload := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := pool.NewMsg()
				m.AppendFrame(payload)
				if err := pub.SendMsg(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkDealerRouterTCP is a 64 B round trip from DEALER through a ROUTER echo.
func BenchmarkDealerRouterTCP(b *testing.B) {
	router, dealer := tcpPair(b, newReactor(b), Router, nil, Dealer, nil)
	benchRoundTrip(b, router, dealer)
}

// BenchmarkTopicMatch is the publisher's filter alone: 1000 topics, a 32-byte message.
func BenchmarkTopicMatch(b *testing.B) {
	var s pipeSet
	pipes := newPipes()
	for i := 0; i < 1000; i++ {
		s.add([]byte(fmt.Sprintf("sensor.%03d.temp", i)), pipes[i%len(pipes)])
	}
	data := []byte("sensor.517.temp 21.5C and more..")
	n := 0
	var sets [][]*reactor.Pipe
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sets = s.matchSets(data, sets[:0])
		for _, set := range sets {
			n += len(set)
		}
	}
	if n != b.N {
		b.Fatalf("%d matches", n)
	}
}
