package reactor

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
)

// lowWaterPeer is a PULL listening over tcp, counting into sc, and a raw PUSH peer connected to
// it, with the PULL's side of the connection attached.
func lowWaterPeer(t *testing.T, edit func(*Options)) (*testOwner, *Pipe, *Counters, net.Conn, func(b []byte)) {
	t.Helper()
	r := newTestReactor(t, Config{Loops: 1})
	sc := new(Counters)
	opts := testOptions("PULL", "PUSH")
	opts.Counters = sc
	if edit != nil {
		edit(opts)
	}
	o := newOwner(t, "pull")
	l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
	peer := rawDial(t, l.Endpoint(), "PUSH")
	p := o.waitAttached(t)
	write := func(b []byte) {
		t.Helper()
		if _, err := peer.Conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	return o, p, sc, peer.Conn, write
}

// A large body that stops coming in the middle raises the socket's receive low-water mark, and
// the mark never holds back what is due: the body's rest and the message with it arrive, and so
// does a small message written on its own afterwards, which a mark left raised would keep from
// ever waking the loop.
func TestLowWaterRaisedAndSettled(t *testing.T) {
	o, p, sc, _, write := lowWaterPeer(t, nil)
	body := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	wire := codec.AppendFrame(nil, 0, body)
	head := len(wire) - len(body)

	write(wire[:head+1<<20]) // a quarter of the body: the loop reads it and finds the kernel empty
	waitFor(t, "the low-water mark raised", func() bool { return sc.Stats().LowWaterWaits == 1 })
	write(wire[head+1<<20 : head+3<<20])
	write(append(wire[head+3<<20:], codec.AppendFrame(nil, 0, []byte("with the body's end"))...))
	if got := recv(t, o, p); len(got) != 1 || !bytes.Equal(got[0], body) {
		t.Fatalf("the large message: %d frames, first of %d bytes", len(got), len(got[0]))
	}
	if got := recv(t, o, p); len(got) != 1 || string(got[0]) != "with the body's end" {
		t.Fatalf("the message after the body: %q", got)
	}
	write(codec.AppendFrame(nil, 0, []byte("alone")))
	if got := recv(t, o, p); len(got) != 1 || string(got[0]) != "alone" {
		t.Fatalf("the message written alone: %q", got)
	}
	if st := sc.Stats(); st.DirectReads == 0 {
		t.Fatal("no direct read: the body did not go the way under test")
	}
}

// A peer that closes in the middle of a body, while the mark waits for more than will ever come,
// is seen to close: a hang-up wakes the loop whatever the mark.
func TestLowWaterPeerCloses(t *testing.T) {
	o, p, sc, nc, write := lowWaterPeer(t, nil)
	body := make([]byte, 8<<20)
	wire := codec.AppendFrame(nil, 0, body)
	write(wire[:len(wire)-len(body)+1<<20])
	waitFor(t, "the low-water mark raised", func() bool { return sc.Stats().LowWaterWaits == 1 })
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
	if d := o.waitDetached(t); d.p != p {
		t.Fatalf("detached %p, want %p", d.p, p)
	}
}

// A connection with a heartbeat deadline keeps waking for every arrival: its session must see the
// body's bytes as they come, or a slow body would look like a silent peer.
func TestLowWaterNotWithHeartbeats(t *testing.T) {
	o, p, sc, _, write := lowWaterPeer(t, func(o *Options) { o.Session.HeartbeatIvl = time.Hour })
	body := bytes.Repeat([]byte{7}, 4<<20)
	wire := codec.AppendFrame(nil, 0, body)
	head := len(wire) - len(body)
	write(wire[:head+1<<20])
	waitFor(t, "a direct read", func() bool { return sc.Stats().DirectReads > 0 })
	write(wire[head+1<<20:])
	if got := recv(t, o, p); len(got) != 1 || !bytes.Equal(got[0], body) {
		t.Fatalf("the large message: %d frames", len(got))
	}
	if n := sc.Stats().LowWaterWaits; n != 0 {
		t.Fatalf("the mark was raised %d times on a connection with heartbeats", n)
	}
}
