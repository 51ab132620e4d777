package sockets

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/javapeer"
	"github.com/zloop/zloop/reactor"
)

// A real ZMTP 2.0 peer, JeroMQ 0.3.6, is refused with the documented version error naming 2.0, on
// the monitor as HANDSHAKE_FAILED_PROTOCOL, whichever side binds: never as a bare EOF. The peer
// reconnects (or zloop does, per RECONNECT_IVL) and each attempt is refused the same way.
func TestInteropZMTP2PeerRefused(t *testing.T) {
	if err := javapeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	t.Run("zloop binds", func(t *testing.T) {
		r := newReactor(t)
		pull := newSocket(t, r, Pull)
		events := pull.Monitor(1024)
		ep, err := pull.Bind("tcp://127.0.0.1:*")
		if err != nil {
			t.Fatal(err)
		}
		javapeer.Connect(t, "PUSH", ep)
		expectVersionRefusals(t, events, 2)
	})
	t.Run("zloop connects", func(t *testing.T) {
		r := newReactor(t)
		p := javapeer.Bind(t, "PULL", "tcp://127.0.0.1")
		push := newSocket(t, r, Push)
		events := push.Monitor(1024)
		if err := push.Connect(p.Endpoint); err != nil {
			t.Fatal(err)
		}
		expectVersionRefusals(t, events, 2)
	})
}

// expectVersionRefusals reads events until n handshakes have failed, and fails unless each failed
// as a protocol error carrying a *codec.VersionError for ZMTP 2.0.
func expectVersionRefusals(t *testing.T, events <-chan reactor.Event, n int) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for n > 0 {
		var e reactor.Event
		select {
		case e = <-events:
		case <-timeout:
			t.Fatalf("%d refusals still missing", n)
		}
		switch e.Type {
		case reactor.EventHandshakeSucceeded, reactor.EventHandshakeFailedNoDetail, reactor.EventHandshakeFailedAuth:
			t.Fatalf("event %v, want HANDSHAKE_FAILED_PROTOCOL with a version error", e)
		case reactor.EventHandshakeFailedProtocol:
		default:
			continue
		}
		var ve *codec.VersionError
		if !errors.As(e.Err, &ve) || !errors.Is(e.Err, codec.ErrVersion) || ve.Major != 2 || ve.Minor != 0 {
			t.Fatalf("event %v: want a *codec.VersionError for ZMTP 2.0", e)
		}
		if !strings.Contains(e.Err.Error(), "unsupported ZMTP version 2.0") {
			t.Fatalf("error text %q does not name ZMTP 2.0", e.Err)
		}
		n--
	}
}
