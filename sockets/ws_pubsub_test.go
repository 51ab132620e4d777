package sockets

// Publish-subscribe against libzmq 4.3 over ws://. libzmq's ws engine takes a subscription only
// as a data frame 0x01+topic / 0x00+topic; a SUBSCRIBE or CANCEL command is dropped by it, so a
// zloop SUB that sent commands heard nothing from a libzmq PUB.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/ws"
)

// Every publish-subscribe pair of the interop matrix, over ws, zloop on either side, either side
// binding: single-frame and multipart messages, and upstream messages for XPUB/XSUB.
func TestInteropWSPubSub(t *testing.T) {
	skipWithoutPeer(t)
	type pair struct{ zloop, libzmq Type }
	pairs := []pair{
		{Pub, Sub}, {Sub, Pub}, {Pub, XSub}, {XSub, Pub},
		{XPub, Sub}, {Sub, XPub}, {XPub, XSub}, {XSub, XPub},
	}
	for _, pr := range pairs {
		for _, zloopBinds := range []bool{true, false} {
			name := fmt.Sprintf("zloop %v to libzmq %v, zloop binds %v", pr.zloop, pr.libzmq, zloopBinds)
			t.Run(name, func(t *testing.T) {
				z, l := linkOpts(t, pr.zloop, pr.libzmq.String(), zloopBinds, "ws", nil, nil)
				exchangePattern(t, z, l, pr.zloop, pr.libzmq)
			})
		}
	}
}

// Subscriptions and cancellations over ws in both directions: the publisher filters on the
// topics it was told, and forgets a cancelled one.
func TestInteropWSSubscriptions(t *testing.T) {
	skipWithoutPeer(t)
	for _, zloopBinds := range []bool{true, false} {
		t.Run(fmt.Sprintf("zloop binds %v", zloopBinds), func(t *testing.T) {
			t.Run("libzmq SUB to zloop XPUB", func(t *testing.T) {
				xpub, sub := linkOpts(t, XPub, "SUB", zloopBinds, "ws", nil, func(l *testpeer.Peer) {
					l.SetBytes("SUBSCRIBE", []byte("A"))
				})
				expect(t, "zloop XPUB", 0, awaitXPubSub(t, xpub, sub), frames([]byte("\x01A")))
				for _, topic := range []string{"B1", "A1", "C1", "A2"} {
					mustSend(t, xpub, []byte(topic), []byte("body"))
				}
				expect(t, "libzmq SUB", 0, libRecv(t, sub), frames([]byte("A1"), []byte("body")))
				expect(t, "libzmq SUB", 1, libRecv(t, sub), frames([]byte("A2"), []byte("body")))
				sub.SetBytes("UNSUBSCRIBE", []byte("A"))
				expect(t, "zloop XPUB", 1, mustRecv(t, xpub), frames([]byte("\x00A")))
				if got := peerTopics(xpub); len(got) != 0 {
					t.Fatalf("topics %q left after the cancellation", got)
				}
			})
			t.Run("libzmq SUB to zloop PUB", func(t *testing.T) {
				pub, sub := linkOpts(t, Pub, "SUB", zloopBinds, "ws", nil, func(l *testpeer.Peer) {
					l.SetBytes("SUBSCRIBE", []byte("A"))
				})
				expect(t, "libzmq SUB", 0, awaitTopic(t, pub, sub, "B", "A"), frames([]byte("A-probe")))
				// The cancellation and the new subscription travel in order on one connection:
				// once C arrives, the PUB has applied both.
				sub.SetBytes("UNSUBSCRIBE", []byte("A"))
				sub.SetBytes("SUBSCRIBE", []byte("C"))
				expect(t, "libzmq SUB", 1, awaitTopic(t, pub, sub, "A", "C"), frames([]byte("C-probe")))
				if got := peerTopics(pub); !slices.Equal(got, []string{"C"}) {
					t.Fatalf("the PUB filters on %q, want [C]", got)
				}
			})
			t.Run("libzmq XSUB to zloop XPUB", func(t *testing.T) {
				xpub, xsub := linkOpts(t, XPub, "XSUB", zloopBinds, "ws", nil, nil)
				xsub.Send([]byte("\x01A"))
				expect(t, "zloop XPUB", 0, awaitXPubSub(t, xpub, xsub), frames([]byte("\x01A")))
				mustSend(t, xpub, []byte("B1"))
				mustSend(t, xpub, []byte("A1"), []byte("body"))
				expect(t, "libzmq XSUB", 0, libRecv(t, xsub), frames([]byte("A1"), []byte("body")))
				xsub.Send([]byte("\x00A"))
				expect(t, "zloop XPUB", 1, mustRecv(t, xpub), frames([]byte("\x00A")))
				if got := peerTopics(xpub); len(got) != 0 {
					t.Fatalf("topics %q left after the cancellation", got)
				}
			})
			t.Run("zloop SUB to libzmq XPUB", func(t *testing.T) {
				zsub, lpub := linkOpts(t, Sub, "XPUB", zloopBinds, "ws", nil, func(l *testpeer.Peer) {
					l.SetInt("XPUB_VERBOSE", 1)
				})
				if err := zsub.Subscribe([]byte("T")); err != nil {
					t.Fatal(err)
				}
				expect(t, "libzmq XPUB", 0, libRecv(t, lpub), frames([]byte("\x01T")))
				if err := zsub.Subscribe([]byte("T")); err != nil {
					t.Fatal(err)
				}
				expect(t, "libzmq XPUB (verbose)", 1, libRecv(t, lpub), frames([]byte("\x01T")))
				lpub.Send([]byte("T1"))
				lpub.Send([]byte("U1"))
				lpub.Send([]byte("T2"), []byte("body"))
				expect(t, "zloop SUB", 0, mustRecv(t, zsub), frames([]byte("T1")))
				expect(t, "zloop SUB", 1, mustRecv(t, zsub), frames([]byte("T2"), []byte("body")))
				// Two subscriptions need two cancellations: the first one stays in zloop, the
				// second reaches libzmq.
				if err := zsub.Unsubscribe([]byte("T")); err != nil {
					t.Fatal(err)
				}
				if err := zsub.Unsubscribe([]byte("T")); err != nil {
					t.Fatal(err)
				}
				expect(t, "libzmq XPUB", 2, libRecv(t, lpub), frames([]byte("\x00T")))
			})
			t.Run("zloop XSUB to libzmq XPUB", func(t *testing.T) {
				xsub, lpub := linkOpts(t, XSub, "XPUB", zloopBinds, "ws", nil, nil)
				mustSend(t, xsub, []byte("\x01T"))
				expect(t, "libzmq XPUB", 0, libRecv(t, lpub), frames([]byte("\x01T")))
				lpub.Send([]byte("U1"))
				lpub.Send([]byte("T1"), []byte("body"))
				expect(t, "zloop XSUB", 0, mustRecv(t, xsub), frames([]byte("T1"), []byte("body")))
				mustSend(t, xsub, []byte("\x00T"))
				expect(t, "libzmq XPUB", 1, libRecv(t, lpub), frames([]byte("\x00T")))
			})
		})
	}
}

// awaitTopic publishes other+"-probe" and want+"-probe" from pub until the libzmq subscriber
// receives something, and returns that.
func awaitTopic(t *testing.T, pub *Socket, l *testpeer.Peer, other, want string) [][]byte {
	t.Helper()
	deadline := time.Now().Add(interopWait)
	for {
		mustSend(t, pub, []byte(other+"-probe"))
		mustSend(t, pub, []byte(want+"-probe"))
		m, err := l.Recv(20 * time.Millisecond)
		if err == nil {
			return m
		}
		if !errors.Is(err, testpeer.ErrTimeout) || time.Now().After(deadline) {
			t.Fatalf("no %s-probe reached libzmq: %v", want, err)
		}
	}
}

// peerTopics returns the topics the first peer of a PUB or XPUB is subscribed to, sorted.
func peerTopics(s *Socket) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(pubState(firstPipe(s)).topics))
}

// Over ws a subscription and its cancellation go as data frames, never as commands, and a
// publisher takes both forms: a raw ZWS client sees and sends every frame.
func TestWSSubscriptionWireForms(t *testing.T) {
	r := newReactor(t)
	sub := newSocket(t, r, Sub)
	if err := sub.Subscribe([]byte("topic")); err != nil {
		t.Fatal(err)
	}
	ep, err := sub.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	p := wsRawConnect(t, ep, "PUB")
	for i, want := range []string{"\x01topic", "\x01more", "\x00topic"} {
		switch i {
		case 1:
			if err := sub.Subscribe([]byte("more")); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := sub.Unsubscribe([]byte("topic")); err != nil {
				t.Fatal(err)
			}
		}
		if flags, body := p.frame(t); flags != 0 || string(body) != want {
			t.Fatalf("frame %d: flags %#x %q, want a data frame %q", i, flags, body, want)
		}
	}

	xpub := newSocket(t, r, XPub, WithXPubVerboser(true))
	ep, err = xpub.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	s := wsRawConnect(t, ep, "SUB")
	s.send(t, 0, []byte("\x01data"))
	expect(t, "XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01data")))
	s.send(t, ws.FlagCommand, []byte("\x09SUBSCRIBEcommand"))
	expect(t, "XPUB", 1, mustRecv(t, xpub), frames([]byte("\x01command")))
	s.send(t, ws.FlagCommand, []byte("\x06CANCELcommand"))
	expect(t, "XPUB", 2, mustRecv(t, xpub), frames([]byte("\x00command")))
	s.send(t, 0, []byte("\x00data"))
	expect(t, "XPUB", 3, mustRecv(t, xpub), frames([]byte("\x00data")))
	s.send(t, 0, []byte("\x01d"))
	expect(t, "XPUB", 4, mustRecv(t, xpub), frames([]byte("\x01d")))
	mustSend(t, xpub, []byte("command!"))
	mustSend(t, xpub, []byte("data!"))
	if flags, body := s.frame(t); flags != 0 || string(body) != "data!" {
		t.Fatalf("SUB got flags %#x %q, want \"data!\"", flags, body)
	}
}

// wsRawPeer speaks ZWS 2.0 by hand as a client: it masks what it sends and sees every frame.
type wsRawPeer struct {
	c   net.Conn
	buf []byte
	key [4]byte
}

func wsRawConnect(t *testing.T, ep, sockType string) *wsRawPeer {
	t.Helper()
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, leftover, err := ws.ClientHandshake(c, u, []string{ws.ProtoNull})
	if err != nil {
		t.Fatal(err)
	}
	p := &wsRawPeer{c: c, buf: leftover, key: [4]byte{3, 1, 4, 1}}
	ready := codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte(sockType)})
	p.send(t, ws.FlagCommand, ready[2:]) // the body, without the ZMTP frame header
	if flags, body := p.frame(t); flags&ws.FlagCommand == 0 || !bytes.HasPrefix(body, []byte("\x05READY")) {
		t.Fatalf("expected READY, got flags %#x %q", flags, body)
	}
	return p
}

// frame returns the ZWS flags and body of the next WebSocket message from the server.
func (p *wsRawPeer) frame(t *testing.T) (byte, []byte) {
	t.Helper()
	for {
		h, n, err := ws.ParseHeader(p.buf, 1<<20)
		if err == nil && uint64(len(p.buf)-n) >= h.Len {
			payload := p.buf[n : n+int(h.Len)]
			p.buf = p.buf[n+int(h.Len):]
			if h.Masked || len(payload) == 0 {
				t.Fatalf("server frame masked %v, %d bytes", h.Masked, len(payload))
			}
			return payload[0], bytes.Clone(payload[1:])
		} else if err != nil && !errors.Is(err, ws.ErrShort) {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		k, err := p.c.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		p.buf = append(p.buf, b[:k]...)
	}
}

func (p *wsRawPeer) send(t *testing.T, flags byte, body []byte) {
	t.Helper()
	if _, err := p.c.Write(ws.AppendFrame(nil, flags, body, &p.key)); err != nil {
		t.Fatal(err)
	}
}
