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

// Byte 10 is ZMTP 2.0's revision (rfc 15: %x01; rfc 23 reads 1 and 2 as 2.0, 0 as libzmq's
// versioned 1.0 framing), not a major version: the error names the protocol the peer speaks.
func TestParseGreetingOldVersion(t *testing.T) {
	for _, tc := range []struct {
		revision     byte
		major, minor byte
		text         string
	}{
		{0, 1, 0, "unsupported ZMTP version 1.0"},
		{1, 2, 0, "unsupported ZMTP version 2.0"},
		{2, 2, 0, "unsupported ZMTP version 2.0"},
	} {
		b := AppendGreeting(nil, Greeting{Major: tc.revision, Minor: 9, Mechanism: MechNull})
		for i := 0; i <= len(b); i++ {
			_, _, err := ParseGreeting(b[:i])
			if i < 11 {
				wantShort(t, err)
				continue
			}
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Major != tc.major || ve.Minor != tc.minor || !errors.Is(err, ErrVersion) {
				t.Fatalf("revision %d prefix %d: err = %v, want version %d.%d", tc.revision, i, err, tc.major, tc.minor)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("revision %d: text %q lacks %q", tc.revision, err, tc.text)
			}
			var pe *ProtocolError
			if errors.As(err, &pe) || errors.Is(err, ErrNotZMTP) {
				t.Fatalf("version error must be its own kind: %v", err)
			}
		}
	}
}

// What JeroMQ 0.3.6 (a ZMTP 2.0 peer) sends once it has our signature: its signature, revision 1
// and its socket type. Twelve bytes are all it sends before it has ours.
func TestParseGreetingJeroMQ(t *testing.T) {
	b := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x07}
	_, _, err := ParseGreeting(b)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Major != 2 || ve.Minor != 0 {
		t.Fatalf("err = %v, want ZMTP 2.0 refused", err)
	}
	if got, want := err.Error(), "zmq: unsupported ZMTP version 2.0 (need 3.0 or later)"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
}

// A ZMTP 1.0 peer's first frame with a long length (0xFF, 8-byte size, flags 0) is what libzmq
// calls an unversioned peer: ZMTP 1.0, decided at the tenth byte.
func TestParseGreetingUnversioned(t *testing.T) {
	b := []byte{0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0x00, 'i', 'd'}
	for i := 0; i <= len(b); i++ {
		_, _, err := ParseGreeting(b[:i])
		if i < 10 {
			wantShort(t, err)
			continue
		}
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Major != 1 || ve.Minor != 0 || errors.Is(err, ErrNotZMTP) {
			t.Fatalf("prefix %d: err = %v, want ZMTP 1.0 refused", i, err)
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

// Any part of the greeting is those bytes of AppendGreeting's, and the parts add up to it.
func TestAppendGreetingPart(t *testing.T) {
	g := Greeting{Major: 3, Minor: 1, Mechanism: MechPlain, AsServer: true}
	full := AppendGreeting(nil, g)
	for from := -1; from <= GreetingSize+1; from++ {
		for to := -1; to <= GreetingSize+1; to++ {
			got := AppendGreetingPart([]byte("x"), g, from, to)
			lo, hi := min(max(from, 0), GreetingSize), min(max(to, 0), GreetingSize)
			want := []byte("x")
			if lo < hi {
				want = append(want, full[lo:hi]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("[%d, %d) = %x, want %x", from, to, got, want)
			}
		}
	}
	var steps []byte
	for _, cut := range [][2]int{{0, SignatureSize}, {SignatureSize, GreetingHeadSize}, {GreetingHeadSize, GreetingSize}} {
		steps = AppendGreetingPart(steps, g, cut[0], cut[1])
	}
	if !bytes.Equal(steps, full) {
		t.Fatalf("steps = %x, want %x", steps, full)
	}
	// Stale bytes in spare capacity must not leak into padding or filler.
	dirty := bytes.Repeat([]byte{0xAA}, 100)[:0]
	if got := AppendGreetingPart(dirty, g, 1, GreetingSize); !bytes.Equal(got, full[1:]) {
		t.Fatalf("dirty capacity leaked: %x", got)
	}
}

// ParseGreetingHead decides at byte 11 at the latest, agrees with ParseGreeting on every prefix of
// the head, and never looks past it.
func TestParseGreetingHead(t *testing.T) {
	for _, major := range []byte{3, 4, 255} {
		b := AppendGreeting(nil, Greeting{Major: major, Minor: 1, Mechanism: MechNull})
		b[GreetingHeadSize] = 0xEE // not the head's business (and not a valid greeting)
		b[12] = 'x'
		for i := 0; i <= len(b); i++ {
			got, err := ParseGreetingHead(b[:i])
			if i < GreetingHeadSize {
				wantShort(t, err)
				if _, _, err := ParseGreeting(b[:i]); err != ErrShort {
					t.Fatalf("ParseGreeting disagrees at %d: %v", i, err)
				}
				continue
			}
			if err != nil || got != major {
				t.Fatalf("major %d prefix %d: %d, %v", major, i, got, err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		in     []byte
		decide int
		major  byte // of the VersionError; 0 for ErrNotZMTP
	}{
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), 1, 0},
		{"ZMTP 1.0 short first frame", []byte{0x01, 0x00}, 1, 0},
		{"ZMTP 1.0 long first frame", []byte{0xFF, 0, 0, 0, 0, 0, 0, 1, 0, 0x00, 'i'}, 10, 1},
		{"revision 0", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x00, 0x07}, 11, 1},
		{"JeroMQ 0.3", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x07}, 11, 2},
		{"revision 2", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 0x02}, 11, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i <= len(tc.in); i++ {
				_, err := ParseGreetingHead(tc.in[:i])
				_, _, full := ParseGreeting(tc.in[:i])
				if err != full && err.Error() != full.Error() {
					t.Fatalf("prefix %d: head says %v, ParseGreeting %v", i, err, full)
				}
				if i < tc.decide {
					wantShort(t, err)
					continue
				}
				var ve *VersionError
				switch {
				case tc.major == 0:
					wantProto(t, err, opGreeting, ErrNotZMTP)
				case !errors.As(err, &ve) || ve.Major != tc.major || ve.Minor != 0:
					t.Fatalf("prefix %d: %v, want version %d.0", i, err, tc.major)
				}
			}
		})
	}
}
