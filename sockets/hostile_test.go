package sockets

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/reactor"
)

// Hostile peers: each malformed connection is closed (with a monitor event) while the socket keeps
// serving a well-behaved peer, and nothing panics.
func TestHostileInput(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	events := pull.Monitor(256)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(ep, "tcp://")
	good := newSocket(t, r, Push)
	if err := good.Connect(ep); err != nil {
		t.Fatal(err)
	}

	greeting := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	handshaken := func(t *testing.T) net.Conn {
		p, err := zmtptest.Dial("tcp", addr, "PUSH", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return p.Conn
	}
	raw := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	manyFrames := func() []byte {
		var b []byte
		for i := 0; i < 70000; i++ {
			b = codec.AppendFrame(b, codec.FlagMore, []byte{1})
		}
		return b
	}
	truncatedReady := func() []byte {
		body := []byte("\x05READY\x0bSocket-Type\x00\x00\x00\x10PU") // value says 16 bytes, has 2
		return append(append([]byte(nil), greeting...), codec.AppendFrame(nil, codec.FlagCommand, body)...)
	}()
	v2 := append([]byte(nil), greeting...)
	v2[10] = 1 // a ZMTP 2.0 peer

	cases := []struct {
		name  string
		dial  func(*testing.T) net.Conn
		bytes []byte
	}{
		{"http request instead of a greeting", raw, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat(" ", 40))},
		{"zmtp 2.0 greeting", raw, v2},
		{"truncated READY", raw, truncatedReady},
		{"reserved flag bits", handshaken, []byte{0x08, 0x01, 'x'}},
		{"8-byte size of 2^63", handshaken, []byte{0x02, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"multipart message that never ends", handshaken, manyFrames()},
		{"command frame with MORE", handshaken, []byte{0x05, 0x04, 4, 'P', 'I', 'N'}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.dial(t)
			defer c.Close()
			if _, err := c.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			p := zmtptest.New(c, "PUSH")
			if err := p.WaitClosed(10 * time.Second); err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			waitEvent(t, events, func(e reactor.Event) bool {
				return e.Err != nil && (e.Type == reactor.EventHandshakeFailedProtocol || e.Type == reactor.EventDisconnected)
			})
			// The socket still serves the good peer.
			want := []byte{byte(i), 'o', 'k'}
			if err := good.Send(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := pull.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !bytes.Equal(got[0], want) {
				t.Fatalf("good peer's message: %q", got)
			}
		})
	}
}

func waitEvent(t *testing.T, events <-chan reactor.Event, match func(reactor.Event) bool) reactor.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no matching monitor event")
		}
	}
}
