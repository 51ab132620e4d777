package sockets

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// STREAM serves plain TCP clients: connect and disconnect notices, data both ways behind the
// routing id, and [id, empty] closing the connection.
func TestStreamServer(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	s := newSocket(t, r, Stream)
	ep, err := s.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, err := s.Recv(ctx)
	if err != nil || len(hello) != 2 || len(hello[0]) != 5 || len(hello[1]) != 0 {
		t.Fatalf("connect notice %q %v", hello, err)
	}
	id := hello[0]
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(got) < 18 {
		m, err := s.Recv(ctx)
		if err != nil || !bytes.Equal(m[0], id) {
			t.Fatalf("%q %v", m, err)
		}
		got = append(got, m[1]...)
	}
	if string(got) != "GET / HTTP/1.0\r\n\r\n" {
		t.Fatalf("got %q", got)
	}
	if err := s.Send(ctx, id, []byte("HTTP/1.0 200 OK\r\n\r\nhi")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, id, nil); err != nil { // close it
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil || string(all) != "HTTP/1.0 200 OK\r\n\r\nhi" {
		t.Fatalf("client read %q %v", all, err)
	}
	bye, err := s.Recv(ctx)
	if err != nil || !bytes.Equal(bye[0], id) || len(bye[1]) != 0 {
		t.Fatalf("disconnect notice %q %v", bye, err)
	}
	if err := s.Send(ctx, id, []byte("late")); err == nil {
		t.Fatal("send to a closed peer succeeded")
	}
}

// A STREAM that connects to a plain TCP server.
func TestStreamClient(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := newSocket(t, r, Stream)
	if err := s.Connect("tcp://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, err := s.Recv(ctx)
	if err != nil || len(hello[1]) != 0 {
		t.Fatalf("connect notice %q %v", hello, err)
	}
	if err := s.Send(ctx, hello[0], []byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("%q %v", buf, err)
	}
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv(ctx)
	if err != nil || string(m[1]) != "pong" {
		t.Fatalf("%q %v", m, err)
	}
}

// ZMQ_STREAM_NOTIFY off: no [id, empty] notices when peers connect or disconnect; data comes
// behind the routing id as before.
func TestStreamNotifyOff(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	s := newSocket(t, r, Stream, WithStreamNotify(false))
	ep, err := s.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	dial := func(say string) (net.Conn, []byte) {
		c, err := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := c.Write([]byte(say)); err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv(ctx)
		if err != nil || len(m) != 2 || len(m[0]) != 5 || string(m[1]) != say {
			t.Fatalf("first message %q %v, want [id, %q] and no connect notice", m, err, say)
		}
		return c, m[0]
	}
	a, idA := dial("a")
	b, idB := dial("b")
	_ = a.Close()
	// Once A's id is unknown the socket has seen A go, and would have queued its notice.
	waitFor(t, "A's disconnection", func() bool {
		return errors.Is(s.Send(withTimeout(t, time.Second), idA, []byte("?")), ErrHostUnreachable)
	})
	if _, err := b.Write([]byte("b2")); err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv(ctx)
	if err != nil || !bytes.Equal(m[0], idB) || string(m[1]) != "b2" {
		t.Fatalf("got %q %v, want B's data and no disconnect notice", m, err)
	}
}
