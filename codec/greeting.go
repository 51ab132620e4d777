package codec

import "slices"

// Security mechanism names defined by the ZMTP RFCs.
const (
	MechNull  = "NULL"
	MechPlain = "PLAIN"
	MechCurve = "CURVE"
)

// Greeting byte offsets.
const (
	grSignatureEnd = 9 // b[9]: bit 0 set from ZMTP 2.0 on (0x7F)
	grMajor        = 10
	grMinor        = 11
	grMechanism    = 12
	grMechanismLen = 20
	grAsServer     = 32
)

// Greeting is the content of the 64-byte ZMTP greeting that both peers send
// first. The padding and filler bytes carry no information and are not kept.
type Greeting struct {
	Major, Minor byte
	Mechanism    string // "NULL", "PLAIN", "CURVE", or an experimental name
	AsServer     bool
}

// ParseGreeting decodes a peer's greeting from the front of b. A full parse
// needs GreetingSize bytes (n = 64; bytes after them are not looked at), but
// the greeting is checked as it arrives, so a bad peer is refused from the
// first byte that proves it bad:
//
//   - b[0] != 0xFF, or bit 0 of b[9] clear: ErrNotZMTP in a *ProtocolError
//     (another protocol, or ZMTP 1.0);
//   - major version b[10] below 3: *VersionError (ZMTP 1.0/2.0 framing). This
//     needs only 11 bytes, which matters because a peer probing for old
//     versions sends 11 bytes and then waits for ours;
//   - a mechanism name that is empty or has bytes outside [A-Z0-9-_] before
//     its first NUL, or an as-server byte other than 0 or 1: ErrMalformed.
//
// Otherwise it returns the bare ErrShort while fewer than 64 bytes are there.
// Padding (bytes 1-8), bytes after the mechanism's first NUL and the filler
// are ignored as the spec requires. Major versions above 3 are accepted (a
// peer MUST accept higher versions); the caller decides what to speak.
//
// Safe for concurrent use. The known mechanism names are returned as
// constants without allocating; other names are copied into a new string.
func ParseGreeting(b []byte) (g Greeting, n int, err error) {
	if len(b) > GreetingSize {
		b = b[:GreetingSize]
	}
	if len(b) == 0 {
		return Greeting{}, 0, ErrShort
	}
	if b[0] != 0xFF {
		return Greeting{}, 0, protoErr(opGreeting, ErrNotZMTP)
	}
	if len(b) <= grSignatureEnd {
		return Greeting{}, 0, ErrShort
	}
	if b[grSignatureEnd]&1 == 0 {
		return Greeting{}, 0, protoErr(opGreeting, ErrNotZMTP)
	}
	if len(b) <= grMajor {
		return Greeting{}, 0, ErrShort
	}
	if b[grMajor] < 3 {
		return Greeting{}, 0, &VersionError{Major: b[grMajor]}
	}
	// Validate whatever part of the mechanism has arrived.
	end := min(len(b), grMechanism+grMechanismLen)
	nameEnd := -1
	for i := grMechanism; i < end; i++ {
		c := b[i]
		if c == 0 {
			if i == grMechanism {
				return Greeting{}, 0, protoErr(opGreeting, errMechEmpty)
			}
			nameEnd = i
			break
		}
		if !isMechChar(c) {
			return Greeting{}, 0, protoErr(opGreeting, errMechChar)
		}
	}
	if len(b) <= grAsServer {
		return Greeting{}, 0, ErrShort
	}
	if b[grAsServer] > 1 {
		return Greeting{}, 0, protoErr(opGreeting, errAsServer)
	}
	if len(b) < GreetingSize {
		return Greeting{}, 0, ErrShort
	}
	if nameEnd < 0 {
		nameEnd = grMechanism + grMechanismLen
	}
	return Greeting{
		Major:     b[grMajor],
		Minor:     b[grMinor],
		Mechanism: mechanismName(b[grMechanism:nameEnd]),
		AsServer:  b[grAsServer] == 1,
	}, GreetingSize, nil
}

// isMechChar follows the spec's prose, "uppercase letters A to Z, digits, and
// embedded hyphens or underscores".
func isMechChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func mechanismName(b []byte) string {
	// The compiler turns these comparisons into byte compares; only an
	// unknown name pays for a string.
	switch string(b) {
	case MechNull:
		return MechNull
	case MechPlain:
		return MechPlain
	case MechCurve:
		return MechCurve
	}
	return string(b)
}

// AppendGreeting appends g as a 64-byte greeting with zero padding and filler.
// Major and Minor are written as given (zloop announces 3.1). A Mechanism
// longer than 20 bytes is cut to 20; its characters are not checked. It does
// not allocate when dst has 64 bytes of spare capacity.
func AppendGreeting(dst []byte, g Greeting) []byte {
	n := len(dst)
	dst = slices.Grow(dst, GreetingSize)[:n+GreetingSize]
	out := dst[n:]
	clear(out) // spare capacity may hold old bytes; padding and filler must be zero
	out[0] = 0xFF
	out[grSignatureEnd] = 0x7F
	out[grMajor] = g.Major
	out[grMinor] = g.Minor
	copy(out[grMechanism:grMechanism+grMechanismLen], g.Mechanism)
	if g.AsServer {
		out[grAsServer] = 1
	}
	return dst
}
