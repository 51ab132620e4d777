package zmtp_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

// readyConn is a session whose handshake with a PUSH peer completed at now.
func readyConn(t *testing.T, cfg *zmtp.Config, now time.Time) *conn {
	t.Helper()
	c := newConn(cfg)
	c.out = c.s.Start(now, nil)
	if err := c.push(t, now, handshake("PUSH")); err != nil || !c.s.Ready() {
		t.Fatalf("handshake: %v", err)
	}
	c.out = nil
	return c
}

// parsePings decodes out as a sequence of PING commands and returns their TTLs.
func parsePings(t *testing.T, out []byte) []uint16 {
	t.Helper()
	var ttls []uint16
	for len(out) > 0 {
		h, n, err := codec.ParseFrameHeader(out, -1)
		if err != nil || !h.Command() || uint64(len(out)-n) < h.Size {
			t.Fatalf("not a command frame: %x (%v)", out, err)
		}
		c, err := codec.ParseCommand(out[n : n+int(h.Size)])
		if err != nil || !c.Is(codec.CmdPing) {
			t.Fatalf("not a PING: %q %v", c.Name, err)
		}
		ttl, ctx, err := codec.ParsePing(c.Data)
		if err != nil || len(ctx) != 0 {
			t.Fatalf("PING data %x: %v", c.Data, err)
		}
		ttls = append(ttls, ttl)
		out = out[n+int(h.Size):]
	}
	return ttls
}

func TestHandshakeTimeout(t *testing.T) {
	for _, tc := range []struct {
		cfg  time.Duration
		want time.Duration // 0 = no timer
	}{{0, 30 * time.Second}, {5 * time.Second, 5 * time.Second}, {-1, 0}} {
		s := zmtp.NewSession(&zmtp.Config{SocketType: "REQ", HandshakeTimeout: tc.cfg})
		if d := s.NextDeadline(); !d.IsZero() {
			t.Errorf("deadline %v before Start", d)
		}
		s.Start(t0, nil)
		if tc.want == 0 {
			if d := s.NextDeadline(); !d.IsZero() {
				t.Errorf("cfg %v: deadline %v, want none", tc.cfg, d)
			}
			if _, err := s.Tick(t0.Add(time.Hour), nil); err != nil {
				t.Errorf("cfg %v: %v", tc.cfg, err)
			}
			continue
		}
		if d := s.NextDeadline(); !d.Equal(t0.Add(tc.want)) {
			t.Errorf("cfg %v: deadline %v, want %v", tc.cfg, d, t0.Add(tc.want))
		}
		// Partial progress (the greeting) does not stop the timer.
		if _, _, err := s.Read(peerGreeting(3, 1, "NULL"), t0.Add(time.Second), nil, &recorder{}); err != nil {
			t.Fatal(err)
		}
		if out, err := s.Tick(t0.Add(tc.want-time.Nanosecond), nil); err != nil || len(out) != 0 {
			t.Errorf("cfg %v: early Tick = %x, %v", tc.cfg, out, err)
		}
		_, err := s.Tick(t0.Add(tc.want), nil)
		if !errors.Is(err, zmtp.ErrHandshakeTimeout) {
			t.Errorf("cfg %v: Tick at deadline = %v", tc.cfg, err)
		}
		if !s.NextDeadline().IsZero() {
			t.Error("timer left after failure")
		}
	}

	// A completed handshake disarms it.
	c := readyConn(t, &zmtp.Config{SocketType: "PULL", HandshakeTimeout: time.Second}, t0)
	if d := c.s.NextDeadline(); !d.IsZero() {
		t.Errorf("deadline %v after handshake without heartbeats", d)
	}
	if _, err := c.s.Tick(t0.Add(time.Hour), nil); err != nil {
		t.Error(err)
	}
}

func TestHeartbeatPings(t *testing.T) {
	ivl := time.Second
	c := readyConn(t, &zmtp.Config{SocketType: "PULL", HeartbeatIvl: ivl, HeartbeatTimeout: 10 * time.Second,
		HeartbeatTTL: 2549 * time.Millisecond}, t0)
	now := t0
	for i := 1; i <= 5; i++ {
		next := c.s.NextDeadline()
		if !next.Equal(now.Add(ivl)) {
			t.Fatalf("ping %d: deadline %v, want %v", i, next, now.Add(ivl))
		}
		if out, err := c.s.Tick(next.Add(-time.Millisecond), nil); err != nil || len(out) != 0 {
			t.Fatalf("early Tick wrote %x, %v", out, err)
		}
		// The peer keeps talking, so the timeout never fires.
		if err := c.push(t, next.Add(-time.Millisecond), msg(nil, []byte("x"))); err != nil {
			t.Fatal(err)
		}
		out, err := c.s.Tick(next, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ttls := parsePings(t, out); len(ttls) != 1 || ttls[0] != 25 {
			t.Fatalf("ping %d: TTLs %v, want [25] (2.549 s rounded down)", i, ttls)
		}
		now = next
	}
	// Ticking late does not burst: one PING, next one an interval after this Tick.
	late := now.Add(10 * ivl / 2)
	if err := c.push(t, late, msg(nil, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	out, err := c.s.Tick(late, nil)
	if err != nil || len(parsePings(t, out)) != 1 {
		t.Fatalf("late Tick: %x, %v", out, err)
	}
	if d := c.s.NextDeadline(); !d.Equal(late.Add(ivl)) {
		t.Errorf("deadline %v, want %v", d, late.Add(ivl))
	}
}

func TestHeartbeatTTLClamp(t *testing.T) {
	for _, tc := range []struct {
		ttl  time.Duration
		want uint16
	}{{0, 0}, {99 * time.Millisecond, 0}, {100 * time.Millisecond, 1}, {6553500 * time.Millisecond, 65535}, {time.Hour * 5, 65535}, {-time.Second, 0}} {
		c := readyConn(t, &zmtp.Config{SocketType: "PULL", HeartbeatIvl: time.Second, HeartbeatTTL: tc.ttl}, t0)
		out, err := c.s.Tick(t0.Add(time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ttls := parsePings(t, out); len(ttls) != 1 || ttls[0] != tc.want {
			t.Errorf("TTL %v: sent %v, want %d", tc.ttl, ttls, tc.want)
		}
	}
}

func TestHeartbeatTimeout(t *testing.T) {
	ivl := time.Second
	for _, tc := range []struct {
		timeout time.Duration
		want    time.Duration // after the first PING; 0 = never
	}{{0, ivl}, {3 * time.Second, 3 * time.Second}, {-1, 0}} {
		c := readyConn(t, &zmtp.Config{SocketType: "PULL", HeartbeatIvl: ivl, HeartbeatTimeout: tc.timeout}, t0)
		first := t0.Add(ivl)
		var err error
		now := t0
		// Tick exactly at every deadline with nothing arriving.
		for i := 0; i < 20 && err == nil; i++ {
			d := c.s.NextDeadline()
			if d.IsZero() || !d.After(now) {
				t.Fatalf("timeout %v: deadline %v not after %v", tc.timeout, d, now)
			}
			now = d
			_, err = c.s.Tick(now, nil)
		}
		if tc.want == 0 {
			if err != nil {
				t.Errorf("timeout %v: %v", tc.timeout, err)
			}
			continue
		}
		if !errors.Is(err, zmtp.ErrHeartbeatTimeout) || !now.Equal(first.Add(tc.want)) {
			t.Errorf("timeout %v: err %v at %v, want ErrHeartbeatTimeout at %v", tc.timeout, err, now.Sub(t0), first.Add(tc.want).Sub(t0))
		}
	}

	// Any byte counts as traffic, even a partial frame header.
	c := readyConn(t, &zmtp.Config{SocketType: "PULL", HeartbeatIvl: ivl, HeartbeatTimeout: 3 * time.Second}, t0)
	if _, err := c.s.Tick(t0.Add(ivl), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.push(t, t0.Add(2*time.Second), []byte{0x02, 0}); err != nil { // 2 of 9 header bytes
		t.Fatal(err)
	}
	if len(c.buf) != 2 {
		t.Fatalf("kept %d bytes", len(c.buf))
	}
	if d := c.s.NextDeadline(); !d.Equal(t0.Add(2 * ivl)) {
		t.Errorf("deadline %v, want the next PING at %v (timeout cleared)", d, t0.Add(2*ivl))
	}
	// Offering the same kept bytes again is not traffic.
	if _, err := c.s.Tick(t0.Add(2*ivl), nil); err != nil { // PING, timeout armed for +3s
		t.Fatal(err)
	}
	if err := c.push(t, t0.Add(4*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if d := c.s.NextDeadline(); !d.Equal(t0.Add(2*ivl + ivl)) {
		t.Errorf("deadline %v", d)
	}
	for i, now := 0, t0.Add(3*ivl); ; i, now = i+1, c.s.NextDeadline() {
		if i > 10 {
			t.Fatal("no heartbeat timeout")
		}
		if _, err := c.s.Tick(now, nil); err != nil {
			if !errors.Is(err, zmtp.ErrHeartbeatTimeout) || !now.Equal(t0.Add(5*time.Second)) {
				t.Errorf("err %v at %v, want timeout at 5s", err, now.Sub(t0))
			}
			break
		}
	}
}

func TestPeerTTL(t *testing.T) {
	c := readyConn(t, &zmtp.Config{SocketType: "PULL"}, t0)
	ping := codec.AppendPing(nil, 20, []byte("ctx-16-bytes-max")) // 2 s
	if err := c.push(t, t0, ping); err != nil {
		t.Fatal(err)
	}
	if want := codec.AppendPong(nil, []byte("ctx-16-bytes-max")); !bytes.Equal(c.out, want) {
		t.Errorf("answer %x, want PONG %x", c.out, want)
	}
	if d := c.s.NextDeadline(); !d.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("deadline %v, want TTL at +2s", d)
	}
	// Traffic resets it; the next PING re-arms it from its own arrival.
	if err := c.push(t, t0.Add(time.Second), msg(nil, []byte("m"))); err != nil {
		t.Fatal(err)
	}
	if d := c.s.NextDeadline(); !d.IsZero() {
		t.Errorf("deadline %v after traffic", d)
	}
	now := t0.Add(1500 * time.Millisecond)
	if err := c.push(t, now, ping); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Tick(now.Add(2*time.Second-time.Nanosecond), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Tick(now.Add(2*time.Second), nil); !errors.Is(err, zmtp.ErrHeartbeatTimeout) {
		t.Fatalf("Tick at TTL: %v", err)
	}

	// TTL 0 arms nothing.
	c = readyConn(t, &zmtp.Config{SocketType: "PULL"}, t0)
	if err := c.push(t, t0, codec.AppendPing(nil, 0, nil)); err != nil {
		t.Fatal(err)
	}
	if d := c.s.NextDeadline(); !d.IsZero() {
		t.Errorf("deadline %v for TTL 0", d)
	}
}

func TestNextDeadlineIsEarliest(t *testing.T) {
	// Our PING interval 10 s, the peer's TTL 3 s: the TTL comes first.
	c := readyConn(t, &zmtp.Config{SocketType: "PULL", HeartbeatIvl: 10 * time.Second}, t0)
	if err := c.push(t, t0.Add(time.Second), codec.AppendPing(nil, 30, nil)); err != nil {
		t.Fatal(err)
	}
	if d := c.s.NextDeadline(); !d.Equal(t0.Add(4 * time.Second)) {
		t.Errorf("deadline %v, want the TTL at 4s", d)
	}
	// Traffic removes the TTL; the PING timer remains.
	if err := c.push(t, t0.Add(2*time.Second), msg(nil, nil)); err != nil {
		t.Fatal(err)
	}
	if d := c.s.NextDeadline(); !d.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("deadline %v, want the PING at 10s", d)
	}
}
