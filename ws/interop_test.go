package ws

import (
	"bytes"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testpeer"
)

// readyBody is a NULL-mechanism READY command body announcing sockType.
func readyBody(t testing.TB, sockType string) []byte {
	t.Helper()
	frame := codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte(sockType)})
	h, n, err := codec.ParseFrameHeader(frame, -1)
	if err != nil || int(h.Size) != len(frame)-n {
		t.Fatalf("codec READY: %v", err)
	}
	return frame[n:]
}

// wsPeer is the Go end of a ZWS connection in the interop tests.
type wsPeer struct {
	t    testing.TB
	c    net.Conn
	conn *conn
	mask *[4]byte
}

// next reads until the decoder has reported more than have events.
func (p *wsPeer) next(have int) string {
	p.t.Helper()
	tmp := make([]byte, 4096)
	for len(p.conn.h.events) <= have {
		if p.conn.err != nil {
			p.t.Fatalf("decoder: %v", p.conn.err)
		}
		k, err := p.c.Read(tmp)
		if err != nil {
			p.t.Fatalf("read: %v (events so far %q)", err, p.conn.h.events)
		}
		p.conn.feed(tmp[:k])
	}
	return p.conn.h.events[have]
}

// checkReady parses body as a READY command from a libzmq DEALER.
func (p *wsPeer) checkReady(body []byte) {
	p.t.Helper()
	cmd, err := codec.ParseCommand(body)
	if err != nil || !cmd.Is(codec.CmdReady) {
		p.t.Fatalf("libzmq's first frame %q is not READY: %v", body, err)
	}
	var sockType string
	err = codec.ParseMetadata(cmd.Data, func(name, value []byte) error {
		if string(name) == "Socket-Type" {
			sockType = string(value)
		}
		return nil
	})
	if err != nil || sockType != "DEALER" {
		p.t.Fatalf("READY metadata: Socket-Type %q, %v", sockType, err)
	}
}

func (p *wsPeer) send(flags byte, body []byte) {
	p.t.Helper()
	if _, err := p.c.Write(AppendFrame(nil, flags, body, p.mask)); err != nil {
		p.t.Fatal(err)
	}
}

// exchange runs the NULL handshake and a message each way with a libzmq DEALER.
func (p *wsPeer) exchange(peer *testpeer.Peer) {
	t := p.t
	t.Helper()
	// ZWS: no greeting; READY goes straight into the WebSocket.
	p.send(FlagCommand, readyBody(t, "DEALER"))
	p.next(0)
	p.checkReady(p.conn.h.bodies[0])
	p.send(FlagMore, []byte("part1"))
	p.send(0, []byte("part2"))
	got, err := peer.Recv(10 * time.Second)
	if err != nil || len(got) != 2 || string(got[0]) != "part1" || string(got[1]) != "part2" {
		t.Fatalf("libzmq received %q, %v", got, err)
	}
	big := bytes.Repeat([]byte("z"), 70000)
	peer.Send([]byte("hello"), big)
	if ev := p.next(1); ev != frameEv(FlagMore, []byte("hello")) {
		t.Fatalf("got %s, want the first part", ev)
	}
	if ev := p.next(2); ev != frameEv(0, big) {
		t.Fatalf("got %s, want the 70000-byte part", ev)
	}
	// A WebSocket ping must come back as a pong with the same payload.
	if _, err := p.c.Write(AppendControl(nil, OpPing, []byte("are you there"), p.mask)); err != nil {
		t.Fatal(err)
	}
	// libzmq 4.3.4 answers with an empty pong instead of echoing the payload.
	if ev := p.next(3); ev != ctrlEv(OpPong, []byte("are you there")) && ev != ctrlEv(OpPong, nil) {
		t.Fatalf("libzmq answered a ping with %s, want a pong", ev)
	}
}

func TestInteropLibzmqServer(t *testing.T) {
	if err := testpeer.Available(); err != nil {
		t.Skip(err)
	}
	peer := testpeer.Start(t, "DEALER")
	ep := peer.Bind("ws://127.0.0.1:*/zmq")
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	proto, leftover, err := ClientHandshake(c, u, []string{ProtoNull})
	if err != nil || proto != ProtoNull {
		t.Fatalf("proto=%q err=%v", proto, err)
	}
	p := &wsPeer{t: t, c: c, conn: newConn(t, false, -1), mask: &testMask}
	p.conn.h.keep = true
	p.conn.feed(leftover)
	p.exchange(peer)
}

func TestInteropLibzmqClient(t *testing.T) {
	if err := testpeer.Available(); err != nil {
		t.Skip(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := testpeer.Start(t, "DEALER")
	peer.Connect("ws://" + ln.Addr().String() + "/zmq")
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	// The real libzmq request, through Accept, and our 101 through libzmq's parser.
	proto, resp, rest, err := acceptConn(c, &ServerConfig{Path: "/zmq", Protocols: []string{ProtoNull, ProtoBare}})
	if err != nil || proto != ProtoNull {
		t.Fatalf("proto=%q err=%v", proto, err)
	}
	if _, err := c.Write(resp); err != nil {
		t.Fatal(err)
	}
	p := &wsPeer{t: t, c: c, conn: newConn(t, true, -1)}
	p.conn.h.keep = true
	p.conn.feed(rest)
	p.exchange(peer)
}

// libzmq's ZMQ_HEARTBEAT_IVL over ws sends WebSocket pings (not ZMTP PING commands)
// and drops a peer whose pong does not come within the timeout. Answering with
// AppendControl(OpPong) keeps the connection up across several heartbeats.
func TestInteropLibzmqHeartbeat(t *testing.T) {
	if err := testpeer.Available(); err != nil {
		t.Skip(err)
	}
	peer := testpeer.Start(t, "DEALER")
	peer.SetInt("HEARTBEAT_IVL", 50)
	peer.SetInt("HEARTBEAT_TIMEOUT", 250)
	u, _ := url.Parse(peer.Bind("ws://127.0.0.1:*/zmq"))
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	_, leftover, err := ClientHandshake(c, u, []string{ProtoNull})
	if err != nil {
		t.Fatal(err)
	}
	p := &wsPeer{t: t, c: c, conn: newConn(t, false, -1), mask: &testMask}
	p.conn.h.keep = true
	p.conn.feed(leftover)
	p.send(FlagCommand, readyBody(t, "DEALER"))
	p.next(0)
	p.checkReady(p.conn.h.bodies[0])
	pings := 0
	for i := 1; pings < 20; i++ {
		ev := p.next(i)
		if ev != ctrlEv(OpPing, nil) {
			t.Fatalf("event %d: %s, want an empty ping", i, ev)
		}
		pings++
		if _, err := c.Write(AppendControl(nil, OpPong, nil, p.mask)); err != nil {
			t.Fatal(err)
		}
	}
	p.send(0, []byte("still here"))
	got, err := peer.Recv(10 * time.Second)
	if err != nil || len(got) != 1 || string(got[0]) != "still here" {
		t.Fatalf("after %d heartbeats libzmq received %q, %v", pings, got, err)
	}
}
