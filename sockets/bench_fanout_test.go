package sockets

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// Server-side benchmarks with many raw ZMTP peers (issue 11): one loop serves a PUB fanning out to
// N subscribers, or a ROUTER echoing to N dealers. The peers are plain TCP connections that do the
// ZMTP 3.1 NULL handshake by hand with the codec package, so that the socket under test is the only
// zloop code running; they read with one goroutine each. Besides the rate they report the loops'
// write system calls per delivery or per round trip. Run them with a fixed count, for example
// -bench 'FanOutRaw|RouterEchoRaw' -benchtime 2000x (publishes) or 200000x (round trips).

// swarmPeer is one hand-made ZMTP peer.
type swarmPeer struct {
	c   net.Conn
	buf []byte
}

// dialSwarm connects to ep (tcp://host:port), does the NULL handshake as socket type typ and returns
// the peer with whatever followed the server's READY still in buf.
func dialSwarm(tb testing.TB, ep, typ string) *swarmPeer {
	tb.Helper()
	c, err := net.Dial("tcp", ep[len("tcp://"):])
	if err != nil {
		tb.Fatal(err)
	}
	out := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechNull})
	out = codec.AppendReady(out, codec.Property{Name: "Socket-Type", Value: []byte(typ)})
	if _, err := c.Write(out); err != nil {
		tb.Fatal(err)
	}
	p := &swarmPeer{c: c, buf: make([]byte, 0, 64<<10)}
	p.fill(tb, codec.GreetingSize)
	if _, _, err := codec.ParseGreeting(p.buf); err != nil {
		tb.Fatal(err)
	}
	p.buf = p.buf[:copy(p.buf, p.buf[codec.GreetingSize:])]
	for {
		h, n, err := codec.ParseFrameHeader(p.buf, 1<<20)
		if err == nil && len(p.buf) >= n+int(h.Size) {
			if !h.Command() {
				tb.Fatalf("raw peer: data frame before READY")
			}
			cmd, err := codec.ParseCommand(p.buf[n : n+int(h.Size)])
			if err != nil || !cmd.Is(codec.CmdReady) {
				tb.Fatalf("raw peer: want READY, got %q (%v)", cmd.Name, err)
			}
			end := n + int(h.Size)
			p.buf = p.buf[:copy(p.buf, p.buf[end:])]
			return p
		}
		p.fill(tb, len(p.buf)+1)
	}
}

// fill reads until buf holds at least n bytes.
func (p *swarmPeer) fill(tb testing.TB, n int) {
	for len(p.buf) < n {
		k, err := p.c.Read(p.buf[len(p.buf):cap(p.buf)])
		if err != nil {
			tb.Fatal(err)
		}
		p.buf = p.buf[:len(p.buf)+k]
	}
}

// payloadFrames counts the complete 64-byte frames at the front of b (the benchmarks' payloads, not
// their probes) and returns how many bytes the complete frames take.
func payloadFrames(b []byte) (n, used int) {
	for {
		h, k, err := codec.ParseFrameHeader(b[used:], 1<<30)
		if err != nil || len(b)-used-k < int(h.Size) {
			return n, used
		}
		used += k + int(h.Size)
		if h.Size == 64 {
			n++
		}
	}
}

// BenchmarkFanOutRaw publishes 64 B messages from a PUB on one loop to N raw subscribers; b.N is
// the number of messages published, each delivered N times.
// With hwm1000 the PUB has libzmq's default SNDHWM and publishes as fast as it can, as a server
// does: what a subscriber's queue cannot take is dropped, and deliveries/s counts what arrived.
func BenchmarkFanOutRaw(b *testing.B) {
	for _, n := range benchPeers() {
		b.Run(fmt.Sprintf("%dsubs", n), func(b *testing.B) { benchFanOutRaw(b, n, 0) })
		b.Run(fmt.Sprintf("%dsubs/hwm1000", n), func(b *testing.B) { benchFanOutRaw(b, n, 1000) })
	}
}

func benchFanOutRaw(b *testing.B, n, hwm int) {
	r := newReactor(b)
	// Without SNDHWM every message reaches every subscriber: each reader knows how many.
	pub := newSocket(b, r, Pub, WithSndHWM(hwm), WithLinger(0))
	ep := bindTCP(b, pub)
	peers := make([]*swarmPeer, n)
	for i := range peers {
		peers[i] = dialSwarm(b, ep, "SUB")
		if _, err := peers[i].c.Write(codec.AppendSubscribe(nil, nil)); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, p := range peers {
			_ = p.c.Close()
		}
	}()
	// The subscriptions are in once a probe reaches every peer (a PUB drops before them).
	probe := []byte("probe")
	got := make([]bool, n)
	left := n
	ctx := context.Background()
	for left > 0 {
		if err := pub.Send(ctx, probe); err != nil {
			b.Fatal(err)
		}
		for i, p := range peers {
			if got[i] {
				continue
			}
			_ = p.c.SetReadDeadline(time.Now().Add(time.Millisecond))
			k, err := p.c.Read(p.buf[len(p.buf):cap(p.buf)])
			p.buf = p.buf[:len(p.buf)+k]
			if err != nil && !isTimeout(err) {
				b.Fatal(err)
			}
			if _, used := payloadFrames(p.buf); used > 0 {
				got[i] = true
				left--
			}
		}
	}
	// With an SNDHWM a reader stops at the end marker instead, which the publisher
	// repeats until every reader saw it (a full queue may drop it too).
	var wg sync.WaitGroup
	var delivered, ended atomic.Int64
	end := []byte("end")
	for _, p := range peers {
		_ = p.c.SetReadDeadline(time.Time{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := b.N
			seen := 0
			defer func() { delivered.Add(int64(seen)) }()
			buf := p.buf
			for {
				f, used := payloadFrames(buf)
				seen += f
				if hwm > 0 && hasFrame(buf[:used], end) {
					ended.Add(1)
					return
				}
				buf = buf[:copy(buf, buf[used:])]
				if hwm == 0 && seen >= want {
					return
				}
				k, err := p.c.Read(buf[len(buf):cap(buf)])
				if err != nil {
					if err != io.EOF {
						b.Error(err)
					}
					return
				}
				buf = buf[:len(buf)+k]
			}
		}()
	}
	payload := make([]byte, 64)
	before := r.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := pool.NewMsg()
		m.AppendFrame(payload)
		if err := pub.SendMsg(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	for hwm > 0 && ended.Load() < int64(n) {
		if err := pub.Send(ctx, end); err != nil {
			b.Fatal(err)
		}
		runtime.Gosched() // let the readers run: a marker per publish is plenty
	}
	wg.Wait()
	b.StopTimer()
	after := r.Stats()
	d := float64(delivered.Load())
	b.ReportMetric(d/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(d/float64(b.N)/float64(n), "delivered")
	b.ReportMetric(float64(after.Writes-before.Writes)/d, "writes/delivery")
}

// hasFrame reports whether the complete frames of b include one whose body is f.
func hasFrame(b, f []byte) bool {
	for used := 0; ; {
		h, k, err := codec.ParseFrameHeader(b[used:], 1<<30)
		if err != nil || len(b)-used-k < int(h.Size) {
			return false
		}
		if string(b[used+k:used+k+int(h.Size)]) == string(f) {
			return true
		}
		used += k + int(h.Size)
	}
}

// benchPeers is how many peers the benchmarks try: 100 and 1000, or the comma-separated counts in
// ZLOOP_BENCH_PEERS (a process has two descriptors per peer here, both ends being in it).
func benchPeers() []int {
	v := os.Getenv("ZLOOP_BENCH_PEERS")
	if v == "" {
		return []int{100, 1000}
	}
	var ns []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			ns = append(ns, n)
		}
	}
	return ns
}

func isTimeout(err error) bool {
	var ne net.Error
	if e, ok := err.(net.Error); ok {
		ne = e
	}
	return ne != nil && ne.Timeout()
}

// BenchmarkRouterEchoRaw echoes 64 B requests on a ROUTER on one loop to N raw dealers with K
// requests in flight each; b.N is the number of round trips. It reports round trips/s, the 99th
// percentile of the round-trip time and the loops' write system calls per reply.
func BenchmarkRouterEchoRaw(b *testing.B) {
	for _, n := range benchPeers() {
		for _, k := range []int{1, 4} {
			b.Run(fmt.Sprintf("%ddealers/%dinflight", n, k), func(b *testing.B) {
				benchRouterEchoRaw(b, n, k, false)
			})
		}
	}
}

// BenchmarkServeEchoRaw is BenchmarkRouterEchoRaw with the echo made by a Serve handler on the loop
// (Call.Echo) instead of a goroutine's RecvMsg and SendMsg on a ROUTER socket. Alternate the two
// (-bench 'RouterEchoRaw|ServeEchoRaw' -count 5) and compare medians.
func BenchmarkServeEchoRaw(b *testing.B) {
	for _, n := range benchPeers() {
		for _, k := range []int{1, 4} {
			b.Run(fmt.Sprintf("%ddealers/%dinflight", n, k), func(b *testing.B) {
				benchRouterEchoRaw(b, n, k, true)
			})
		}
	}
}

func benchRouterEchoRaw(b *testing.B, n, k int, serve bool) {
	r := newReactor(b)
	var ep string
	echoDone := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	if serve {
		s := newServer(b, r, func(c *Call) { c.Echo() })
		ep = s.Endpoint()
		close(echoDone)
	} else {
		router := newSocket(b, r, Router, WithLinger(0))
		ep = bindTCP(b, router)
		go func() {
			defer close(echoDone)
			for {
				m, err := router.RecvMsg(ctx)
				if err != nil {
					return
				}
				if err := router.SendMsg(ctx, m); err != nil {
					return
				}
			}
		}()
	}
	peers := make([]*swarmPeer, n)
	for i := range peers {
		peers[i] = dialSwarm(b, ep, "DEALER")
	}
	defer func() {
		cancel()
		<-echoDone
		for _, p := range peers {
			_ = p.c.Close()
		}
	}()
	per := (b.N + n - 1) / n
	var total atomic.Int64
	rtts := make([][]time.Duration, n)
	req := codec.AppendFrame(nil, 0, make([]byte, 64))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := make([]time.Time, 0, k)
			lat := make([]time.Duration, 0, per)
			out := make([]byte, 0, k*len(req))
			<-start
			for j := 0; j < k && j < per; j++ {
				out = append(out, req...)
				sent = append(sent, time.Now())
			}
			if _, err := p.c.Write(out); err != nil {
				b.Error(err)
				return
			}
			issued, done := len(sent), 0
			buf := p.buf
			for done < per {
				f, used := payloadFrames(buf)
				buf = buf[:copy(buf, buf[used:])]
				if f > 0 {
					now := time.Now()
					out = out[:0]
					for j := 0; j < f; j++ {
						lat = append(lat, now.Sub(sent[0]))
						sent = sent[:copy(sent, sent[1:])] // at most k: no allocation
						done++
						if issued < per {
							out = append(out, req...)
							issued++
							sent = append(sent, now)
						}
					}
					if len(out) > 0 {
						if _, err := p.c.Write(out); err != nil {
							b.Error(err)
							return
						}
					}
					if done >= per {
						break
					}
				}
				m, err := p.c.Read(buf[len(buf):cap(buf)])
				if err != nil {
					b.Error(err)
					return
				}
				buf = buf[:len(buf)+m]
			}
			total.Add(int64(done))
			rtts[i] = lat
		}()
	}
	before := r.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	close(start)
	wg.Wait()
	b.StopTimer()
	after := r.Stats()
	rt := float64(total.Load())
	var all []time.Duration
	for _, l := range rtts {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(rt/b.Elapsed().Seconds(), "roundtrips/s")
	b.ReportMetric(float64(after.Writes-before.Writes)/rt, "writes/reply")
	b.ReportMetric(float64(after.SenderWrites-before.SenderWrites)/rt, "senderwrites/reply")
}
