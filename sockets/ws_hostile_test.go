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
