package sockets

// The seed's engine tests, in Go form: speculative (inline) write, async fallback under
// backpressure, buffer lifetime, and batching.

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/pool"
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

// (2)+(3) With a tiny kernel buffer and a peer that does not read, data is queued; when the peer
// reads, every byte arrives intact and in order. Frames of every size class, including bodies large
// enough for writev straight from the message, check that no buffer is reused while gnet or the
// kernel still needs it (pool poisoning is on under -race and here).
func TestEngineQueuedThenDelivered(t *testing.T) {
	pool.SetDebug(true)
	defer pool.SetDebug(false)
	r := newReactor(t)
	ctx := testCtx(t)
	push := newSocket(t, r, Push, func(o *Options) { o.SndBuf = 4096 })
	ep, err := push.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	peer := rawDial(t, ep, "PULL")
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
