package sockets

import (
	"testing"
)

// TestStatsPerSocket: Socket.Stats counts the writes of the socket's own connections only; the
// reactor's Stats sums every connection's.
func TestStatsPerSocket(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pullA, pushA := tcpPair(t, r, Pull, nil, Push, nil)
	pullB, pushB := tcpPair(t, r, Pull, nil, Push, nil)
	body := make([]byte, 1000)
	send := func(push, pull *Socket, n int) {
		for i := 0; i < n; i++ {
			if err := push.Send(ctx, body); err != nil {
				t.Fatal(err)
			}
			// One at a time, so that each message costs its own write.
			if _, err := pull.Recv(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	const nA, nB = 40, 4
	send(pushA, pullA, nA)
	send(pushB, pullB, nB)
	a, b := pushA.Stats(), pushB.Stats()
	bytesA, bytesB := a.BytesInline+a.BytesQueued, b.BytesInline+b.BytesQueued
	t.Logf("A: %d writes, %d bytes; B: %d writes, %d bytes", a.Writes, bytesA, b.Writes, bytesB)
	if a.Writes < nA || bytesA < nA*uint64(len(body)) {
		t.Fatalf("A wrote %d times, %d bytes: fewer than its %d messages of %d bytes", a.Writes, bytesA, nA, len(body))
	}
	if b.Writes < nB || bytesB < nB*uint64(len(body)) {
		t.Fatalf("B wrote %d times, %d bytes: fewer than its %d messages of %d bytes", b.Writes, bytesB, nB, len(body))
	}
	// B's handshake and its few messages: far less than A's messages.
	if bytesB >= nA*uint64(len(body)) || b.Writes >= nA {
		t.Fatalf("B counts %d writes, %d bytes: A's traffic is in it", b.Writes, bytesB)
	}
	// The pulls wrote only their handshakes.
	if pa := pullA.Stats(); pa.BytesInline+pa.BytesQueued >= uint64(len(body)) {
		t.Fatalf("pull A counts %d bytes written: the pushes' traffic is in it", pa.BytesInline+pa.BytesQueued)
	}
	all := r.Stats()
	sum := a.Writes + b.Writes + pullA.Stats().Writes + pullB.Stats().Writes
	if all.Writes < sum {
		t.Fatalf("reactor counts %d writes, fewer than its sockets' %d", all.Writes, sum)
	}
}
