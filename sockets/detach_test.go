package sockets

// What a socket keeps of a peer that has gone: messages it already received stay readable (libzmq
// reads a terminated pipe up to its delimiter), and with IMMEDIATE what was queued for it is dropped.

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/internal/zmtptest"
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

// sendAndLeave dials ep as a raw peer of socket type typ, sends each of msgs as a one-frame
// message, closes the connection and waits for the bound socket's monitor (events) to see it go.
func sendAndLeave(t *testing.T, ep, typ string, events <-chan reactor.Event, msgs ...string) {
	t.Helper()
	peer := rawDial(t, ep, typ)
	for _, f := range msgs {
		if err := peer.SendFrames([]byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	_ = peer.Conn.Close()
	waitEvent(t, events, isDisconnected)
}

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
	sendAndLeave(t, ep, "PAIR", events, "old 1", "old 2")

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

// A bound ROUTER reads what a peer sent before it left, with the peer's routing id, when it
// looks only after the connection is gone.
func TestRouterKeepsMessagesOfGonePeer(t *testing.T) {
	r := newReactor(t)
	z := newSocket(t, r, Router)
	events := z.Monitor(64)
	ep, err := z.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	sendAndLeave(t, ep, "DEALER", events, "last 1", "last 2")
	var id []byte
	for i, want := range []string{"last 1", "last 2"} {
		m := recvWithin(t, z, 5*time.Second)
		if len(m) != 2 || string(m[1]) != want || len(m[0]) == 0 || (id != nil && string(m[0]) != string(id)) {
			t.Fatalf("message %d: %q, want [id %q]", i, m, want)
		}
		id = m[0]
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

// acceptRaw accepts one connection on ln and completes the ZMTP handshake as sockType.
func acceptRaw(t *testing.T, ln net.Listener, sockType string) *zmtptest.Peer {
	t.Helper()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p := zmtptest.New(c, sockType)
	if err := p.Handshake(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// With IMMEDIATE, what is still queued for a peer when its connection ends is dropped with it (libzmq
// terminates the pipe): the peer at the next connection gets only what is sent after.
func TestImmediateDropsQueueOnDisconnect(t *testing.T) {
	r := newReactor(t)
	path := t.TempDir() + "/peer.sock"
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := newSocket(t, r, Dealer, WithImmediate(true), WithReconnectIvl(10*time.Millisecond, 0))
	events := d.Monitor(64)
	if err := d.Connect("ipc://" + path); err != nil {
		t.Fatal(err)
	}
	first := acceptRaw(t, ln, "DEALER")
	// The peer does not read: the kernel and the loop's buffer fill, and the rest stays queued.
	const n = 16
	big := frameOf(1<<20, 'b')
	for i := 0; i < n; i++ {
		mustSend(t, d, big)
	}
	waitFor(t, "messages queued behind a full connection", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		p := firstPipe(d)
		return p != nil && p.OutLen() > 0
	})
	_ = first.Conn.Close()
	waitEvent(t, events, isDisconnected)

	second := acceptRaw(t, ln, "DEALER")
	mustSend(t, d, []byte("fresh"))
	if m, err := second.Recv(10 * time.Second); err != nil || len(m) != 1 || string(m[0]) != "fresh" {
		if err == nil && len(m) == 1 {
			t.Fatalf("the next peer got a %d-byte message queued for the one before, want \"fresh\"", len(m[0]))
		}
		t.Fatalf("%d frames, %v", len(m), err)
	}
}
