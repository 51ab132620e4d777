package zmtp

import (
	"crypto/rand"

	"github.com/zloop/zloop/codec"
	"golang.org/x/crypto/curve25519"
)

// CurveKey is a CURVE (Curve25519) key, public or secret, in its raw 32 bytes. Its String is the
// 40-character Z85 text that libzmq's zmq_curve_keypair prints and its options accept.
type CurveKey [32]byte

// String returns the key's Z85 text (rfc 32), 40 characters. Beware of printing secret keys. Any
// goroutine.
func (k CurveKey) String() string {
	var buf [40]byte
	b, _ := codec.AppendZ85(buf[:0], k[:]) // 32 is a multiple of 4
	return string(b)
}

// ParseCurveKey takes a key as libzmq's ZMQ_CURVE_* options do: 40 characters of Z85 text, or the
// 32 raw bytes. Anything else is an error matching ErrInvalidKey.
func ParseCurveKey(s string) (CurveKey, error) {
	var k CurveKey
	switch len(s) {
	case 32:
		copy(k[:], s)
		return k, nil
	case 40:
		if _, err := codec.AppendZ85Decode(k[:0], []byte(s)); err != nil {
			return CurveKey{}, &Error{Op: "key", Err: ErrInvalidKey, Detail: "not Z85 text"}
		}
		return k, nil
	}
	return CurveKey{}, &Error{Op: "key", Err: ErrInvalidKey, Detail: "need 40 Z85 characters or 32 bytes"}
}

// CurveKeypair returns a new long-term key pair from crypto/rand, as zmq_curve_keypair; print
// them with String. Safe for concurrent use.
func CurveKeypair() (public, secret CurveKey, err error) {
	if _, err = rand.Read(secret[:]); err != nil {
		return CurveKey{}, CurveKey{}, err
	}
	return CurvePublic(secret), secret, nil
}

// CurvePublic derives the public key of a secret key, as zmq_curve_public. Safe for concurrent use.
func CurvePublic(secret CurveKey) CurveKey {
	var pub CurveKey
	curve25519.ScalarBaseMult((*[32]byte)(&pub), (*[32]byte)(&secret))
	return pub
}
