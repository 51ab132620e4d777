package sockets

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Every compatible pair of socket types, zloop against zloop, over each transport (ws://, tls://
// and wss:// too, with mutual TLS): the socket layer
// must not depend on how a message travelled (a command over inproc arrives unparsed, for one).
func TestPatternsOverEveryTransport(t *testing.T) {
	type link struct{ b, c *Socket } // the bound and the connecting socket
	cases := []struct {
		bind, conn Type
		bo, co     []Option
		run        func(t *testing.T, l link)
	}{
		{Pull, Push, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "x")
			expectMsg(t, l.b, "x")
		}},
		{Rep, Req, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "q")
			expectMsg(t, l.b, "q")
			send(t, l.b, "a")
			expectMsg(t, l.c, "a")
		}},
		{Rep, Dealer, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "", "q")
			expectMsg(t, l.b, "q")
			send(t, l.b, "a")
			expectMsg(t, l.c, "", "a")
		}},
		{Router, Req, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "q")
			m := recvN(t, l.b, 3)
			expectFrames(t, m[1:], "", "q")
			send(t, l.b, string(m[0]), "", "a")
			expectMsg(t, l.c, "a")
		}},
		{Router, Dealer, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "q")
			m := recvN(t, l.b, 2)
			expectFrames(t, m[1:], "q")
			send(t, l.b, string(m[0]), "a")
			expectMsg(t, l.c, "a")
		}},
		{Dealer, Router, nil, []Option{WithRouterMandatory(true)}, func(t *testing.T, l link) {
			// The connecting ROUTER learns the DEALER's generated id only from a message.
			send(t, l.b, "hello")
			m := recvN(t, l.c, 2)
			send(t, l.c, string(m[0]), "back")
			expectMsg(t, l.b, "back")
		}},
		{Pair, Pair, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "ping")
			expectMsg(t, l.b, "ping")
			send(t, l.b, "pong")
			expectMsg(t, l.c, "pong")
		}},
		{Dealer, Dealer, nil, nil, func(t *testing.T, l link) {
			send(t, l.c, "a", "b")
			expectMsg(t, l.b, "a", "b")
			send(t, l.b, "c")
			expectMsg(t, l.c, "c")
		}},
		{Router, Router, []Option{WithRoutingID([]byte("srv"))},
			[]Option{WithRoutingID([]byte("cli")), WithRouterMandatory(true)}, func(t *testing.T, l link) {
				waitFor(t, "a route to srv", func() bool {
					err := l.c.Send(testCtx(t), []byte("srv"), []byte("q"))
					if err != nil && !errors.Is(err, ErrHostUnreachable) {
						t.Fatal(err)
					}
					return err == nil
				})
				expectMsg(t, l.b, "cli", "q")
				send(t, l.b, "cli", "a")
				expectMsg(t, l.c, "srv", "a")
			}},
		{Pub, Sub, nil, nil, func(t *testing.T, l link) { pubSub(t, l.b, l.c, false) }},
		{Pub, XSub, nil, nil, func(t *testing.T, l link) { pubSub(t, l.b, l.c, true) }},
		{XPub, Sub, nil, nil, func(t *testing.T, l link) {
			pubSub(t, l.b, l.c, false)
			expectMsg(t, l.b, "\x01t")
		}},
		{XPub, XSub, nil, nil, func(t *testing.T, l link) {
			pubSub(t, l.b, l.c, true)
			expectMsg(t, l.b, "\x01t")
			send(t, l.c, "upstream")
			expectMsg(t, l.b, "upstream")
		}},
	}
	for _, transport := range []string{"tcp", "ipc", "inproc", "ws", "tls", "wss"} {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("%s/%v-%v", transport, tc.conn, tc.bind), func(t *testing.T) {
				r := newReactor(t)
				bo, co := tc.bo, tc.co
				if transport == "tls" || transport == "wss" {
					bo = append(bo[:len(bo):len(bo)], tlsServer(t))
					co = append(co[:len(co):len(co)], tlsClient(t))
				}
				b := newSocket(t, r, tc.bind, bo...)
				c := newSocket(t, r, tc.conn, co...)
				ep := map[string]string{"tcp": "tcp://127.0.0.1:*", "ipc": "ipc://*", "ws": "ws://127.0.0.1:*/zmq",
					"tls": "tls://127.0.0.1:*", "wss": "wss://127.0.0.1:*/zmq",
					"inproc": fmt.Sprintf("inproc://patterns-%d", i)}[transport]
				ep, err := b.Bind(ep)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Connect(ep); err != nil {
					t.Fatal(err)
				}
				tc.run(t, link{b, c})
			})
		}
	}
}

func send(t *testing.T, s *Socket, frames ...string) {
	t.Helper()
	var fs [][]byte
	for _, f := range frames {
		fs = append(fs, []byte(f))
	}
	if err := s.Send(testCtx(t), fs...); err != nil {
		t.Fatal(err)
	}
}

func recvN(t *testing.T, s *Socket, n int) [][]byte {
	t.Helper()
	m, err := s.Recv(testCtx(t))
	if err != nil || len(m) != n {
		t.Fatalf("got %q, %v; want %d frames", m, err, n)
	}
	return m
}

func expectFrames(t *testing.T, m [][]byte, frames ...string) {
	t.Helper()
	if len(m) != len(frames) {
		t.Fatalf("got %q, want %q", m, frames)
	}
	for i := range frames {
		if string(m[i]) != frames[i] {
			t.Fatalf("got %q, want %q", m, frames)
		}
	}
}

func expectMsg(t *testing.T, s *Socket, frames ...string) {
	t.Helper()
	expectFrames(t, recvN(t, s, len(frames)), frames...)
}

// pubSub subscribes c to "t" (by a 0x01 frame for an XSUB), waits until the subscription took
// effect, and checks that "other" topics are filtered out.
func pubSub(t *testing.T, pub, sub *Socket, xsub bool) {
	t.Helper()
	if xsub {
		send(t, sub, "\x01t")
	} else if err := sub.Subscribe([]byte("t")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subscription", func() bool {
		send(t, pub, "other")
		send(t, pub, "t-probe")
		m, err := sub.Recv(withTimeout(t, 20*time.Millisecond))
		return err == nil && string(m[0]) == "t-probe"
	})
	for { // probes still on their way
		if _, err := sub.Recv(withTimeout(t, 20*time.Millisecond)); err != nil {
			break
		}
	}
	send(t, pub, "other")
	send(t, pub, "t1")
	expectMsg(t, sub, "t1")
}
