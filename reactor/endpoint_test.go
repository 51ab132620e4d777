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
		{"tcp://localhost:5555", "tcp", "localhost:5555", nil},
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

func TestParseConnectEndpoint(t *testing.T) {
	good := map[string]string{
		"tcp://127.0.0.1:5555": "127.0.0.1:5555",
		"tcp://[::1]:5555":     "[::1]:5555",
		"tcp://example.com:80": "example.com:80",
		"ipc:///tmp/x":         "/tmp/x",
	}
	for in, addr := range good {
		e, err := ParseConnectEndpoint(in)
		if err != nil || e.Addr != addr {
			t.Errorf("%s: %+v %v", in, e, err)
		}
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
