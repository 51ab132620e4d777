package sockets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zloop/zloop/reactor"
)

// TestBindConnectOpError: every failure of Bind and Connect is one *reactor.OpError naming the
// operation and the endpoint as given, wrapping the sentinel that says why.
func TestBindConnectOpError(t *testing.T) {
	r := newReactor(t)
	taken := newSocket(t, r, Pull)
	tcpTaken, err := taken.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := taken.Bind("inproc://operror-taken"); err != nil {
		t.Fatal(err)
	}
	closed, err := NewOn(r, Pull)
	if err != nil {
		t.Fatal(err)
	}
	_ = closed.Close()
	live := newSocket(t, r, Push)

	bind := func(s *Socket) func(string) error {
		return func(ep string) error { _, err := s.Bind(ep); return err }
	}
	cases := []struct {
		name, op, endpoint string
		call               func(string) error
		is                 error
		says               string
	}{
		{"bind no port", "bind", "tcp://127.0.0.1", bind(live), reactor.ErrBadEndpoint, "lacks a port"},
		{"bind unknown transport", "bind", "nope://x", bind(live), reactor.ErrBadEndpoint, `unknown transport "nope"`},
		{"bind pgm", "bind", "pgm://eth0;239.1.1.1:5555", bind(live), reactor.ErrTransport, "no pgm transport"},
		{"bind tcp in use", "bind", tcpTaken, bind(live), reactor.ErrAddrInUse, "address in use"},
		{"bind inproc in use", "bind", "inproc://operror-taken", bind(live), reactor.ErrAddrInUse, "address in use"},
		{"bind inproc no name", "bind", "inproc://", bind(live), reactor.ErrBadEndpoint, "lacks a name"},
		{"bind closed", "bind", "tcp://127.0.0.1:*", bind(closed), ErrClosed, "closed"},
		{"connect no port", "connect", "tcp://127.0.0.1", live.Connect, reactor.ErrBadEndpoint, "lacks a port"},
		{"connect bad port", "connect", "tcp://127.0.0.1:x", live.Connect, reactor.ErrBadEndpoint, `port "x"`},
		{"connect ws no port", "connect", "ws://127.0.0.1/x", live.Connect, reactor.ErrBadEndpoint, "lacks a port"},
		{"connect wss without TLS", "connect", "wss://example.com:443/", live.Connect, reactor.ErrTLSConfig, "need a TLS configuration"},
		{"connect tls without TLS", "connect", "tls://example.com:443", live.Connect, reactor.ErrTLSConfig, "need a TLS configuration"},
		{"bind tls without TLS", "bind", "tls://127.0.0.1:*", bind(live), reactor.ErrTLSConfig, "need a TLS configuration"},
		{"connect closed", "connect", "tcp://127.0.0.1:5555", closed.Connect, ErrClosed, "closed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(c.endpoint)
			var oe *reactor.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("err %v (%T), want a *reactor.OpError", err, err)
			}
			if oe.Op != c.op || oe.Endpoint != c.endpoint {
				t.Fatalf("OpError{Op: %q, Endpoint: %q}, want %q %q", oe.Op, oe.Endpoint, c.op, c.endpoint)
			}
			var inner *reactor.OpError
			if errors.As(oe.Err, &inner) {
				t.Fatalf("OpError wraps another: %v", err)
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("err %v does not wrap %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) || !strings.HasPrefix(err.Error(), c.op+" "+c.endpoint+": ") {
				t.Fatalf("err %q: want %q, saying %q", err, c.op+" "+c.endpoint+": ...", c.says)
			}
		})
	}

	// A terminated reactor's ETERM comes the same way.
	r2 := newReactor(t)
	s2, err := NewOn(r2, Pull)
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for op, call := range map[string]func(string) error{"bind": bind(s2), "connect": s2.Connect} {
		err := call("tcp://127.0.0.1:5555")
		var oe *reactor.OpError
		if !errors.As(err, &oe) || oe.Op != op || !errors.Is(err, ErrTerminated) {
			t.Fatalf("%s on a terminated reactor: %v", op, err)
		}
	}
}
