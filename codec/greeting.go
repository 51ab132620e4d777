package codec

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
//   - b[0] != 0xFF: ErrNotZMTP in a *ProtocolError (another protocol, or a
//     ZMTP 1.0 peer's short first frame: one byte cannot tell them apart);
//   - bit 0 of b[9] clear, or b[10] below 3: a *VersionError naming the old
//     version (see ParseGreetingHead). This needs only GreetingHeadSize
//     bytes, which matters because a peer probing for old versions sends
//     that much and then waits for ours;
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
	if _, err := ParseGreetingHead(b); err != nil {
		return Greeting{}, 0, err
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

// ParseGreetingHead checks the head of a peer's greeting, its first
// GreetingHeadSize bytes (the signature and the major version), and returns
// the major version, 3 or more, once they have arrived: what rfc 23's version
// negotiation reads before it sends the rest of its own greeting. Before that
// it returns ErrShort, unless the bytes so far already prove the peer bad (so
// ErrShort with SignatureSize bytes or more means a valid signature is in):
//
//   - b[0] != 0xFF: ErrNotZMTP in a *ProtocolError;
//   - bit 0 of b[9] clear: a *VersionError for 1.0 (libzmq's "unversioned"
//     peer, whose first frame has an 8-byte length and a flags byte there);
//   - b[10] (ZMTP 2.0's revision) 0: 1.0, as libzmq 3 reads it; 1 or 2: 2.0,
//     as rfc 23 reads it; both in a *VersionError.
//
// It consumes nothing (there is no n): the head stays part of the greeting
// that ParseGreeting takes whole. Bytes after the head are not looked at.
// Safe for concurrent use; it does not allocate unless it returns a
// *VersionError.
func ParseGreetingHead(b []byte) (major byte, err error) {
	if len(b) == 0 {
		return 0, ErrShort
	}
	if b[0] != 0xFF {
		return 0, protoErr(opGreeting, ErrNotZMTP)
	}
	if len(b) <= grSignatureEnd {
		return 0, ErrShort
	}
	if b[grSignatureEnd]&1 == 0 {
		return 0, &VersionError{Major: 1}
	}
	if len(b) <= grMajor {
		return 0, ErrShort
	}
	switch rev := b[grMajor]; rev {
	case 0:
		return 0, &VersionError{Major: 1}
	case 1, 2:
		return 0, &VersionError{Major: 2}
	default:
		return rev, nil
	}
}

// AppendGreeting appends g as a 64-byte greeting with zero padding and filler.
// Major and Minor are written as given (zloop announces 3.1). A Mechanism
// longer than 20 bytes is cut to 20; its characters are not checked. It does
// not allocate when dst has 64 bytes of spare capacity.
func AppendGreeting(dst []byte, g Greeting) []byte {
	return AppendGreetingPart(dst, g, 0, GreetingSize)
}

// AppendGreetingPart appends bytes from up to (not including) to of g's
// greeting as AppendGreeting writes it, for a sender that negotiates in steps
// (rfc 23): the signature is [0, SignatureSize), the major version
// [SignatureSize, GreetingHeadSize), the rest [GreetingHeadSize, GreetingSize).
// from and to are clamped to 0..GreetingSize; it appends nothing when from >= to.
// It does not allocate when dst has to-from bytes of spare capacity.
func AppendGreetingPart(dst []byte, g Greeting, from, to int) []byte {
	from, to = max(from, 0), min(to, GreetingSize)
	if from >= to {
		return dst
	}
	var b [GreetingSize]byte // padding and filler are zero
	b[0] = 0xFF
	b[grSignatureEnd] = 0x7F
	b[grMajor] = g.Major
	b[grMinor] = g.Minor
	copy(b[grMechanism:grMechanism+grMechanismLen], g.Mechanism)
	if g.AsServer {
		b[grAsServer] = 1
	}
	return append(dst, b[from:to]...)
}
