package javapeer

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The peer must really be a ZMTP 2.0 peer, or the tests built on it prove nothing: given our
// signature, it answers with its own signature, revision 0x01 and its socket type (rfc 15).
func TestPeerSpeaksZMTP2(t *testing.T) {
	p := Bind(t, "PULL", "tcp://127.0.0.1")
	if !strings.HasPrefix(p.Version, "3.") {
		t.Errorf("JeroMQ follows libzmq %s, want 3.x (ZMTP 2.0)", p.Version)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(p.Endpoint, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sig := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}
	if _, err := c.Write(sig); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got := make([]byte, 12)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	const pull = 7 // ZMQ_PULL
	if got[0] != 0xFF || got[9]&1 == 0 || got[10] != 1 || got[11] != pull {
		t.Fatalf("greeting %x, want a ZMTP 2.0 signature, revision 1, socket type %d", got, pull)
	}
	p.Close()
	p.Close() // harmless
}
