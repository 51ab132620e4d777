package sockets

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/reactor"
)

// TestPubFlatOutStillAcceptsSubscribers: a broker publishes before its subscribers arrive, as fast
// as it can; every new subscriber must get through its handshake while it does. The loop that
// writes to the subscribers already there is the one that must read the newcomers' greetings, so
// its output work must leave it turns for them (libzmq's I/O thread serves every ready descriptor
// each poll). The clock is the loop's own work, the bytes it writes to the subscribers, not the
// wall: with turns the handshakes cost a few turns of writing each (a turn is 256 KiB), without
// them every turn drained all the full queues (100 subscribers x 1000 messages, some 7 MB) and a
// connection needed several turns to be accepted and to finish its handshake. With no SNDHWM one
// subscriber is enough: its drain, refilled as fast as it empties, never ended.
func TestPubFlatOutStillAcceptsSubscribers(t *testing.T) {
	t.Run("100subs/hwm1000", func(t *testing.T) { testPubFlatOut(t, 100, 200, 1000) })
	t.Run("1sub/nohwm", func(t *testing.T) { testPubFlatOut(t, 1, 50, 0) })
}

// testPubFlatOut connects before subscribers, publishes flat out with SNDHWM hwm, and has arriving
// more connect, parallel at a time.
func testPubFlatOut(t *testing.T, before, arriving, hwm int) {
	const (
		parallel = 16
		// mib is the loop's writing in which each arriving handshake must be done. Each costs
		// about 0.6 MiB of it with turns (more on a busy machine, whose other goroutines the
		// loop may wait behind), and 6 MiB and more without (growing with the subscribers).
		mib = 2
	)
	budget := uint64(arriving) * mib << 20
	r := newReactor(t)
	pub := newSocket(t, r, Pub, WithLinger(0), WithSndHWM(hwm))
	ep := bindTCP(t, pub)
	var readers sync.WaitGroup
	conns := []net.Conn{} // nil once the test closed them
	var connsMu sync.Mutex
	defer func() {
		connsMu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		connsMu.Unlock()
		readers.Wait()
	}()
	// subscribe subscribes p to everything and reads (and drops) what it gets until it is closed.
	subscribe := func(p *swarmPeer) error {
		if _, err := p.c.Write(codec.AppendSubscribe(nil, nil)); err != nil {
			return err
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 64<<10)
			for {
				if _, err := p.c.Read(buf); err != nil {
					return
				}
			}
		}()
		return nil
	}
	for range before {
		p := dialSwarm(t, ep, "SUB")
		conns = append(conns, p.c)
		if err := subscribe(p); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	published := make(chan error, 1)
	go func() {
		body := make([]byte, 64)
		for ctx.Err() == nil {
			if err := pub.Send(ctx, body); err != nil && ctx.Err() == nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	defer func() {
		cancel()
		if err := <-published; err != nil {
			t.Error(err)
		}
	}()
	// The publisher is under way once the loop writes.
	start := written(r)
	for written(r)-start < 1<<20 {
		time.Sleep(time.Millisecond)
	}

	// Generous: a hang guard, not a speed limit. The assertion is on the loop's work.
	deadline := time.Now().Add(2 * time.Minute)
	track := func(c net.Conn) bool {
		connsMu.Lock()
		defer connsMu.Unlock()
		if conns == nil {
			return false // the test ended
		}
		conns = append(conns, c)
		return true
	}
	start = written(r)
	var up atomic.Int64
	errs := make(chan error, arriving)
	next := make(chan struct{}, arriving)
	for range arriving {
		next <- struct{}{}
	}
	close(next)
	var dialers sync.WaitGroup
	for range parallel {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for range next {
				p, err := handshake(ep, "SUB", deadline, track)
				if err == nil {
					err = subscribe(p)
				}
				if err != nil {
					errs <- err
					return
				}
				up.Add(1)
			}
		}()
	}
	for up.Load() < int64(arriving) && written(r)-start < budget && time.Now().Before(deadline) && len(errs) == 0 {
		time.Sleep(time.Millisecond)
	}
	spent, n, failed := written(r)-start, up.Load(), len(errs) > 0
	// Unblock the dialers still waiting: their connections close.
	connsMu.Lock()
	for _, c := range conns {
		_ = c.Close()
	}
	conns = nil
	connsMu.Unlock()
	dialers.Wait()
	if failed {
		t.Fatalf("%d of %d subscribers got through their handshake: %v", n, arriving, <-errs)
	}
	if n < int64(arriving) {
		t.Fatalf("%d of %d subscribers got through their handshake while the loop wrote %d MiB to the others",
			n, arriving, spent>>20)
	}
	t.Logf("%d handshakes while the loop wrote %d MiB (%d KiB each)", arriving, spent>>20, spent/uint64(arriving)>>10)
}

// written is what r's loops have written so far.
func written(r *reactor.Reactor) uint64 {
	s := r.Stats()
	return s.BytesInline + s.BytesQueued
}

// handshake is dialSwarm for another goroutine than the test's: errors are returned, and a read
// blocks until deadline at most, or until the test closes the connection (track registers it, and
// reports false once the test ended).
func handshake(ep, typ string, deadline time.Time, track func(net.Conn) bool) (*swarmPeer, error) {
	c, err := net.Dial("tcp", ep[len("tcp://"):])
	if err != nil {
		return nil, err
	}
	if !track(c) {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	_ = c.SetReadDeadline(deadline)
	out := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechNull})
	out = codec.AppendReady(out, codec.Property{Name: "Socket-Type", Value: []byte(typ)})
	if _, err := c.Write(out); err != nil {
		return nil, err
	}
	p := &swarmPeer{c: c, buf: make([]byte, 0, 64<<10)}
	fill := func(n int) error {
		for len(p.buf) < n {
			k, err := c.Read(p.buf[len(p.buf):cap(p.buf)])
			if err != nil {
				return err
			}
			p.buf = p.buf[:len(p.buf)+k]
		}
		return nil
	}
	if err := fill(codec.GreetingSize); err != nil {
		return nil, err
	}
	if _, _, err := codec.ParseGreeting(p.buf); err != nil {
		return nil, err
	}
	p.buf = p.buf[:copy(p.buf, p.buf[codec.GreetingSize:])]
	for {
		h, n, err := codec.ParseFrameHeader(p.buf, 1<<20)
		if err == nil && len(p.buf) >= n+int(h.Size) {
			cmd, err := codec.ParseCommand(p.buf[n : n+int(h.Size)])
			if !h.Command() || err != nil || !cmd.Is(codec.CmdReady) {
				return nil, fmt.Errorf("want READY, got %q (%v)", cmd.Name, err)
			}
			_ = c.SetReadDeadline(time.Time{})
			return p, nil
		}
		if err := fill(len(p.buf) + 1); err != nil {
			return nil, err
		}
	}
}
