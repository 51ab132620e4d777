package zmtp

import (
	"errors"
	"strings"

	"github.com/zloop/zloop/codec"
)

// Sentinel errors. Every error a Session returns matches one of these, a codec sentinel
// (codec.ErrNotZMTP, codec.ErrReservedFlags, codec.ErrMalformed, codec.ErrVersion through
// *codec.VersionError), or is the error the Handler returned from Ready. Test with errors.Is.
var (
	// ErrHandshakeTimeout: the handshake did not complete within Config.HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("zmq: handshake timed out")
	// ErrHeartbeatTimeout: nothing arrived within Config.HeartbeatTimeout after one of our PINGs,
	// or within the TTL the peer announced in its last PING.
	ErrHeartbeatTimeout = errors.New("zmq: heartbeat timed out")
	// ErrIncompatible: the peer's Socket-Type cannot talk to ours. Returned as *IncompatibleError.
	ErrIncompatible = errors.New("zmq: incompatible socket type")
	// ErrMechanismMismatch: the peer announced a known security mechanism other than ours.
	ErrMechanismMismatch = errors.New("zmq: security mechanism mismatch")
	// ErrUnsupportedMechanism: the peer announced a security mechanism this package does not know.
	ErrUnsupportedMechanism = errors.New("zmq: unsupported security mechanism")
	// ErrTooLarge: a frame or message exceeds Config.MaxMsgSize, or a command exceeds
	// Config.MaxCommandSize. It is codec.ErrTooLarge, so either name matches.
	ErrTooLarge = codec.ErrTooLarge
	// ErrTooManyFrames: an unfinished message has more than Config.MaxFrames frames.
	ErrTooManyFrames = errors.New("zmq: too many frames in one message")
	// ErrUnexpectedCommand: a command that is not allowed in the current state (READY twice,
	// PING during the handshake, ...).
	ErrUnexpectedCommand = errors.New("zmq: unexpected command")
	// ErrUnexpectedMessage: a message frame arrived before the handshake completed.
	ErrUnexpectedMessage = errors.New("zmq: message frame before the handshake completed")
	// ErrMissingSocketType: the peer's READY has no Socket-Type property.
	ErrMissingSocketType = errors.New("zmq: peer sent no Socket-Type")
	// ErrPeer: the peer sent an ERROR command. Returned as *PeerError, which carries the reason.
	ErrPeer = errors.New("zmq: peer sent ERROR")
	// ErrAuthentication: the ZAP handler refused the client (*AuthError, on the server's side),
	// or the server refused us (*PeerError with Refused, on the client's side).
	ErrAuthentication = errors.New("zmq: authentication failed")
	// ErrNoZAPHandler: a server mechanism needed a ZAP handler and there was none (PLAIN, or
	// ZAP_ENFORCE_DOMAIN): libzmq closes such a connection without an ERROR and reports
	// HANDSHAKE_FAILED_NO_DETAIL.
	ErrNoZAPHandler = errors.New("zmq: no ZAP handler")
	// ErrZAPReply: the ZAP handler's reply breaks rfc 27 (*ZAPError): the handshake it answers
	// fails as a protocol error, as libzmq's ZMQ_PROTOCOL_ERROR_ZAP_* do.
	ErrZAPReply = errors.New("zmq: bad ZAP reply")
	// ErrUnexpectedReply: Session.Authorized without a pending request.
	ErrUnexpectedReply = errors.New("zmq: ZAP reply without a request")
	// ErrCryptographic: a CURVE box did not open (a wrong key, a tampered or forged command), or
	// its nonce did not increase (a replayed or reordered command). libzmq's
	// ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC.
	ErrCryptographic = errors.New("zmq: CURVE cryptographic error")
	// ErrInvalidKey: a CURVE key is neither 40 characters of Z85 text nor 32 raw bytes.
	ErrInvalidKey = errors.New("zmq: invalid CURVE key")
	// ErrInvalidConfig: the Config cannot be used (an Identity longer than 255 bytes, a property
	// name the wire cannot carry). Reported by every Read and Tick.
	ErrInvalidConfig = errors.New("zmq: invalid session configuration")
)

// Error is a protocol violation or a local failure detected by a Session. Err is one of the
// sentinels above (or, for "message", the codec's error); Op names the stage ("greeting",
// "handshake", "frame", "command", "heartbeat", "config", and "message" for a CURVE MESSAGE refused
// once the handshake is over, see MessageRefused).
type Error struct {
	Op     string
	Err    error
	Detail string // optional, human-readable context
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("zmq: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(trimPrefix(e.Err))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel so errors.Is works.
func (e *Error) Unwrap() error { return e.Err }

// opMessage is the Op of a CURVE MESSAGE refused after the handshake.
const opMessage = "message"

// MessageRefused reports whether err is a frame refused by CURVE after the handshake: not a
// MESSAGE, a malformed one, one whose nonce does not increase, or one whose box does not open.
// libzmq's CURVE decoder reports these as HANDSHAKE_FAILED_PROTOCOL, handshake over or not, before
// the connection's DISCONNECTED; any other error after the handshake only as DISCONNECTED.
func MessageRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Op == opMessage
}

// PeerError reports an ERROR command received from the peer. errors.Is(err, ErrPeer) matches it.
type PeerError struct {
	Reason string
	// Refused: the ERROR came during the handshake from a PLAIN server, which refuses this way,
	// or carries a ZAP status code ("300", "400", "500") from any server, which libzmq reports as
	// an authentication failure; errors.Is then matches ErrAuthentication too. AuthStatus gives
	// the status code.
	Refused bool
}

func (e *PeerError) Error() string { return "zmq: peer sent ERROR: " + quote(e.Reason) }

// Unwrap returns ErrPeer, and ErrAuthentication as well when Refused.
func (e *PeerError) Unwrap() []error {
	if e.Refused {
		return []error{ErrPeer, ErrAuthentication}
	}
	return []error{ErrPeer}
}

// IncompatibleError reports that the peer's socket type cannot talk to ours.
// errors.Is(err, ErrIncompatible) matches it.
type IncompatibleError struct {
	Ours, Peer string
}

func (e *IncompatibleError) Error() string {
	return "zmq: incompatible socket type: we are " + quote(e.Ours) + ", peer is " + quote(e.Peer)
}

// Unwrap returns ErrIncompatible.
func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }

func trimPrefix(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "zmq: ")
}

// quote keeps error text printable: reasons and socket types come from the wire and may hold
// any bytes, and a terminal or log line should not interpret them.
func quote(s string) string {
	const max = 64
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s) && i < max; i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			const hex = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	if len(s) > max {
		b.WriteString("...")
	}
	b.WriteByte('"')
	return b.String()
}
