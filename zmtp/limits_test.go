package zmtp_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func header(flags byte, size int) []byte { return codec.AppendFrameHeader(nil, flags, size) }

func longHeader(flags byte, size uint64) []byte {
	b := []byte{flags | codec.FlagLong, 0, 0, 0, 0, 0, 0, 0, 0}
	for i := 0; i < 8; i++ {
		b[8-i] = byte(size >> (8 * i))
	}
	return b
}

func TestLimitsAndViolations(t *testing.T) {
	hs := handshake("PUSH")
	greet := peerGreeting(3, 1, "NULL")
	withLimits := func(maxMsg int64, maxFrames, maxCmd int) *zmtp.Config {
		c := pullConfig()
		c.MaxMsgSize, c.MaxFrames, c.MaxCommandSize = maxMsg, maxFrames, maxCmd
		return c
	}
	var manyEmpty []byte
	for i := 0; i < zmtp.DefaultMaxFrames; i++ {
		manyEmpty = append(manyEmpty, codec.FlagMore, 0)
	}
	v2 := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, 5}
	errReady := errors.New("zmq: duplicate identity")

	for _, tc := range []struct {
		name   string
		cfg    *zmtp.Config
		in     []byte
		want   error // errors.Is target; nil = no error expected
		events int   // handler events expected (ready counts one)
		check  func(t *testing.T, err error)
	}{
		{name: "frame over MaxMsgSize rejected from header", cfg: withLimits(100, 0, 0),
			in: cat(hs, header(0, 101)), want: zmtp.ErrTooLarge, events: 1},
		{name: "frame exactly MaxMsgSize", cfg: withLimits(100, 0, 0),
			in: cat(hs, msg(nil, pattern(100, 0))), events: 3},
		{name: "message over MaxMsgSize across frames", cfg: withLimits(100, 0, 0),
			in:   cat(hs, msg(nil, pattern(60, 0), pattern(40, 0)), codec.AppendFrame(nil, codec.FlagMore, pattern(60, 1)), header(0, 41)),
			want: zmtp.ErrTooLarge, events: 1 + 4 + 2},
		{name: "MaxMsgSize -1 is unlimited", cfg: withLimits(-1, 0, 0),
			in: cat(hs, msg(nil, pattern(70000, 0))), events: 3},
		{name: "MaxFrames exceeded", cfg: withLimits(0, 3, 0),
			in:   cat(hs, msg(nil, []byte("a"), []byte("b"), []byte("c")), msg(nil, []byte("a"), []byte("b"), []byte("c"), []byte("d"))),
			want: zmtp.ErrTooManyFrames, events: 1 + 6 + 6},
		{name: "default MaxFrames bounds a never-ending message",
			in: cat(hs, manyEmpty, header(codec.FlagMore, 0)), want: zmtp.ErrTooManyFrames, events: 1 + 2*zmtp.DefaultMaxFrames},
		{name: "command over MaxCommandSize rejected from header", cfg: withLimits(0, 0, 1000),
			in: cat(hs, header(codec.FlagCommand, 1001)), want: zmtp.ErrTooLarge, events: 1},
		{name: "command exactly MaxCommandSize", cfg: withLimits(0, 0, 1000),
			in: cat(hs, codec.AppendCommand(nil, "XBIG", pattern(1000-5, 0))), events: 2},
		{name: "command over default MaxCommandSize during handshake",
			in: cat(greet, header(codec.FlagCommand, zmtp.DefaultMaxCommandSize+1)), want: zmtp.ErrTooLarge},
		{name: "size 2^63", in: cat(hs, longHeader(0, 1<<63)), want: codec.ErrTooLarge, events: 1},
		{name: "size 2^63 on a partial header", in: cat(hs, longHeader(0, 1<<63)[:2]), want: codec.ErrTooLarge, events: 1},
		{name: "size 2^64-1 command", in: cat(hs, longHeader(codec.FlagCommand, 1<<64-1)), want: codec.ErrTooLarge, events: 1},
		{name: "reserved bit 0x08", in: cat(hs, []byte{0x08, 0}), want: codec.ErrReservedFlags, events: 1},
		{name: "reserved bit 0x80 during handshake", in: cat(greet, []byte{0x80, 0}), want: codec.ErrReservedFlags},
		{name: "command with MORE", in: cat(hs, []byte{0x05, 0}), want: codec.ErrMalformed, events: 1},
		{name: "empty command", in: cat(hs, []byte{0x04, 0}), want: codec.ErrMalformed, events: 1},
		{name: "truncated READY then EOF", in: hs[:len(hs)-1], events: 0},
		{name: "READY twice", in: cat(hs, codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PUSH")})),
			want: zmtp.ErrUnexpectedCommand, events: 1},
		{name: "data before handshake", in: cat(greet, msg(nil, []byte("early"))), want: zmtp.ErrUnexpectedMessage},
		{name: "data before greeting", in: msg(nil, []byte("early")), want: codec.ErrNotZMTP},
		{name: "version 2 greeting", in: v2, want: codec.ErrVersion, check: func(t *testing.T, err error) {
			var ve *codec.VersionError
			if !errors.As(err, &ve) || ve.Major != 2 || ve.Minor != 0 {
				t.Errorf("want *codec.VersionError for ZMTP 2.0 (revision 1), got %#v", err)
			}
		}},
		{name: "version 2 greeting prefix", in: v2[:11], want: codec.ErrVersion},
		{name: "HTTP request", in: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), want: codec.ErrNotZMTP},
		{name: "PLAIN peer", in: peerGreeting(3, 1, "PLAIN"), want: zmtp.ErrMechanismMismatch},
		{name: "CURVE peer", in: peerGreeting(3, 1, "CURVE"), want: zmtp.ErrMechanismMismatch},
		{name: "unknown mechanism", in: peerGreeting(3, 1, "GSSAPI"), want: zmtp.ErrUnsupportedMechanism},
		{name: "READY without Socket-Type", in: codec.AppendReady(greet, codec.Property{Name: "Identity", Value: []byte("x")}),
			want: zmtp.ErrMissingSocketType},
		{name: "malformed READY metadata", in: codec.AppendCommand(greet, "READY", []byte{11, 'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0, 0, 0, 9, 'P'}),
			want: codec.ErrMalformed},
		{name: "PING during handshake", in: codec.AppendPing(greet, 0, nil), want: zmtp.ErrUnexpectedCommand},
		{name: "SUBSCRIBE during handshake", in: codec.AppendSubscribe(greet, nil), want: zmtp.ErrUnexpectedCommand},
		{name: "malformed PING", in: codec.AppendCommand(hs, "PING", []byte{0}), want: codec.ErrMalformed, events: 1},
		{name: "ERROR during handshake", in: codec.AppendError(greet, "Authentication failure"), want: zmtp.ErrPeer,
			check: func(t *testing.T, err error) {
				var pe *zmtp.PeerError
				if !errors.As(err, &pe) || pe.Reason != "Authentication failure" {
					t.Errorf("want *PeerError, got %#v", err)
				}
			}},
		{name: "ERROR after handshake", in: codec.AppendError(cat(hs, msg(nil, []byte("m"))), "bye"), want: zmtp.ErrPeer, events: 3},
		{name: "Ready handler error", cfg: pullConfig(), in: cat(hs, msg(nil, []byte("m"))), want: errReady, events: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg == nil {
				cfg = pullConfig()
			}
			for _, bytewise := range []bool{false, true} {
				c := newConn(cfg)
				if tc.want == errReady {
					c.h.readyErr = errReady
				}
				c.h.maxMsg, c.h.maxFrames = int(cfg.MaxMsgSize), cfg.MaxFrames
				var err error
				if bytewise {
					err = c.pushBytes(t, t0, tc.in)
				} else {
					err = c.push(t, t0, tc.in)
				}
				switch {
				case tc.want == nil && err != nil:
					t.Fatalf("bytewise=%v: unexpected error %v", bytewise, err)
				case tc.want != nil && !errors.Is(err, tc.want):
					t.Fatalf("bytewise=%v: err = %v, want %v", bytewise, err, tc.want)
				}
				if err != nil {
					if msg := err.Error(); !strings.HasPrefix(msg, "zmq: ") || strings.Count(msg, "zmq: ") != 1 {
						t.Errorf("error text %q", msg)
					}
					if c.s.Ready() || !errors.Is(c.s.Err(), tc.want) {
						t.Errorf("after failure Ready=%v Err=%v", c.s.Ready(), c.s.Err())
					}
					if !c.s.NextDeadline().IsZero() {
						t.Error("failed session keeps a timer")
					}
					if _, terr := c.s.Tick(t0, nil); terr != err {
						t.Errorf("Tick after failure = %v", terr)
					}
				}
				if len(c.h.evs) != tc.events {
					t.Errorf("bytewise=%v: %d handler events, want %d (last %v)", bytewise, len(c.h.evs), tc.events, c.h.evs[max(0, len(c.h.evs)-1):])
				}
				if tc.check != nil {
					tc.check(t, err)
				}
				c.h.check(t)
			}
		})
	}
}

func TestTruncatedReadyThenEOF(t *testing.T) {
	hs := handshake("PUSH")
	s := zmtp.NewSession(pullConfig())
	h := &recorder{}
	n, out, err := s.Read(hs[:len(hs)-1], t0, nil, h)
	if err != nil || n != codec.GreetingSize {
		t.Fatalf("n=%d err=%v: the greeting is consumed, the partial READY kept", n, err)
	}
	if s.Ready() || s.Peer() != nil || h.peer != nil {
		t.Error("ready on a partial READY")
	}
	// The READY went out (the greeting is complete): only the peer's READY is missing.
	if !bytes.HasSuffix(out, codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PULL")})) {
		t.Errorf("out = %x", out)
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []*zmtp.Config{
		{SocketType: "DEALER", Identity: make([]byte, 256)},
		{SocketType: "DEALER", Properties: []codec.Property{{Name: "", Value: nil}}},
		{SocketType: "DEALER", Properties: []codec.Property{{Name: "X Space", Value: nil}}},
	} {
		s := zmtp.NewSession(cfg)
		if out := s.Start(t0, nil); len(out) != 0 {
			t.Errorf("Start wrote %d bytes with an invalid config", len(out))
		}
		if _, _, err := s.Read(peerGreeting(3, 1, "NULL"), t0, nil, &recorder{}); !errors.Is(err, zmtp.ErrInvalidConfig) {
			t.Errorf("Read: %v", err)
		}
		if _, err := s.Tick(t0, nil); !errors.Is(err, zmtp.ErrInvalidConfig) {
			t.Errorf("Tick: %v", err)
		}
	}
	// 255 bytes of identity are fine.
	s := zmtp.NewSession(&zmtp.Config{SocketType: "DEALER", Identity: make([]byte, 255)})
	if out := s.Start(t0, nil); len(out) != codec.SignatureSize {
		t.Errorf("Start wrote %d bytes", len(out))
	}
	// A nil Config is the zero Config.
	if s := zmtp.NewSession(nil); len(s.Start(t0, nil)) != codec.SignatureSize {
		t.Error("nil config")
	}
}

func TestErrorTexts(t *testing.T) {
	for _, err := range []error{
		zmtp.ErrHandshakeTimeout, zmtp.ErrHeartbeatTimeout, zmtp.ErrIncompatible, zmtp.ErrMechanismMismatch,
		zmtp.ErrUnsupportedMechanism, zmtp.ErrTooLarge, zmtp.ErrTooManyFrames, zmtp.ErrUnexpectedCommand,
		zmtp.ErrUnexpectedMessage, zmtp.ErrMissingSocketType, zmtp.ErrPeer, zmtp.ErrInvalidConfig,
		&zmtp.Error{Op: "frame", Err: zmtp.ErrTooManyFrames, Detail: "x"},
		&zmtp.PeerError{Reason: "bad \x00 \"reason\""},
		&zmtp.IncompatibleError{Ours: "PUB", Peer: "PUSH"},
	} {
		msg := err.Error()
		if !strings.HasPrefix(msg, "zmq: ") || strings.Count(msg, "zmq: ") != 1 {
			t.Errorf("%q", msg)
		}
		if strings.ContainsAny(msg, "\x00\n") {
			t.Errorf("unprintable text in %q", msg)
		}
	}
	if !errors.Is(zmtp.ErrTooLarge, codec.ErrTooLarge) {
		t.Error("ErrTooLarge is not codec's")
	}
}
