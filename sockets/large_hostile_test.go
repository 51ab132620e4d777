package sockets

import (
	"encoding/binary"
	"errors"
	"net"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/ws"
)

// Hostile sizes: a peer that announces a huge frame and then sends nothing or a little makes the
// receiver allocate a bounded amount (the unlimited default reserves at most 16 MiB and grows only
// as bytes arrive), never the announced size; with MAXMSGSIZE set, an announcement above it is
// refused from the header, before anything is allocated for it.
func TestHostileLargeAnnouncement(t *testing.T) {
	const maxAlloc = 40 << 20 // the 16 MiB reserve, twice, and room for the test's own allocations
	for _, tc := range []struct {
		name    string
		ws      bool
		maxMsg  int64
		size    uint64
		send    int
		refused bool
	}{
		{"tcp/2^40, nothing", false, -1, 1 << 40, 0, false},
		{"tcp/2^62, 1000 bytes", false, -1, 1 << 62, 1000, false},
		{"tcp/1 GiB, 3 MiB", false, -1, 1 << 30, 3 << 20, false},
		{"tcp/over MAXMSGSIZE", false, 1 << 20, 1<<20 + 1, 100, true},
		{"ws/2^40, nothing", true, -1, 1 << 40, 0, false},
		{"ws/2^62, 1000 bytes", true, -1, 1 << 62, 1000, false},
		{"ws/over MAXMSGSIZE", true, 1 << 20, 1<<20 + 1, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReactor(t)
			pull := newSocket(t, r, Pull, WithMaxMsgSize(tc.maxMsg))
			events := pull.Monitor(64)
			ep := "tcp://127.0.0.1:*"
			if tc.ws {
				ep = "ws://127.0.0.1:*/zmq"
			}
			bound, err := pull.Bind(ep)
			if err != nil {
				t.Fatal(err)
			}
			var c net.Conn
			var wire []byte
			if tc.ws {
				c, wire = hostileWS(t, bound, tc.size, tc.send)
			} else {
				p, err := zmtptest.Dial("tcp", strings.TrimPrefix(bound, "tcp://"), "PUSH", 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c = p.Conn
				wire = binary.BigEndian.AppendUint64([]byte{0x02}, tc.size) // LONG, no MORE
				wire = append(wire, make([]byte, tc.send)...)
			}
			defer c.Close()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := c.Write(wire); err != nil {
				t.Fatal(err)
			}
			if !tc.refused {
				_ = c.Close() // the end of the stream tells when the receiver has seen it all
			}
			e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
			runtime.ReadMemStats(&after)
			grew := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB for a frame announced at %d bytes (%d sent): %v", grew>>10, tc.size, tc.send, e.Err)
			if grew > maxAlloc {
				t.Fatalf("allocated %d MiB for an announcement of %d bytes with %d sent", grew>>20, tc.size, tc.send)
			}
			var wsErr *ws.ProtocolError
			if tc.refused && !errors.Is(e.Err, codec.ErrTooLarge) && !(tc.ws && errors.As(e.Err, &wsErr) && strings.Contains(e.Err.Error(), "too large")) {
				t.Fatalf("over MAXMSGSIZE: disconnected with %v, want a refusal of the size", e.Err)
			}
			if tc.refused && grew > 1<<20 {
				t.Fatalf("allocated %d KiB for a frame refused from its header", grew>>10)
			}
		})
	}
}

// hostileWS upgrades a raw connection to ZWS2.0/NULL, completes the handshake with a READY, and
// returns it with the wire bytes of a message frame announced at size with send bytes of body.
func hostileWS(t *testing.T, ep string, size uint64, send int) (net.Conn, []byte) {
	t.Helper()
	u, _ := url.Parse(ep)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ClientHandshake(c, u, []string{ws.ProtoNull}); err != nil {
		t.Fatal(err)
	}
	key := [4]byte{9, 8, 7, 6}
	ready := codec.AppendMetadataCommandBody(nil, "READY", codec.Property{Name: "Socket-Type", Value: []byte("PUSH")})
	if _, err := c.Write(ws.AppendFrame(nil, ws.FlagCommand, ready, &key)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Time{})
	// The server's READY is read and dropped by the kernel's buffer; it does not matter here.
	hdr := []byte{0x82, 0xFF}
	hdr = binary.BigEndian.AppendUint64(hdr, size+1) // the ZWS flags byte counts
	hdr = append(hdr, key[:]...)
	hdr = append(hdr, 0^key[0]) // flags: a single-frame message
	return c, append(hdr, make([]byte, send)...)
}
