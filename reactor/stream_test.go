package reactor

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A raw (STREAM) pipe has no handshake: it is attached as soon as the connection is up, a chunk
// read becomes a one-frame message, and every frame sent goes out as it is. Accepted, it ends with
// its connection; dialed, it reconnects.
func TestRawPipes(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	o := newOwner(t, "stream")
	opts := &Options{raw: true, ReconnectIvl: 10 * time.Millisecond, headroom: 16}
	l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
	nc := rawConn(t, l.Endpoint())
	p := o.waitAttached(t) // before a byte was sent
	if peer := p.Peer(); peer == nil || peer.SocketType != "" {
		t.Fatalf("a raw peer %+v", peer)
	}
	if _, err := nc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	m, err := recvWait(o, p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 1 || string(m.Frame(0)) != "hello" {
		t.Fatalf("got %q", m.Copy())
	}
	m.PushFront([]byte("routing-id")) // into the headroom
	if m.Len() != 2 || string(m.Frame(0)) != "routing-id" {
		t.Fatalf("after PushFront: %q", m.Copy())
	}
	m.Release()
	send(t, o, p, []byte("wor"), []byte("ld"))
	got := make([]byte, 5)
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "world" {
		t.Fatalf("the peer read %q, %v", got, err)
	}
	_ = nc.Close()
	if d := o.waitDetached(t); d.p != p || !d.final {
		t.Fatal("the accepted raw pipe did not end with its connection")
	}
	o.waitEvent(t, EventDisconnected)

	// Dialed: a server that greets, then drops the connection and takes the next.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	co := newOwner(t, "client")
	d := connect(t, r, "tcp://"+ln.Addr().String(), opts, co)
	for i := 0; i < 2; i++ {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if co.waitAttached(t) != d.Pipe() {
			t.Fatal("another pipe attached")
		}
		if _, err := c.Write([]byte("greeting")); err != nil {
			t.Fatal(err)
		}
		var body []byte
		for len(body) < len("greeting") {
			body = append(body, recv(t, co, d.Pipe())[0]...)
		}
		if string(body) != "greeting" {
			t.Fatalf("got %q", body)
		}
		big := bytes.Repeat([]byte("z"), 20000) // past the batch: written straight from the message
		send(t, co, d.Pipe(), big)
		_ = c.SetReadDeadline(time.Now().Add(waitLimit))
		echo := make([]byte, len(big))
		if _, err := io.ReadFull(c, echo); err != nil || !bytes.Equal(echo, big) {
			t.Fatalf("the server read %d bytes, %v", len(echo), err)
		}
		c.Close()
		if dt := co.waitDetached(t); dt.final {
			t.Fatal("a dialed raw pipe ended for good with its connection")
		}
	}
	if strings.Contains(co.eventLog(), "HANDSHAKE_FAILED") {
		t.Fatalf("a raw connection failed a handshake:%s", co.eventLog())
	}
}
