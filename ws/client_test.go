package ws

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// serveOnce listens on loopback, accepts one connection and runs serve on it in a
// goroutine; the returned function waits for serve to finish and reports its error.
func serveOnce(t *testing.T, serve func(c net.Conn) error) (addr string, wait func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		done <- serve(c)
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), func() error { return <-done }
}

// acceptConn reads from c until Accept decides, as a loop would do with OnTraffic.
// It returns the chosen protocol, the response to write, and the bytes received
// after the request.
func acceptConn(c net.Conn, cfg *ServerConfig) (proto string, resp, rest []byte, err error) {
	var buf []byte
	tmp := make([]byte, 512)
	for {
		k, rerr := c.Read(tmp)
		buf = append(buf, tmp[:k]...)
		proto, n, out, err := Accept(buf, cfg, nil)
		if err == nil {
			return proto, out, buf[n:], nil
		}
		if err != ErrShort {
			var rej *RejectError
			if errors.As(err, &rej) {
				return "", rej.Response, nil, err
			}
			return "", nil, nil, err
		}
		if rerr != nil {
			return "", nil, nil, rerr
		}
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// The server writes its 101 and a first frame in one write; the frame must come
// back in leftover. Then a masked client frame goes the other way.
func TestClientHandshakeLoopback(t *testing.T) {
	serverBody := pattern(3000, 5)
	addr, wait := serveOnce(t, func(c net.Conn) error {
		proto, resp, rest, err := acceptConn(c, &ServerConfig{Path: "/zmq", Protocols: []string{ProtoNull, ProtoBare}})
		if err != nil {
			return err
		}
		if proto != ProtoNull {
			return errors.New("server chose " + proto)
		}
		resp = AppendFrame(resp, FlagCommand, []byte("\x05READY"), nil)
		resp = AppendFrame(resp, 0, serverBody, nil)
		if _, err := c.Write(resp); err != nil {
			return err
		}
		// Decode the client's frame with a server decoder.
		conn := newConn(goTB{t}, true, -1)
		conn.feed(rest)
		tmp := make([]byte, 4096)
		for len(conn.h.events) < 1 && conn.err == nil {
			k, err := c.Read(tmp)
			if err != nil {
				return err
			}
			conn.feed(tmp[:k])
		}
		if conn.err != nil {
			return conn.err
		}
		if want := []string{frameEv(FlagMore, []byte("from client"))}; !slices.Equal(conn.h.events, want) {
			return errors.New("server got " + strings.Join(conn.h.events, ";"))
		}
		return nil
	})
	c := dial(t, addr)
	u, _ := url.Parse("ws://" + addr + "/zmq")
	proto, leftover, err := ClientHandshake(c, u, []string{ProtoNull})
	if err != nil || proto != ProtoNull {
		t.Fatalf("proto=%q err=%v", proto, err)
	}
	if len(leftover) == 0 {
		t.Fatal("the frames sent with the 101 were lost")
	}
	cl := &conn{d: NewDecoder(false, -1), h: &recorder{t: t}}
	cl.feed(leftover)
	tmp := make([]byte, 4096)
	for len(cl.h.events) < 2 && cl.err == nil {
		k, err := c.Read(tmp)
		if err != nil {
			t.Fatal(err)
		}
		cl.feed(tmp[:k])
	}
	want := []string{frameEv(FlagCommand, []byte("\x05READY")), frameEv(0, serverBody)}
	if cl.err != nil || !slices.Equal(cl.h.events, want) {
		t.Fatalf("client decoded %q err=%v", cl.h.events, cl.err)
	}
	if _, err := c.Write(AppendFrame(nil, FlagMore, []byte("from client"), &testMask)); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
}

func TestClientHandshakeFailures(t *testing.T) {
	cases := []struct {
		name     string
		response string // raw server answer; empty means run Accept with cfg
		cfg      *ServerConfig
		offer    []string
		detail   string
	}{
		{name: "rejected path", cfg: &ServerConfig{Path: "/elsewhere"}, detail: "404"},
		{name: "no common protocol", cfg: &ServerConfig{Protocols: []string{ProtoCurve}}, offer: []string{ProtoNull}, detail: "400"},
		{name: "101 without a subprotocol",
			response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			detail:   "no offered"},
		{name: "101 with another subprotocol",
			response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: ZWS2.0/CURVE\r\n\r\n",
			detail:   "bad upgrade response"},
		{name: "wrong accept key",
			response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n",
			detail:   "Sec-WebSocket-Accept"},
		{name: "endless header", response: "HTTP/1.1 101 Switching Protocols\r\nX: " + strings.Repeat("x", 100000), detail: "too large"},
		{name: "not HTTP", response: "\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03\x01NULL", detail: "bad upgrade response"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr, wait := serveOnce(t, func(conn net.Conn) error {
				if c.response == "" {
					_, resp, _, err := acceptConn(conn, c.cfg)
					if err == nil {
						return errors.New("Accept accepted")
					}
					_, werr := conn.Write(resp)
					return werr
				}
				var buf []byte
				tmp := make([]byte, 512)
				for !bytes.Contains(buf, []byte("\r\n\r\n")) {
					k, err := conn.Read(tmp)
					if err != nil {
						return err
					}
					buf = append(buf, tmp[:k]...)
				}
				resp := c.response
				if strings.Contains(resp, "%s") {
					resp = strings.Replace(resp, "%s", acceptKey(requestKey(t, buf)), 1)
				}
				conn.Write([]byte(resp)) // the client may close before reading it all
				return nil
			})
			cl := dial(t, addr)
			u, _ := url.Parse("ws://" + addr + "/zmq")
			proto, leftover, err := ClientHandshake(cl, u, c.offer)
			if err == nil || !errors.Is(err, ErrHandshake) || proto != "" || leftover != nil {
				t.Fatalf("proto=%q leftover=%d err=%v, want a handshake error", proto, len(leftover), err)
			}
			if !strings.Contains(err.Error(), c.detail) || !strings.HasPrefix(err.Error(), "zmq: ws: handshake failed: ") {
				t.Fatalf("error %q does not mention %q", err, c.detail)
			}
			cl.Close()
			if err := wait(); err != nil && !errors.Is(err, net.ErrClosed) && !isConnReset(err) {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

func isConnReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe") || errors.Is(err, io.EOF))
}

// A server that never answers: the caller's deadline ends the handshake, and the
// timeout stays visible through the error.
func TestClientHandshakeDeadline(t *testing.T) {
	release := make(chan struct{})
	addr, wait := serveOnce(t, func(c net.Conn) error {
		<-release
		return nil
	})
	cl := dial(t, addr)
	cl.SetDeadline(time.Now().Add(100 * time.Millisecond))
	u, _ := url.Parse("ws://" + addr)
	start := time.Now()
	_, _, err := ClientHandshake(cl, u, nil)
	close(release)
	var ne net.Error
	if !errors.Is(err, ErrHandshake) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a handshake error wrapping a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the deadline was not honoured: %v", d)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

func TestClientHandshakeNil(t *testing.T) {
	if _, _, err := ClientHandshake(nil, nil, nil); !errors.Is(err, ErrHandshake) {
		t.Fatalf("err = %v", err)
	}
}
