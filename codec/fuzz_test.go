package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// checkParseError fails unless err is ErrShort or a well-formed protocol
// error of op (version errors allowed where noted).
func checkParseError(t *testing.T, err error, op string, allowVersion bool) {
	t.Helper()
	if err == ErrShort {
		return
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		if pe.Op != op || pe.Err == nil || errors.Is(err, ErrShort) {
			t.Fatalf("bad protocol error %#v", pe)
		}
		return
	}
	var ve *VersionError
	if allowVersion && errors.As(err, &ve) && (ve.Major == 1 || ve.Major == 2) && ve.Minor == 0 {
		return
	}
	t.Fatalf("unexpected error %v (%T)", err, err)
}

func FuzzFrameHeader(f *testing.F) {
	for _, size := range []int{0, 1, 255, 256, 65536, 1 << 32} {
		for _, flags := range []byte{0, FlagMore, FlagCommand} {
			f.Add(AppendFrameHeader(nil, flags, size), int64(-1))
			f.Add(AppendFrame(nil, flags, make([]byte, min(size, 300))), int64(size))
		}
	}
	f.Add([]byte{FlagLong, 0x80, 0, 0, 0, 0, 0, 0, 0}, int64(-1))
	f.Add([]byte{FlagLong, 0, 0, 0, 0, 0, 0, 4}, int64(1000))
	f.Fuzz(func(t *testing.T, b []byte, maxSize int64) {
		h, n, err := ParseFrameHeader(b, maxSize)
		if err != nil {
			checkParseError(t, err, opFrame, false)
			if n != 0 || h != (FrameHeader{}) {
				t.Fatalf("error with n=%d h=%+v", n, h)
			}
			if err == ErrShort {
				// ErrShort promises a valid completion exists: zeros give
				// the smallest size, so they must complete it.
				if len(b) >= 9 {
					t.Fatalf("ErrShort with %d bytes", len(b))
				}
				full := append(bytes.Clone(b), make([]byte, 9-len(b))...)
				if _, _, err := ParseFrameHeader(full, maxSize); err != nil {
					t.Fatalf("ErrShort for %x but zero completion fails: %v", b, err)
				}
			} else if len(b) < 9 {
				// A protocol error is final: more bytes never help.
				full := append(bytes.Clone(b), make([]byte, 9-len(b))...)
				if _, _, err2 := ParseFrameHeader(full, maxSize); err2 == nil {
					t.Fatalf("%x refused (%v) but its completion parses", b, err)
				}
			}
			return
		}
		if n != 2 && n != 9 || n > len(b) {
			t.Fatalf("n = %d", n)
		}
		if h.Flags&^(FlagMore|FlagCommand) != 0 || h.More() && h.Command() {
			t.Fatalf("bad flags %#x", h.Flags)
		}
		if h.Size >= 1<<63 || maxSize >= 0 && h.Size > uint64(maxSize) {
			t.Fatalf("size %d passed limit %d", h.Size, maxSize)
		}
		for i := 0; i < n; i++ {
			if _, _, err := ParseFrameHeader(b[:i], maxSize); err != ErrShort {
				t.Fatalf("prefix %d of a valid header: %v", i, err)
			}
		}
		if h.Size > math.MaxInt {
			return // not representable as an int on this platform
		}
		// Round trip: parse(append(h)) == h, and canonical input is reproduced.
		enc := AppendFrameHeader(nil, h.Flags, int(h.Size))
		h2, n2, err := ParseFrameHeader(enc, maxSize)
		if err != nil || h2 != h || n2 != len(enc) {
			t.Fatalf("re-encode %x: %+v n=%d err=%v, want %+v", enc, h2, n2, err, h)
		}
		if canonical := (n == 2) == (h.Size <= MaxShortSize); canonical && !bytes.Equal(enc, b[:n]) {
			t.Fatalf("canonical header %x re-encoded as %x", b[:n], enc)
		}
	})
}

func FuzzGreeting(f *testing.F) {
	for _, g := range []Greeting{
		{Major: 3, Minor: 1, Mechanism: MechNull},
		{Major: 3, Minor: 0, Mechanism: MechPlain, AsServer: true},
		{Major: 3, Minor: 1, Mechanism: MechCurve},
		{Major: 2, Minor: 0, Mechanism: MechNull},
		{Major: 9, Minor: 9, Mechanism: "ABCDEFGHIJ0123456789"},
	} {
		b := AppendGreeting(nil, g)
		f.Add(b)
		f.Add(b[:11])
		for _, cut := range []int{SignatureSize, GreetingHeadSize} {
			f.Add(AppendGreetingPart(nil, g, 0, cut))
		}
		f.Add(AppendGreetingPart(AppendGreetingPart(nil, g, 0, GreetingHeadSize), g, GreetingHeadSize, GreetingSize))
	}
	for _, rev := range []byte{0, 1, 2} {
		// ZMTP 1.0 and 2.0 heads, and what JeroMQ 0.3 sends: its head and socket type.
		f.Add(append(AppendGreetingPart(nil, Greeting{Major: rev}, 0, GreetingHeadSize), 0x07))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The head decides what it can, and ParseGreeting agrees with it on the head's bytes.
		major, herr := ParseGreetingHead(b)
		switch {
		case herr == ErrShort:
			if len(b) >= GreetingHeadSize {
				t.Fatalf("head ErrShort with %d bytes", len(b))
			}
		case herr != nil:
			checkParseError(t, herr, opGreeting, true)
			if _, _, err := ParseGreeting(b); err == nil || err.Error() != herr.Error() {
				t.Fatalf("head refused (%v), ParseGreeting says %v", herr, err)
			}
		case major < 3 || len(b) < GreetingHeadSize:
			t.Fatalf("head accepted major %d from %d bytes", major, len(b))
		}
		g, n, err := ParseGreeting(b)
		if herr == nil {
			var ve *VersionError
			if errors.As(err, &ve) || errors.Is(err, ErrNotZMTP) {
				t.Fatalf("head accepted, ParseGreeting refused it: %v", err)
			}
			if err == nil && g.Major != major {
				t.Fatalf("majors differ: %d, %d", g.Major, major)
			}
		}
		if err != nil {
			checkParseError(t, err, opGreeting, true)
			if n != 0 {
				t.Fatalf("n = %d on error", n)
			}
			if err == ErrShort && len(b) >= GreetingSize {
				t.Fatalf("ErrShort with %d bytes", len(b))
			}
			return
		}
		if n != GreetingSize || g.Major < 3 || g.Mechanism == "" || len(g.Mechanism) > 20 {
			t.Fatalf("accepted %+v n=%d", g, n)
		}
		for i := 0; i < GreetingSize; i++ {
			if _, _, err := ParseGreeting(b[:i]); err != ErrShort {
				t.Fatalf("prefix %d of a valid greeting: %v", i, err)
			}
		}
		enc := AppendGreeting(nil, g)
		g2, n2, err := ParseGreeting(enc)
		if err != nil || g2 != g || n2 != GreetingSize {
			t.Fatalf("round trip %+v -> %+v err=%v", g, g2, err)
		}
		// Everything the parser keeps sits at the same offsets.
		if !bytes.Equal(enc[10:12+len(g.Mechanism)], b[10:12+len(g.Mechanism)]) || enc[32] != b[32] {
			t.Fatalf("re-encoded fields differ:\n%x\n%x", enc, b[:64])
		}
	})
}

func FuzzCommand(f *testing.F) {
	seeds := [][]byte{
		AppendReady(nil, Property{"Socket-Type", []byte("SUB")}),
		AppendError(nil, "denied"),
		AppendPing(nil, 50, []byte("ctx")),
		AppendPong(nil, []byte("ctx")),
		AppendSubscribe(nil, []byte("topic")),
		AppendCancel(nil, nil),
		AppendCommand(nil, "HELLO", make([]byte, 300)),
	}
	for _, s := range seeds {
		_, n, _ := ParseFrameHeader(s, -1)
		f.Add(s[n:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCommand(body)
		if err != nil {
			checkParseError(t, err, opCommand, false)
			if err == ErrShort {
				t.Fatal("ParseCommand returned ErrShort for a whole body")
			}
			return
		}
		if len(c.Name) == 0 || len(c.Name) > 255 || 1+len(c.Name)+len(c.Data) != len(body) {
			t.Fatalf("name %d data %d body %d", len(c.Name), len(c.Data), len(body))
		}
		// Round trip: the whole frame re-encodes to header + the same body.
		frame := AppendCommand(nil, string(c.Name), c.Data)
		h, n, err := ParseFrameHeader(frame, -1)
		if err != nil || !h.Command() || !bytes.Equal(frame[n:], body) {
			t.Fatalf("re-encode: %+v err=%v body %x vs %x", h, err, frame[n:], body)
		}
		switch {
		case c.Is(CmdPing):
			ttl, ctx, err := ParsePing(c.Data)
			if err != nil {
				checkParseError(t, err, opCommand, false)
				return
			}
			c2 := mustCommand(t, AppendPing(nil, ttl, ctx))
			ttl2, ctx2, err := ParsePing(c2.Data)
			if err != nil || ttl2 != ttl || !bytes.Equal(ctx2, ctx) || len(ctx) > MaxPingContext {
				t.Fatalf("ping round trip %d %x -> %d %x %v", ttl, ctx, ttl2, ctx2, err)
			}
		case c.Is(CmdError):
			reason, err := ParseError(c.Data)
			if err != nil {
				checkParseError(t, err, opCommand, false)
				return
			}
			r2, err := ParseError(mustCommand(t, AppendError(nil, string(reason))).Data)
			if err != nil || !bytes.Equal(r2, reason) {
				t.Fatalf("error round trip %q -> %q %v", reason, r2, err)
			}
		case c.Is(CmdReady):
			var props []Property
			err := ParseMetadata(c.Data, func(name, value []byte) error {
				props = append(props, Property{string(name), value})
				return nil
			})
			if err != nil {
				checkParseError(t, err, opMetadata, false)
				return
			}
			c2 := mustCommand(t, AppendReady(nil, props...))
			if !bytes.Equal(c2.Data, c.Data) {
				t.Fatalf("READY round trip %x -> %x", c.Data, c2.Data)
			}
		}
	})
}

func mustCommand(t *testing.T, frame []byte) Command {
	t.Helper()
	_, n, err := ParseFrameHeader(frame, -1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCommand(frame[n:])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func FuzzMetadata(f *testing.F) {
	f.Add(AppendMetadata(nil))
	f.Add(AppendMetadata(nil, Property{"Socket-Type", []byte("ROUTER")}, Property{"Identity", []byte{1, 2}}))
	f.Add(AppendMetadata(nil, Property{"x.y-z_w+1", nil}, Property{"Resource", []byte("a/b")}))
	f.Add(AppendProperty(nil, "A", make([]byte, 300)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var props []Property
		err := ParseMetadata(b, func(name, value []byte) error {
			if len(name) == 0 || len(name) > 255 {
				t.Fatalf("name of %d bytes", len(name))
			}
			props = append(props, Property{string(name), value})
			return nil
		})
		if err != nil {
			checkParseError(t, err, opMetadata, false)
			if err == ErrShort {
				t.Fatal("ParseMetadata returned ErrShort for a whole block")
			}
			if ParseMetadata(b, nil) == nil {
				t.Fatal("nil fn accepted what fn refused")
			}
			return
		}
		// Metadata has one encoding, so re-encoding gives the input back.
		enc := AppendMetadata(nil, props...)
		if !bytes.Equal(enc, b) || MetadataLen(props...) != len(b) {
			t.Fatalf("round trip:\n%x\n%x", b, enc)
		}
	})
}
