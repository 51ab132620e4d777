package reactor

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/ws"
	"github.com/zloop/zloop/zmtp"
)

// A dialed pipe outlives its connection: when the peer drops it, the pipe is detached (not for
// good), takes messages meanwhile, and is attached again once the dialer reconnected, and what was
// queued goes to the new connection. A reconnect interval of 0 redials at once.
func TestReconnect(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			copts := testOptions("PUSH")
			copts.ReconnectIvl = 0
			k := pair(t, r, tr, testOptions("PULL"), copts)
			send(t, k.co, k.cp, []byte("first"))
			if m := recv(t, k.bo, k.bp); string(m[0]) != "first" {
				t.Fatalf("got %q", m)
			}
			waitClosed(t, "the accepted pipe's close", k.bp.Close(0))
			if d := k.co.waitDetached(t); d.p != k.cp || d.final {
				t.Fatalf("the dialed pipe's detachment: final %v", d.final)
			}
			k.co.waitEvent(t, EventDisconnected)
			send(t, k.co, k.cp, []byte("queued while disconnected"))
			if p := k.co.waitAttached(t); p != k.cp {
				t.Fatal("the dialer attached another pipe after reconnecting")
			}
			bp := k.bo.waitAttached(t)
			if bp == k.bp {
				t.Fatal("the listener reused a closed pipe")
			}
			if m := recv(t, k.bo, bp); string(m[0]) != "queued while disconnected" {
				t.Fatalf("got %q", m)
			}
		})
	}
}

// A dialer whose peer does not exist yet reports each failed attempt and keeps trying, with a
// growing interval, until the peer appears.
func TestReconnectBackoff(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	ep := unboundIPC(t)
	o := newOwner(t, "push")
	opts := testOptions("PUSH")
	opts.ReconnectIvl, opts.ReconnectIvlMax = time.Millisecond, 8*time.Millisecond
	d := connect(t, r, ep, opts, o)
	for range 5 {
		if e := o.waitEvent(t, EventConnectRetried); e.Err == nil || e.Endpoint != ep {
			t.Fatalf("retry event %v", e)
		}
	}
	bo := newOwner(t, "pull")
	listen(t, r, ep, testOptions("PULL"), bo)
	if p := o.waitAttached(t); p != d.Pipe() {
		t.Fatal("another pipe attached")
	}
	bo.waitAttached(t)

	ivl := opts.ReconnectIvl
	for _, want := range []time.Duration{2, 4, 8, 8} {
		if ivl = d.backoff(ivl); ivl != want*time.Millisecond {
			t.Fatalf("backoff gave %v, want %v", ivl, want*time.Millisecond)
		}
	}
	flat := &Dialer{opts: &Options{ReconnectIvl: 5 * time.Millisecond}}
	if ivl := flat.backoff(5 * time.Millisecond); ivl != 5*time.Millisecond {
		t.Fatalf("without a maximum the interval grew to %v", ivl)
	}
}

// With a negative reconnect interval a dialer gives up after its first failure, or once its
// connection ends.
func TestNoReconnect(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PUSH")
	opts.ReconnectIvl = -1
	o := newOwner(t, "push")
	d := connect(t, r, unboundIPC(t), opts, o)
	o.waitEvent(t, EventConnectDelayed)
	waitClosed(t, "the dialer's goroutine", d.done)

	k := pair(t, r, "tcp", testOptions("PULL"), opts)
	k.bp.Close(0)
	if dt := k.co.waitDetached(t); !dt.final {
		t.Fatal("a dialed pipe that will not reconnect did not end with its connection")
	}
	waitClosed(t, "the dialer's goroutine", k.d.done)
}

// With IMMEDIATE a dialed pipe takes messages only while connected, and what was queued for a
// connection goes with it.
func TestImmediate(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	ep := unboundIPC(t)
	var sc Counters
	opts := testOptions("PUSH")
	opts.Immediate, opts.Counters, opts.SndBuf = true, &sc, 4096
	o := newOwner(t, "push")
	d := connect(t, r, ep, opts, o)
	p := d.Pipe()
	m := newMsg([]byte("early"))
	if p.TrySend(m) || p.CanSend() {
		t.Fatal("an unconnected IMMEDIATE pipe takes messages")
	}
	if p.SendLatest(m) {
		t.Fatal("an unconnected IMMEDIATE pipe takes a latest message")
	}
	m.Release()
	bo := newOwner(t, "pull")
	pullOpts := testOptions("PULL")
	pullOpts.RcvHWM = 1
	listen(t, r, ep, pullOpts, bo)
	o.waitAttached(t)
	bp := bo.waitAttached(t)
	if !p.CanSend() {
		t.Fatal("a connected IMMEDIATE pipe refuses messages")
	}
	backlogged(t, o, p, &sc, 2000) // the reader holds one message: most of the rest stays in the pipe
	bp.Close(0)
	if dt := o.waitDetached(t); dt.final {
		t.Fatal("the detachment is final")
	}
	if n := p.OutLen(); n != 0 {
		t.Fatalf("%d messages kept for the next connection", n)
	}
}

// A peer of a type ours does not talk to fails the handshake on both sides, over every transport.
func TestHandshakeIncompatible(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			bo, co := newOwner(t, "pull"), newOwner(t, "sub")
			l := listen(t, r, bindAddr(tr), testOptions("PULL", "PUSH"), bo)
			connect(t, r, l.Endpoint(), testOptions("SUB", "PUB", "XPUB"), co)
			for _, o := range []*testOwner{bo, co} {
				e := o.waitEvent(t, EventHandshakeFailedProtocol)
				if !errors.Is(e.Err, zmtp.ErrIncompatible) {
					t.Fatalf("%s: %v", o.name, e.Err)
				}
			}
		})
	}
}

// rawConn dials the endpoint ep with a plain connection that the test writes to itself.
func rawConn(t *testing.T, ep string) net.Conn {
	t.Helper()
	network, addr := netAddr(t, ep)
	c, err := net.DialTimeout(network, addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readToEOF reads c until the other side closes it, and returns what came.
func readToEOF(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the connection was not closed: %v", err)
	}
	return b
}

// Peers that are not ZMTP 3 peers fail the handshake: the connection is closed and the monitor
// says why.
func TestHandshakeFailures(t *testing.T) {
	cases := []struct {
		name  string
		send  []byte
		typ   EventType
		check func(error) bool
	}{
		{"not ZMTP", []byte("GET / HTTP/1.1\r\n\r\n"), EventHandshakeFailedProtocol, func(err error) bool {
			var pe *codec.ProtocolError
			return errors.As(err, &pe)
		}},
		{"ZMTP 2", []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 5}, EventHandshakeFailedProtocol, func(err error) bool {
			var ve *codec.VersionError
			return errors.As(err, &ve)
		}},
		{"silent", nil, EventHandshakeFailedNoDetail, func(err error) bool {
			return errors.Is(err, zmtp.ErrHandshakeTimeout)
		}},
		{"CURVE", codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechCurve}),
			EventHandshakeFailedProtocol, func(err error) bool { return errors.Is(err, zmtp.ErrMechanismMismatch) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			o := newOwner(t, "pull")
			opts := testOptions("PULL")
			opts.Session.HandshakeTimeout = 50 * time.Millisecond
			l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
			nc := rawConn(t, l.Endpoint())
			if _, err := nc.Write(c.send); err != nil {
				t.Fatal(err)
			}
			readToEOF(t, nc)
			e := o.waitEvent(t, c.typ)
			if !c.check(e.Err) {
				t.Fatalf("%v: unexpected cause", e)
			}
		})
	}
}

// PLAIN over tcp and ws: a client with the right credentials gets through and the server sees its
// user name; wrong credentials fail the handshake as an authentication failure; a NULL peer fails
// it as a protocol failure.
func TestHandshakePlain(t *testing.T) {
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			server := testOptions("PULL")
			server.Session.Plain, server.Session.PlainServer = true, true
			server.Session.Authenticate = func(user, pass []byte) bool {
				return string(user) == "admin" && string(pass) == "secret"
			}
			client := func(pass string) *Options {
				o := testOptions("PUSH")
				o.Session.Plain = true
				o.Session.PlainUsername, o.Session.PlainPassword = []byte("admin"), []byte(pass)
				return o
			}
			bo := newOwner(t, "server")
			l := listen(t, r, bindAddr(tr), server, bo)

			good := newOwner(t, "good")
			connect(t, r, l.Endpoint(), client("secret"), good)
			good.waitAttached(t)
			bp := bo.waitAttached(t)
			if u, ok := bp.Peer().Property("User-Id"); !ok || string(u) != "admin" {
				t.Fatalf("the server sees the user %q", u)
			}

			bad := newOwner(t, "bad")
			connect(t, r, l.Endpoint(), client("wrong"), bad)
			if e := bad.waitEvent(t, EventHandshakeFailedAuth); !errors.Is(e.Err, zmtp.ErrAuthentication) {
				t.Fatalf("wrong password: %v", e.Err)
			}
			if e := bo.waitEvent(t, EventHandshakeFailedAuth); !errors.Is(e.Err, zmtp.ErrAuthentication) {
				t.Fatalf("the server refused with %v", e.Err)
			}

			if tr == "tcp" { // over ws a NULL client asks for another subprotocol: see TestWSUpgradeRejected
				null := newOwner(t, "null")
				connect(t, r, l.Endpoint(), testOptions("PUSH"), null)
				if e := null.waitEvent(t, EventHandshakeFailedProtocol); !errors.Is(e.Err, zmtp.ErrMechanismMismatch) {
					t.Fatalf("NULL client: %v", e.Err)
				}
			}
		})
	}
}

// Heartbeats keep both sides of an idle connection up for many intervals, over tcp and ws (where a
// PING is a WebSocket ping, answered with a pong), and the connection still carries messages.
func TestHeartbeatsHold(t *testing.T) {
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			var sc Counters
			bopts, copts := testOptions("PULL"), testOptions("PUSH")
			for _, o := range []*Options{bopts, copts} {
				o.Session.HeartbeatIvl, o.Session.HeartbeatTimeout, o.Session.HeartbeatTTL = 5*time.Millisecond, 2*time.Second, 2*time.Second
			}
			copts.Counters = &sc
			k := pair(t, r, tr, bopts, copts)
			before := sc.Stats().Writes
			waitFor(t, "twenty heartbeats", func() bool { return sc.Stats().Writes >= before+20 })
			send(t, k.co, k.cp, []byte("still here"))
			if m := recv(t, k.bo, k.bp); string(m[0]) != "still here" {
				t.Fatalf("got %q", m)
			}
			for _, o := range []*testOwner{k.bo, k.co} {
				if strings.Contains(o.eventLog(), "DISCONNECTED") {
					t.Fatalf("%s: a connection dropped:%s", o.name, o.eventLog())
				}
			}
		})
	}
}

// A peer that completes the handshake and then reads nothing, so never answers a PING: the
// connection is dropped once the heartbeat timeout passes.
func TestHeartbeatTimeout(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	opts := testOptions("PUSH")
	opts.Session.HeartbeatIvl, opts.Session.HeartbeatTimeout = 5*time.Millisecond, 50*time.Millisecond
	opts.ReconnectIvl = -1
	o := newOwner(t, "push")
	connect(t, r, "tcp://"+ln.Addr().String(), opts, o)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := zmtptest.New(c, "PULL")
	if err := peer.Handshake(waitLimit); err != nil {
		t.Fatal(err)
	}
	o.waitAttached(t)
	if e := o.waitEvent(t, EventDisconnected); !errors.Is(e.Err, zmtp.ErrHeartbeatTimeout) {
		t.Fatalf("disconnected with %v", e.Err)
	}
	if d := o.waitDetached(t); !d.final {
		t.Fatal("the dialed pipe, which will not reconnect, did not end with its connection")
	}
}

// upgradeRequest is a WebSocket upgrade request for path offering proto.
func upgradeRequest(path, proto string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + proto + "\r\n\r\n"
}

// A ws:// listener answers a request it cannot upgrade with an HTTP error and closes the
// connection: another path, a subprotocol it does not speak, a ZMTP greeting.
func TestWSUpgradeRejected(t *testing.T) {
	cases := []struct {
		name, request string
		status        int
	}{
		{"path", upgradeRequest("/other", ws.ProtoNull), http.StatusNotFound},
		{"subprotocol", upgradeRequest("/zmq", ws.ProtoPlain), http.StatusBadRequest},
		{"ZMTP", string(codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechNull})), http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			o := newOwner(t, "server")
			l := listen(t, r, "ws://127.0.0.1:*/zmq", testOptions("PULL"), o)
			nc := rawConn(t, l.Endpoint())
			if _, err := io.WriteString(nc, c.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(readToEOF(t, nc)))), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			e := o.waitEvent(t, EventHandshakeFailedProtocol) // as libzmq's ws engine reports it
			if !errors.Is(e.Err, ws.ErrHandshake) {
				t.Fatalf("%v: not a failed upgrade", e)
			}
		})
	}
}

// A ws:// dialer whose server does not upgrade reports a failed handshake and tries again.
func TestWSDialerUpgradeFails(t *testing.T) {
	answers := map[string]string{
		"refused": "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
		"no subprotocol": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan error, 1)
			go func() {
				for range 2 { // the first attempt and one retry
					c, err := ln.Accept()
					if err != nil {
						served <- err
						return
					}
					br := bufio.NewReader(c)
					if _, err := http.ReadRequest(br); err != nil {
						c.Close()
						served <- err
						return
					}
					_, _ = io.WriteString(c, answer)
					c.Close()
				}
				served <- nil
			}()
			o := newOwner(t, "client")
			connect(t, r, "ws://"+ln.Addr().String()+"/zmq", testOptions("PUSH"), o)
			for range 2 {
				if e := o.waitEvent(t, EventHandshakeFailedProtocol); !errors.Is(e.Err, ws.ErrHandshake) {
					t.Fatalf("%v: not a failed upgrade", e)
				}
			}
			if err := <-served; err != nil {
				t.Fatal(err)
			}
		})
	}
}
