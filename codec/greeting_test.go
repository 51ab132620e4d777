package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestGreetingWireForm(t *testing.T) {
	got := AppendGreeting([]byte("x"), Greeting{Major: 3, Minor: 1, Mechanism: MechPlain, AsServer: true})
	want := make([]byte, 1+64)
	want[0] = 'x'
	g := want[1:]
	g[0], g[9], g[10], g[11] = 0xFF, 0x7F, 3, 1
	copy(g[12:], "PLAIN")
	g[32] = 1
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendGreeting =\n%x\nwant\n%x", got, want)
	}
	// Stale bytes in spare capacity must not leak into padding or filler.
	dirty := bytes.Repeat([]byte{0xAA}, 100)[:0]
	if got := AppendGreeting(dirty, Greeting{Major: 3, Minor: 1, Mechanism: MechPlain, AsServer: true}); !bytes.Equal(got, want[1:]) {
		t.Fatalf("dirty capacity leaked: %x", got)
	}
}

func TestGreetingRoundTrip(t *testing.T) {
	cases := []Greeting{
		{Major: 3, Minor: 1, Mechanism: MechNull},
		{Major: 3, Minor: 0, Mechanism: MechPlain, AsServer: true},
		{Major: 3, Minor: 1, Mechanism: MechCurve},
		{Major: 4, Minor: 7, Mechanism: "X-MY_MECH-2"},
		{Major: 255, Minor: 255, Mechanism: strings.Repeat("Z", 20), AsServer: true},
	}
	for _, g := range cases {
		b := AppendGreeting(nil, g)
		if len(b) != GreetingSize {
			t.Fatalf("%+v: %d bytes", g, len(b))
		}
		got, n, err := ParseGreeting(b)
		if err != nil || n != GreetingSize || got != g {
			t.Fatalf("%+v: got %+v n=%d err=%v", g, got, n, err)
		}
		// Trailing bytes (the peer's first frame) are not part of the greeting.
		got, n, err = ParseGreeting(append(b, 0x04, 0x05, 'R'))
		if err != nil || n != GreetingSize || got != g {
			t.Fatalf("%+v with trailer: got %+v n=%d err=%v", g, got, n, err)
		}
		for i := 0; i < GreetingSize; i++ {
			_, n, err := ParseGreeting(b[:i])
			if n != 0 {
				t.Fatalf("prefix %d: n=%d", i, n)
			}
			wantShort(t, err)
		}
	}
}

func TestAppendGreetingTruncatesMechanism(t *testing.T) {
	long := strings.Repeat("AB", 15)
	g, _, err := ParseGreeting(AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: long}))
	if err != nil || g.Mechanism != long[:20] {
		t.Fatalf("got %q err=%v", g.Mechanism, err)
	}
}

func TestGreetingIgnoresPaddingAndFiller(t *testing.T) {
	b := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: MechNull})
	for i := 1; i <= 8; i++ {
		b[i] = byte(i * 31) // padding: "MUST NOT validate this"
	}
	b[9] = 0x01 // only bit 0 of the signature's last byte matters
	copy(b[12+5:32], "GARBAGE")
	for i := 33; i < 64; i++ {
		b[i] = 0xEE
	}
	g, n, err := ParseGreeting(b)
	if err != nil || n != 64 || g != (Greeting{Major: 3, Minor: 1, Mechanism: MechNull}) {
		t.Fatalf("got %+v n=%d err=%v", g, n, err)
	}
}

func TestParseGreetingErrors(t *testing.T) {
	valid := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: MechNull})
	with := func(i int, c byte) []byte {
		b := bytes.Clone(valid)
		b[i] = c
		return b
	}
	tests := []struct {
		name   string
		in     []byte
		decide int // shortest prefix that yields the error
		target error
	}{
		{"ZMTP 1.0 short identity", with(0, 0x01), 1, ErrNotZMTP},
		{"HTTP", []byte("GET / HTTP/1.1\r\n\r\n"), 1, ErrNotZMTP},
		{"ZMTP 1.0 long identity", with(9, 0x7E), 10, ErrNotZMTP},
		{"lowercase mechanism", with(12, 'n'), 13, ErrMalformed},
		{"mechanism with space", with(14, ' '), 15, ErrMalformed},
		{"mechanism with dot", with(13, '.'), 14, ErrMalformed},
		{"empty mechanism", with(12, 0), 13, ErrMalformed},
		{"as-server 2", with(32, 2), 33, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i <= len(tc.in); i++ {
				_, n, err := ParseGreeting(tc.in[:i])
				if n != 0 {
					t.Fatalf("prefix %d: n=%d", i, n)
				}
				if i < tc.decide {
					wantShort(t, err)
				} else {
					wantProto(t, err, opGreeting, tc.target)
				}
			}
		})
	}
}

func TestParseGreetingOldVersion(t *testing.T) {
	for _, major := range []byte{0, 1, 2} {
		b := AppendGreeting(nil, Greeting{Major: major, Minor: 9, Mechanism: MechNull})
		for i := 0; i <= len(b); i++ {
			_, _, err := ParseGreeting(b[:i])
			if i < 11 {
				wantShort(t, err)
				continue
			}
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Major != major || ve.Minor != 0 || !errors.Is(err, ErrVersion) {
				t.Fatalf("major %d prefix %d: err = %v", major, i, err)
			}
			var pe *ProtocolError
			if errors.As(err, &pe) || errors.Is(err, ErrNotZMTP) {
				t.Fatalf("version error must be its own kind: %v", err)
			}
		}
	}
}

func TestParseGreetingMechanismAfterNUL(t *testing.T) {
	b := AppendGreeting(nil, Greeting{Major: 3, Minor: 1, Mechanism: MechCurve})
	copy(b[12+6:], "x y") // after the first NUL: not part of the name
	g, _, err := ParseGreeting(b)
	if err != nil || g.Mechanism != MechCurve {
		t.Fatalf("got %q err=%v", g.Mechanism, err)
	}
}
