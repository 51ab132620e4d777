package sockets

// What a socket keeps of a peer that has gone: messages it already received stay readable (libzmq
// reads a terminated pipe up to its delimiter), and with IMMEDIATE what was queued for it is dropped.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
)

// recvWithin is Recv bounded by d, so that a message that never comes fails the test instead of
// hanging it.
func recvWithin(t *testing.T, s *Socket, d time.Duration) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), d)
	defer cancel()
	m, err := s.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return m
}

func isDisconnected(e reactor.Event) bool { return e.Type == reactor.EventDisconnected }

// A bound REQ whose peer replies and closes before Recv is called still gets the reply, and a
// reply from a peer it did not ask is still dropped, whether that peer is gone or not.
func TestReqKeepsReplyOfGonePeer(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	req := newSocket(t, r, Req)
	events := req.Monitor(64)
	ep, err := req.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	asked := rawDial(t, ep, "REP")
	mustSend(t, req, []byte("q"))
	if m, err := asked.Recv(10 * time.Second); err != nil || len(m) != 2 || len(m[0]) != 0 || string(m[1]) != "q" {
		t.Fatalf("request: %q, %v", m, err)
	}
	// A peer that was not asked answers anyway and leaves: its message must not pass for the reply.
	other := rawDial(t, ep, "REP")
	if err := other.SendFrames(nil, []byte("not asked")); err != nil {
		t.Fatal(err)
	}
	_ = other.Conn.Close()
	waitEvent(t, events, isDisconnected)
	if err := asked.SendFrames(nil, []byte("a")); err != nil {
		t.Fatal(err)
	}
	_ = asked.Conn.Close()
	waitEvent(t, events, isDisconnected)
	if m := recvWithin(t, req, 5*time.Second); len(m) != 1 || string(m[0]) != "a" {
		t.Fatalf("reply: %q", m)
	}
	// Back to sending: with no peer left, the next request waits.
	if err := req.SetOptions(WithSndTimeout(0)); err != nil {
		t.Fatal(err)
	}
	if err := req.Send(ctx, []byte("q2")); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("request with no peer: %v", err)
	}
}

// A bound PAIR whose peer sends and closes before Recv is called still gets what it sent, ahead
// of what a new peer, attached afterwards, sends.
func TestPairKeepsMessagesOfGonePeer(t *testing.T) {
	r := newReactor(t)
	z := newSocket(t, r, Pair)
	events := z.Monitor(64)
	ep, err := z.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	old := rawDial(t, ep, "PAIR")
	for _, f := range []string{"old 1", "old 2"} {
		if err := old.SendFrames([]byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	_ = old.Conn.Close()
	waitEvent(t, events, isDisconnected)

	next := rawDial(t, ep, "PAIR")
	if err := next.SendFrames([]byte("new")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new peer's message", func() bool {
		z.mu.Lock()
		defer z.mu.Unlock()
		p := z.pat.(*pair).peer
		return p != nil && p.InLen() > 0
	})
	for i, want := range []string{"old 1", "old 2", "new"} {
		if m := recvWithin(t, z, 5*time.Second); len(m) != 1 || string(m[0]) != want {
			t.Fatalf("message %d: %q, want %q", i, m, want)
		}
	}
	mustSend(t, z, []byte("to new"))
	if m, err := next.Recv(10 * time.Second); err != nil || len(m) != 1 || string(m[0]) != "to new" {
		t.Fatalf("new peer got %q, %v", m, err)
	}
}

// Against libzmq: a REP that replies and exits at once, its reply read by zloop's bound REQ only
// after the connection is gone.
func TestInteropReqReplyOfExitedRep(t *testing.T) {
	skipWithoutPeer(t)
	r := newReactor(t)
	req := newSocket(t, r, Req)
	events := req.Monitor(64)
	ep, err := req.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	l := testpeer.Start(t, "REP")
	l.Connect(ep)
	mustSend(t, req, []byte("q"))
	expect(t, "libzmq REP", 0, libRecv(t, l), frames([]byte("q")))
	l.Send([]byte("a"))
	l.Close() // the socket closes and the process exits
	waitEvent(t, events, isDisconnected)
	expect(t, "zloop REQ", 0, recvWithin(t, req, interopWait), frames([]byte("a")))
}

// Against libzmq: a PAIR that sends and exits at once; zloop's bound PAIR reads it afterwards.
func TestInteropPairMessagesOfExitedPeer(t *testing.T) {
	skipWithoutPeer(t)
	r := newReactor(t)
	z := newSocket(t, r, Pair)
	events := z.Monitor(64)
	ep, err := z.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	l := testpeer.Start(t, "PAIR")
	l.Connect(ep)
	l.Send([]byte("one"))
	l.Send([]byte("two"), frameOf(70000, 't'))
	l.Close()
	waitEvent(t, events, isDisconnected)
	expect(t, "zloop PAIR", 0, recvWithin(t, z, interopWait), frames([]byte("one")))
	expect(t, "zloop PAIR", 1, recvWithin(t, z, interopWait), frames([]byte("two"), frameOf(70000, 't')))
}
