package sockets

import (
	"bytes"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/ws"
)

// Hostile WebSocket clients: each is closed, with a monitor event, and the ws:// socket keeps serving
// a well-behaved zloop peer.
func TestWSHostileInput(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	events := pull.Monitor(256)
	ep, err := pull.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ep)
	good := newSocket(t, r, Push)
	if err := good.Connect(ep); err != nil {
		t.Fatal(err)
	}

	raw := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	upgraded := func(t *testing.T) net.Conn {
		c := raw(t)
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := ws.ClientHandshake(c, u, []string{ws.ProtoNull}); err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Time{})
		return c
	}
	request := func(extra string) []byte {
		return []byte("GET /zmq HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n")
	}
	key := [4]byte{1, 2, 3, 4}
	cases := []struct {
		name  string
		dial  func(*testing.T) net.Conn
		bytes []byte
	}{
		{"oversized header", raw, request("X-Big: " + strings.Repeat("a", 64<<10) + "\r\n")},
		{"missing subprotocol", raw, request("")},
		{"unknown subprotocol", raw, request("Sec-WebSocket-Protocol: ZWS2.0/CURVE\r\n")},
		{"unmasked client frame", upgraded, ws.AppendFrame(nil, ws.FlagCommand, []byte("\x05READY"), nil)},
		{"fragmented control frame", upgraded, append([]byte{0x09, 0x80}, key[:]...)},
		{"length of 2^63", upgraded, append([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, key[:]...)},
		{"text frame", upgraded, ws.AppendControl(nil, ws.OpText, []byte("hi"), &key)},
		// A command is collected whole: one announced at 1 MiB is refused from its header, before
		// any of it is buffered (the bytes after the flags never come).
		{"command of 1 MiB", upgraded, append(append([]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0}, key[:]...),
			0x02^key[0], 5^key[1], 'R'^key[2], 'E'^key[3])},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.dial(t)
			defer c.Close()
			if _, err := c.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if err := zmtptest.New(c, "PUSH").WaitClosed(10 * time.Second); err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			waitEvent(t, events, func(e reactor.Event) bool {
				return e.Err != nil && (e.Type == reactor.EventHandshakeFailedProtocol ||
					e.Type == reactor.EventDisconnected || e.Type == reactor.EventHandshakeFailedNoDetail)
			})
			want := []byte{byte(i), 'o', 'k'}
			if err := good.Send(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := pull.Recv(ctx)
			if err != nil || !bytes.Equal(got[0], want) {
				t.Fatalf("good peer: %q %v", got, err)
			}
		})
	}
}

// A client that offers only the bare "ZWS2.0" subprotocol runs no handshake: each side sends its
// routing id as its first message (empty here), then data flows, as with libzmq.
func TestWSBareSubprotocol(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ep)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	proto, leftover, err := ws.ClientHandshake(c, u, []string{ws.ProtoBare})
	if err != nil || proto != ws.ProtoBare {
		t.Fatalf("proto %q, %v", proto, err)
	}
	key := [4]byte{9, 8, 7, 6}
	out := ws.AppendFrame(nil, 0, nil, &key) // our routing id: none
	out = ws.AppendFrame(out, 0, []byte("hello"), &key)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	m, err := pull.Recv(ctx)
	if err != nil || string(m[0]) != "hello" {
		t.Fatalf("%q %v", m, err)
	}
	// The server's first message is its routing id: an empty data frame, no READY.
	want := ws.AppendFrame(nil, 0, nil, nil)
	got := leftover
	for len(got) < len(want) {
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("server's first frame % x, want % x", got, want)
	}
}

// A WebSocket ping is answered with a pong carrying its payload; a close is answered with a close,
// and the connection ends.
func TestWSPingAndClose(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ep)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, leftover, err := ws.ClientHandshake(c, u, []string{ws.ProtoNull})
	if err != nil {
		t.Fatal(err)
	}
	key := [4]byte{1, 1, 2, 3}
	if _, err := c.Write(ws.AppendControl(nil, ws.OpPing, []byte("are you there"), &key)); err != nil {
		t.Fatal(err)
	}
	// The server's READY (one data message) comes first, then the pong.
	var got []byte
	got = append(got, leftover...)
	want := ws.AppendControl(nil, ws.OpPong, []byte("are you there"), nil)
	for !bytes.Contains(got, want) {
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no pong in % x: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if _, err := c.Write(ws.AppendClose(nil, ws.CloseNormal, "bye", &key)); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for {
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break // the server closed after answering
		}
	}
	if len(got) < 2 || got[0] != 0x80|ws.OpClose {
		t.Fatalf("no close answer before the end: % x", got)
	}
}
