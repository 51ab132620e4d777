package codec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Test for them with errors.Is: all but ErrShort reach the
// caller wrapped in a *ProtocolError (or a *VersionError for ErrVersion).
var (
	// ErrShort means the input is a valid prefix that is too short to parse;
	// the caller should retry with more bytes. It is not a protocol error.
	ErrShort = errors.New("zmq: short buffer")

	// ErrNotZMTP means the peer's first byte is not a ZMTP signature's 0xFF:
	// it speaks another protocol (or ZMTP 1.0 with a short first frame, which
	// one byte cannot tell from another protocol).
	ErrNotZMTP = errors.New("zmq: peer does not speak ZMTP")

	// ErrVersion means the peer speaks a ZMTP version older than 3.0.
	// It is carried by *VersionError.
	ErrVersion = errors.New("zmq: unsupported ZMTP version")

	// ErrReservedFlags means a frame's flags byte has one of the reserved
	// bits 3-7 set.
	ErrReservedFlags = errors.New("zmq: reserved frame flag bits set")

	// ErrTooLarge means a frame's size exceeds the caller's limit or 2^63-1.
	ErrTooLarge = errors.New("zmq: frame too large")

	// ErrMalformed means a greeting, command or metadata block does not
	// follow the ZMTP grammar.
	ErrMalformed = errors.New("zmq: malformed input")

	// ErrZ85 means Z85 text (rfc 32) or the bytes to encode are not usable: a length that is not
	// a multiple of 5 (4 for bytes), a character outside the alphabet, a group over 2^32-1.
	ErrZ85 = errors.New("zmq: invalid Z85")
)

// ProtocolError reports input that violates ZMTP and can never become valid.
// Op names the structure being parsed ("frame", "greeting", "command",
// "metadata"); Err wraps one of the sentinel errors above.
type ProtocolError struct {
	Op  string
	Err error
}

func (e *ProtocolError) Error() string {
	detail := "unknown error"
	if e.Err != nil {
		// The wrapped sentinel carries its own "zmq: " prefix; print it once.
		detail = strings.TrimPrefix(e.Err.Error(), "zmq: ")
	}
	return "zmq: protocol error in " + e.Op + ": " + detail
}

// Unwrap returns Err, so errors.Is(err, ErrTooLarge) and the like work.
func (e *ProtocolError) Unwrap() error { return e.Err }

// VersionError reports a peer that speaks ZMTP 1.0 or 2.0, which zloop does
// not speak. Major and Minor name that protocol version (1.0 or 2.0), not the
// byte the peer sent: ZMTP 2.0 sends revision 1 where 3.x sends its major
// version (see ParseGreetingHead). Minor is always zero: those versions have
// no minor version, and their byte 11 means something else.
type VersionError struct {
	Major, Minor byte
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("zmq: unsupported ZMTP version %d.%d (need 3.0 or later)", e.Major, e.Minor)
}

// Unwrap returns ErrVersion.
func (e *VersionError) Unwrap() error { return ErrVersion }

// Op values of ProtocolError.
const (
	opFrame    = "frame"
	opGreeting = "greeting"
	opCommand  = "command"
	opMetadata = "metadata"
)

// detailError adds a fixed explanation to a sentinel. The values are built
// once at package init so that rejecting input costs one small allocation
// (the *ProtocolError) and no formatting.
type detailError struct {
	err error
	msg string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.err }

func malformed(msg string) error { return &detailError{err: ErrMalformed, msg: msg} }

var (
	errCommandMore    = malformed("MORE flag on a command frame")
	errHugeSize       = &detailError{err: ErrTooLarge, msg: "size of 2^63 or more"}
	errOverLimit      = &detailError{err: ErrTooLarge, msg: "size over the limit"}
	errMechEmpty      = malformed("empty security mechanism name")
	errMechChar       = malformed("invalid character in security mechanism name")
	errAsServer       = malformed("as-server byte is neither 0 nor 1")
	errCmdEmpty       = malformed("empty command body")
	errCmdNameEmpty   = malformed("empty command name")
	errCmdNameShort   = malformed("command name runs past the end of the body")
	errCmdNameChar    = malformed("command name is not ASCII letters")
	errErrorShort     = malformed("ERROR reason runs past the end of the body")
	errPingShort      = malformed("PING shorter than its 2-byte TTL")
	errPropNameEmpty  = malformed("empty property name")
	errPropNameShort  = malformed("property name runs past the end")
	errPropNameChar   = malformed("invalid character in property name")
	errPropSizeShort  = malformed("property value size runs past the end")
	errPropValueShort = malformed("property value runs past the end")
	errPropValueHuge  = malformed("property value longer than 2^31-1")
	errCurveHello     = malformed("CURVE HELLO not 200 bytes")
	errCurveWelcome   = malformed("CURVE WELCOME not 160 bytes")
	errCurveInitiate  = malformed("CURVE INITIATE shorter than 257 bytes")
	errCurveReady     = malformed("CURVE READY shorter than its nonce and tag")
	errCurveMessage   = malformed("CURVE MESSAGE shorter than its nonce, tag and flags")
	errZ85Length      = &detailError{err: ErrZ85, msg: "length not a multiple of 5 characters (4 bytes)"}
	errZ85Char        = &detailError{err: ErrZ85, msg: "character outside the alphabet or group over 2^32-1"}
)

func protoErr(op string, err error) error { return &ProtocolError{Op: op, Err: err} }
