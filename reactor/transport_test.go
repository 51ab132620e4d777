package reactor

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/zloop/zloop/zmtp"
)

// Over every transport a dialed and an accepted pipe carry multipart messages of every size class
// both ways (empty frames, small ones batched or written directly, bodies large enough to go out
// with writev from the message, or copied and masked by a WebSocket client), and report their
// peer. Closing the dialer ends both pipes for good.
func TestTransports(t *testing.T) {
	for _, tr := range append(transports, "tls", "wss") {
		t.Run(tr, func(t *testing.T) { testTransport(t, tr) })
	}
}

func testTransport(t *testing.T, tr string) {
	r := newTestReactor(t, Config{Loops: 2})
	bopts := testOptions("PAIR", "PAIR")
	bopts.Session.Identity = []byte("bound-id")
	copts := testOptions("PAIR", "PAIR")
	secure := tr == "tls" || tr == "wss"
	if secure {
		useTestTLS(t, bopts, copts)
	}
	k := pair(t, r, tr, bopts, copts)
	if secure {
		checkTLSPeers(t, k)
	} else if k.cp.TLS() != nil || k.bp.TLS() != nil {
		t.Fatal("a pipe without TLS reports a TLS peer")
	}

	if !k.cp.Dialed() || k.bp.Dialed() {
		t.Fatalf("Dialed: %v for the dialed pipe, %v for the accepted one", k.cp.Dialed(), k.bp.Dialed())
	}
	if !k.cp.Connected() || !k.bp.Connected() {
		t.Fatal("an attached pipe is not connected")
	}
	if k.cp.Options() != copts {
		t.Fatal("the dialed pipe does not have its options")
	}
	if k.d.Endpoint() != k.l.Endpoint() {
		t.Fatalf("dialer endpoint %q, listener %q", k.d.Endpoint(), k.l.Endpoint())
	}
	for _, p := range []*Pipe{k.cp, k.bp} {
		peer := p.Peer()
		if peer == nil || peer.SocketType != "PAIR" || peer.Mechanism != zmtp.MechanismNull {
			t.Fatalf("peer %+v", peer)
		}
	}
	if id := k.cp.Peer().Identity; !bytes.Equal(id, []byte("bound-id")) {
		t.Fatalf("the dialer sees the identity %q", id)
	}
	if tr != "inproc" && tr != "ws" {
		for _, e := range []Event{k.co.waitEvent(t, EventConnected), k.bo.waitEvent(t, EventAccepted)} {
			if e.Remote == "" {
				t.Fatalf("%v without the remote address", e)
			}
		}
	}

	sizes := []int{0, 1, 100, 3000, 9000, 70000, 300000}
	for dir, ends := range [][2]*Pipe{{k.cp, k.bp}, {k.bp, k.cp}} {
		from, to := ends[0], ends[1]
		fromO, toO := k.co, k.bo
		if dir == 1 {
			fromO, toO = k.bo, k.co
		}
		for i, n := range sizes {
			send(t, fromO, from, []byte(fmt.Sprintf("head-%d", i)), nil, seqMsg(uint64(i), max(n, 8)))
		}
		for i, n := range sizes {
			m := recv(t, toO, to)
			if len(m) != 3 || string(m[0]) != fmt.Sprintf("head-%d", i) || len(m[1]) != 0 {
				t.Fatalf("direction %d, message %d: %d frames, %q", dir, i, len(m), m[0])
			}
			if err := checkSeq(m[2], uint64(i), max(n, 8)); err != nil {
				t.Fatalf("direction %d: %v", dir, err)
			}
		}
		if n := to.InLen(); n != 0 {
			t.Fatalf("%d messages left after all were read", n)
		}
	}
	waitFor(t, "the queues empty", func() bool { return k.cp.OutLen() == 0 && k.bp.OutLen() == 0 })

	waitClosed(t, "the dialer's close", k.d.Close(0))
	for _, o := range []*testOwner{k.co, k.bo} {
		if d := o.waitDetached(t); !d.final {
			t.Fatalf("%s: the pipe's detachment is not final after Close", o.name)
		}
	}
	if k.cp.Connected() || k.bp.Connected() {
		t.Fatal("a closed pipe still counts as connected")
	}
	m := newMsg([]byte("late"))
	if k.cp.TrySend(m) || k.cp.CanSend() {
		t.Fatal("a closed pipe takes messages")
	}
	m.Release()
	if tr != "inproc" {
		e := k.bo.waitEvent(t, EventDisconnected)
		if e.Endpoint != k.l.Endpoint() {
			t.Fatalf("the accepted side's disconnection names %q", e.Endpoint)
		}
		if e := k.co.waitEvent(t, EventDisconnected); !errors.Is(e.Err, ErrClosed) {
			t.Fatalf("the dialed side's disconnection: %v", e)
		}
	}
}
