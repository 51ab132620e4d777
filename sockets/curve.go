package sockets

import "github.com/zloop/zloop/zmtp"

// CurveKey is a CURVE key, public or secret: 32 raw bytes, whose String is the 40-character Z85
// text (rfc 32) that libzmq prints and takes.
type CurveKey = zmtp.CurveKey

// CurveKeypair returns a new long-term CURVE key pair, as zmq_curve_keypair. Any goroutine.
func CurveKeypair() (public, secret CurveKey, err error) { return zmtp.CurveKeypair() }

// CurvePublic derives a secret key's public key, as zmq_curve_public. Any goroutine.
func CurvePublic(secret CurveKey) CurveKey { return zmtp.CurvePublic(secret) }

// ParseCurveKey takes a key as 40 characters of Z85 text or the 32 raw bytes, as libzmq's
// ZMQ_CURVE_* options do. Any goroutine.
func ParseCurveKey(s string) (CurveKey, error) { return zmtp.ParseCurveKey(s) }
