package reactor

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBindEndpoint(t *testing.T) {
	cases := []struct {
		in, network, addr string
		err               error
	}{
		{"tcp://127.0.0.1:5555", "tcp4", "127.0.0.1:5555", nil},
		{"tcp://*:5555", "tcp4", "0.0.0.0:5555", nil},
		{"tcp://*:*", "tcp4", "0.0.0.0:0", nil},
		{"tcp://127.0.0.1:!", "tcp4", "127.0.0.1:0", nil},
		{"tcp://[::1]:5555", "tcp6", "[::1]:5555", nil},
		{"tcp://lo:5555", "tcp4", "127.0.0.1:5555", nil},
		{"tcp://localhost:5555", "tcp4", "localhost:5555", nil}, // IPv4 only without ZMQ_IPV6
		{"ipc:///tmp/x.sock", "unix", "/tmp/x.sock", nil},
		{"ipc://@abstract", "unix", "@abstract", nil},
		{"tcp://127.0.0.1", "", "", ErrBadEndpoint},
		{"tcp://127.0.0.1:70000", "", "", ErrBadEndpoint},
		{"tcp://127.0.0.1:x", "", "", ErrBadEndpoint},
		{"nope://x", "", "", ErrBadEndpoint},
		{"127.0.0.1:5555", "", "", ErrBadEndpoint},
		{"tcp://", "", "", ErrBadEndpoint},
		{"pgm://eth0;239.192.1.1:5555", "", "", ErrTransport},
		{"inproc://x", "", "", ErrTransport},
	}
	for _, c := range cases {
		e, err := ParseBindEndpoint(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if e.Network != c.network || e.Addr != c.addr {
			t.Errorf("%s: got %s %s, want %s %s", c.in, e.Network, e.Addr, c.network, c.addr)
		}
	}
	e, err := ParseBindEndpoint("ipc://*")
	if err != nil || !strings.HasSuffix(e.Addr, ".sock") || e.Network != "unix" {
		t.Errorf("ipc://*: %+v %v", e, err)
	}
}

// TestParseIPv6: ZMQ_IPV6 chooses the wildcard, an interface's address, and how host names resolve.
func TestParseIPv6(t *testing.T) {
	cases := []struct {
		in      string
		ipv6    bool
		connect bool
		network string
		addr    string
	}{
		{"tcp://*:5555", false, false, "tcp4", "0.0.0.0:5555"},
		{"tcp://*:5555", true, false, "tcp", "[::]:5555"},
		{"ws://*:5555/x", true, false, "tcp", "[::]:5555"},
		{"tcp://lo:5555", false, false, "tcp4", "127.0.0.1:5555"},
		{"tcp://lo:5555", true, false, "tcp6", "[::1]:5555"},
		{"tcp://localhost:5555", false, false, "tcp4", "localhost:5555"},
		{"tcp://localhost:5555", true, false, "tcp", "localhost:5555"},
		{"tcp://[::1]:5555", false, false, "tcp6", "[::1]:5555"},
		{"tcp://localhost:5555", false, true, "tcp4", "localhost:5555"},
		{"tcp://localhost:5555", true, true, "tcp", "localhost:5555"},
		{"ws://localhost:5555/x", false, true, "tcp4", "localhost:5555"},
		{"tcp://[::1]:5555", false, true, "tcp", "[::1]:5555"},
		{"tcp://127.0.0.1:5555", false, true, "tcp", "127.0.0.1:5555"},
	}
	for _, c := range cases {
		parse := parseBind
		if c.connect {
			parse = parseConnect
		}
		if strings.Contains(c.in, "//lo:") && c.ipv6 && interfaceAddr("lo", true).To4() != nil {
			continue // lo has no IPv6 address here
		}
		e, err := parse(c.in, c.ipv6)
		if err != nil || e.Network != c.network || e.Addr != c.addr {
			t.Errorf("%s (ipv6 %v, connect %v): %s %s %v, want %s %s", c.in, c.ipv6, c.connect, e.Network, e.Addr, err, c.network, c.addr)
		}
	}
}

func TestParseConnectEndpoint(t *testing.T) {
	good := map[string]string{
		"tcp://127.0.0.1:5555":  "127.0.0.1:5555",
		"tcp://[::1]:5555":      "[::1]:5555",
		"tcp://example.com:80":  "example.com:80",
		"ipc:///tmp/x":          "/tmp/x",
		"tls://example.com:443": "example.com:443",
		"wss://[::1]:443/zmq":   "[::1]:443",
	}
	for in, addr := range good {
		e, err := ParseConnectEndpoint(in)
		if err != nil || e.Addr != addr || e.String() != in {
			t.Errorf("%s: %+v %v", in, e, err)
		}
	}
	if e, _ := ParseBindEndpoint("wss://*:0/x"); e.Transport != "wss" || e.Path != "/x" || !e.secure() || !e.websocket() {
		t.Errorf("wss bind: %+v", e)
	}
	for _, in := range []string{"tcp://*:5555", "tcp://127.0.0.1:*", "tcp://127.0.0.1:0", "ipc://*", "tcp://:5555"} {
		if _, err := ParseConnectEndpoint(in); !errors.Is(err, ErrBadEndpoint) {
			t.Errorf("%s: err %v, want ErrBadEndpoint", in, err)
		}
	}
}

func TestRing(t *testing.T) {
	var r ring
	for round := 0; round < 3; round++ {
		for i := 0; i < 100; i++ {
			r.push(newTestMsg(i))
		}
		for i := 0; i < 100; i++ {
			m := r.pop()
			if got := int(m.Frame(0)[0]); got != i {
				t.Fatalf("round %d: popped %d, want %d", round, got, i)
			}
			m.Release()
		}
		if r.pop() != nil || r.len() != 0 {
			t.Fatal("ring not empty")
		}
	}
	if len(r.buf) != 128 {
		t.Fatalf("ring grew to %d slots for 100 messages", len(r.buf))
	}
}

// FuzzParseEndpoint: no input panics, and an accepted endpoint formats back to one that parses the
// same way.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"tcp://127.0.0.1:5555", "tcp://*:*", "tcp://[::1]:!", "ipc:///tmp/x", "ipc://@a", "tcp://lo:1", "inproc://x", "tcp://:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := ParseBindEndpoint(s); err == nil && e.Transport == "tcp" {
			again, err := ParseBindEndpoint(e.String())
			if err != nil || again.Addr != e.Addr {
				t.Fatalf("%q -> %q -> %+v %v", s, e.String(), again, err)
			}
		}
		if e, err := ParseConnectEndpoint(s); err == nil {
			again, err := ParseConnectEndpoint(e.String())
			if err != nil || again != e {
				t.Fatalf("%q -> %q -> %+v %v", s, e.String(), again, err)
			}
		}
	})
}

// TestEndpointErrors: a rejected endpoint says what is wrong with it, and still wraps the sentinel.
func TestEndpointErrors(t *testing.T) {
	type parser func(string) (Endpoint, error)
	bind, connect := ParseBindEndpoint, ParseConnectEndpoint
	cases := []struct {
		name  string
		parse parser
		in    string
		is    error
		says  string // what the message must contain
	}{
		{"bind no port", bind, "tcp://127.0.0.1", ErrBadEndpoint, `"tcp://127.0.0.1" lacks a port`},
		{"connect no port", connect, "tcp://127.0.0.1", ErrBadEndpoint, `"tcp://127.0.0.1" lacks a port`},
		{"bind empty port", bind, "tcp://127.0.0.1:", ErrBadEndpoint, `lacks a port`},
		{"bind port range", bind, "tcp://127.0.0.1:70000", ErrBadEndpoint, `port "70000" is not a number from 0 to 65535`},
		{"connect port word", connect, "tcp://127.0.0.1:x", ErrBadEndpoint, `port "x" is not a number from 0 to 65535`},
		{"connect port zero", connect, "tcp://127.0.0.1:0", ErrBadEndpoint, `Connect needs a port from 1 to 65535, not "0"`},
		{"connect port star", connect, "tcp://127.0.0.1:*", ErrBadEndpoint, `Connect needs a port from 1 to 65535, not "*"`},
		{"connect no host", connect, "tcp://:5555", ErrBadEndpoint, `"tcp://:5555" lacks a host`},
		{"connect host star", connect, "tcp://*:5555", ErrBadEndpoint, `Connect needs a host, not "*"`},
		{"ipv6 brackets", bind, "tcp://::1:5555", ErrBadEndpoint, `IPv6 address needs brackets`},
		{"unknown transport", bind, "nope://x", ErrBadEndpoint, `unknown transport "nope"`},
		{"no transport", connect, "127.0.0.1:5555", ErrBadEndpoint, `lacks a transport (tcp://, ipc://, ws://, tls://, wss://, inproc://)`},
		{"empty tcp", bind, "tcp://", ErrBadEndpoint, `"tcp://" lacks an address`},
		{"empty ipc bind", bind, "ipc://", ErrBadEndpoint, `"ipc://" lacks a path`},
		{"empty ipc connect", connect, "ipc://", ErrBadEndpoint, `"ipc://" lacks a path`},
		{"ipc star connect", connect, "ipc://*", ErrBadEndpoint, `Connect needs an ipc path, not "*"`},
		{"ws no port", connect, "ws://127.0.0.1/chat", ErrBadEndpoint, `"ws://127.0.0.1/chat" lacks a port`},
		{"ws bad port", bind, "ws://127.0.0.1:99999/x", ErrBadEndpoint, `port "99999" is not a number from 0 to 65535`},
		{"ws no host", connect, "ws://:80/x", ErrBadEndpoint, `"ws://:80/x" lacks a host`},
		{"ws empty", connect, "ws://", ErrBadEndpoint, `"ws://" lacks an address`},
		{"ws no address before path", connect, "ws:///x", ErrBadEndpoint, `"ws:///x" lacks a host and port`},
		{"pgm", bind, "pgm://eth0;239.192.1.1:5555", ErrTransport, `"pgm://eth0;239.192.1.1:5555": zloop has no pgm transport`},
		{"tipc", connect, "tipc://{5560,0,0}", ErrTransport, `zloop has no tipc transport`},
		{"tls no port", connect, "tls://example.com", ErrBadEndpoint, `"tls://example.com" lacks a port`},
		{"wss no host", connect, "wss://:443/x", ErrBadEndpoint, `"wss://:443/x" lacks a host`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.parse(c.in)
			if !errors.Is(err, c.is) {
				t.Fatalf("%s: err %v, want one wrapping %v", c.in, err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Fatalf("%s: err %q does not say %q", c.in, err, c.says)
			}
		})
	}
}

func TestInprocNameErrors(t *testing.T) {
	if _, err := inprocName("inproc://"); !errors.Is(err, ErrBadEndpoint) || !strings.Contains(err.Error(), `"inproc://" lacks a name`) {
		t.Fatalf("inproc://: %v", err)
	}
}
