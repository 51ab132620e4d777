package sockets

// The seed's engine tests live in package reactor (reactor/engine_test.go), since they test its
// write path; the fan-out policy of a socket stays here, with helpers the other tests share.

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
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

// idleFor returns once d has passed since t. It does not synchronise with anything: a connection
// that has been idle for a while is the scenario under test (a sender writes directly then).
func idleFor(t *testing.T, since time.Time, d time.Duration) {
	waitFor(t, "the connection idle", func() bool { return time.Since(since) >= d })
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
