package zmtp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

var ourGreeting = codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})

// The greeting goes out in libzmq's steps: the signature at Start, the major version once the
// peer's signature is in, the rest once the peer's major version shows ZMTP 3.0 or later.
func TestGreetingInSteps(t *testing.T) {
	c := newConn(pullConfig())
	c.out = c.s.Start(t0, nil)
	if want := ourGreeting[:codec.SignatureSize]; !bytes.Equal(c.out, want) {
		t.Fatalf("Start wrote %x, want the signature %x", c.out, want)
	}
	greet := peerGreeting(3, 1, "NULL")
	for i := 0; i < codec.GreetingSize; i++ {
		if err := c.push(t, t0, greet[i:i+1]); err != nil {
			t.Fatal(err)
		}
		want := ourGreeting[:codec.SignatureSize]
		switch {
		case i+1 == codec.SignatureSize:
			want = ourGreeting[:codec.GreetingHeadSize]
		case i+1 > codec.SignatureSize:
			want = ourGreeting
		}
		if i+1 == codec.GreetingSize {
			want = codec.AppendReady(bytes.Clone(ourGreeting), codec.Property{Name: "Socket-Type", Value: []byte("PULL")})
		}
		if !bytes.Equal(c.out, want) {
			t.Fatalf("after %d bytes of the peer's greeting wrote\n%x\nwant\n%x", i+1, c.out, want)
		}
	}
	if err := c.push(t, t0, codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PUSH")})); err != nil || !c.s.Ready() {
		t.Fatalf("ready %v, %v", c.s.Ready(), err)
	}
}

// The accepting side holds its major version back until the peer's is in, then sends it with the
// rest.
func TestGreetingInStepsAccepted(t *testing.T) {
	cfg := pullConfig()
	cfg.Accepted = true
	c := newConn(cfg)
	c.out = c.s.Start(t0, nil)
	greet := peerGreeting(3, 1, "NULL")
	if err := c.push(t, t0, greet[:codec.SignatureSize]); err != nil {
		t.Fatal(err)
	}
	if want := ourGreeting[:codec.SignatureSize]; !bytes.Equal(c.out, want) {
		t.Fatalf("after the peer's signature wrote %x, want only ours %x", c.out, want)
	}
	if err := c.push(t, t0, greet[codec.SignatureSize:codec.GreetingHeadSize]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.out, ourGreeting) {
		t.Fatalf("after the peer's major version wrote %x, want the whole greeting", c.out)
	}
}

// A PLAIN server announces as-server in the rest of its greeting.
func TestGreetingRestAsServer(t *testing.T) {
	for _, accepted := range []bool{false, true} {
		c := newConn(&zmtp.Config{SocketType: "PULL", Plain: true, PlainServer: true, Accepted: accepted})
		c.out = c.s.Start(t0, nil)
		if err := c.push(t, t0, peerGreeting(3, 1, "PLAIN")[:codec.GreetingHeadSize]); err != nil {
			t.Fatal(err)
		}
		g, n, err := codec.ParseGreeting(c.out)
		if err != nil || n != len(c.out) || !g.AsServer || g.Mechanism != "PLAIN" || g.Major != 3 || g.Minor != 1 {
			t.Fatalf("accepted %v: wrote %x: %+v %v", accepted, c.out, g, err)
		}
	}
}

// A ZMTP 1.0 or 2.0 peer (JeroMQ 0.3 sends its signature, revision 1 and its socket type) is
// refused by name at its revision byte, and nothing beyond our signature and major version was
// written: a 2.0 peer reads our bytes after its 12-byte greeting as 2.0 frames, so the rest of
// ours would have it hang up on garbage before its revision byte reached us.
func TestZMTP2PeerRefused(t *testing.T) {
	for _, rev := range []struct {
		b            byte
		major, minor byte
	}{{0, 1, 0}, {1, 2, 0}, {2, 2, 0}} {
		for _, accepted := range []bool{false, true} {
			cfg := pullConfig()
			cfg.Accepted = accepted
			c := newConn(cfg)
			c.out = c.s.Start(t0, nil)
			jeromq := append(codec.AppendGreetingPart(nil, codec.Greeting{Major: rev.b}, 0, codec.GreetingHeadSize), 0x07)
			err := c.pushBytes(t, t0, jeromq)
			var ve *codec.VersionError
			if !errors.As(err, &ve) || ve.Major != rev.major || ve.Minor != rev.minor || !errors.Is(err, codec.ErrVersion) {
				t.Fatalf("revision %d: err = %v, want version %d.%d", rev.b, err, rev.major, rev.minor)
			}
			if len(c.buf) != codec.GreetingHeadSize {
				t.Errorf("revision %d: refused with %d bytes in, want at the 11th", rev.b, len(c.buf))
			}
			want := ourGreeting[:codec.GreetingHeadSize]
			if accepted {
				want = ourGreeting[:codec.SignatureSize]
			}
			if !bytes.Equal(c.out, want) {
				t.Errorf("revision %d, accepted %v: wrote %x, want %x", rev.b, accepted, c.out, want)
			}
		}
	}
}

// Two zloop sessions reach the handshake in steps however the bytes travel, with either side
// accepting or neither: nobody waits for what the other holds back.
func TestGreetingInStepsPair(t *testing.T) {
	for _, accepted := range [][2]bool{{false, false}, {true, false}, {false, true}} {
		for _, chunk := range []int{1, 5, 1000} {
			a := newConn(&zmtp.Config{SocketType: "PUSH", Accepted: accepted[0]})
			b := newConn(&zmtp.Config{SocketType: "PULL", Compatible: func(p string) bool { return p == "PUSH" }, Accepted: accepted[1]})
			a.out = a.s.Start(t0, nil)
			b.out = b.s.Start(t0, nil)
			// In turns, chunk bytes at a time.
			for i := 0; i < 1000 && (len(a.out) > 0 || len(b.out) > 0); i++ {
				if k := min(chunk, len(a.out)); k > 0 {
					p := bytes.Clone(a.out[:k])
					a.out = a.out[k:]
					_ = b.push(t, t0, p)
				}
				if k := min(chunk, len(b.out)); k > 0 {
					p := bytes.Clone(b.out[:k])
					b.out = b.out[k:]
					_ = a.push(t, t0, p)
				}
			}
			if !a.s.Ready() || !b.s.Ready() {
				t.Fatalf("accepted %v, chunk %d: not ready: %v / %v", accepted, chunk, a.err, b.err)
			}
		}
	}
}
