package ws

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrShort means the input is a valid prefix that is too short to parse; the
	// caller should retry with more bytes. It is not a protocol error.
	ErrShort = errors.New("zmq: ws: short buffer")

	// ErrProtocol means the peer broke RFC 6455 or ZWS 2.0. Every *ProtocolError
	// matches it, including those that also match ErrTooLarge: either way the
	// connection must be closed.
	ErrProtocol = errors.New("zmq: ws: protocol violation")

	// ErrTooLarge means a message is longer than the caller's limit, than the
	// fragment buffer limit, or than 2^63-1 bytes.
	ErrTooLarge = errors.New("zmq: ws: message too large")

	// ErrHandshake means the HTTP upgrade failed: Accept's *RejectError and every
	// error of ClientHandshake match it.
	ErrHandshake = errors.New("zmq: ws: handshake failed")
)

// ProtocolError reports WebSocket input that violates RFC 6455 or ZWS 2.0 and can never
// become valid. Op names what was being parsed ("header" or "message"); Err wraps
// ErrProtocol or ErrTooLarge with a detail. errors.Is(err, ErrProtocol) is true for
// every ProtocolError.
type ProtocolError struct {
	Op  string
	Err error
}

func (e *ProtocolError) Error() string {
	detail := "unknown error"
	if e.Err != nil {
		// The wrapped sentinel carries its own "zmq: ws: " prefix; print it once.
		detail = strings.TrimPrefix(e.Err.Error(), "zmq: ws: ")
	}
	return "zmq: ws: protocol error in " + e.Op + ": " + detail
}

// Unwrap returns Err, so errors.Is(err, ErrTooLarge) and the like work.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Is reports true for ErrProtocol, so one test tells the caller to close.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// RejectError is Accept's answer to a request that cannot be upgraded. The caller
// writes Response to the connection, then closes it. It matches ErrHandshake.
type RejectError struct {
	Status   int    // HTTP status code of Response: 400, 404, 426, 431, 505...
	Reason   string // why the request was rejected
	Response []byte // the complete HTTP response, a new slice owned by the caller
}

func (e *RejectError) Error() string {
	return "zmq: ws: handshake rejected with HTTP " + strconv.Itoa(e.Status) + ": " + e.Reason
}

// Unwrap returns ErrHandshake.
func (e *RejectError) Unwrap() error { return ErrHandshake }

// handshakeError carries a ClientHandshake failure: it matches ErrHandshake and
// unwraps to the cause, so a timeout stays visible through errors.As(err, &netErr).
type handshakeError struct {
	msg   string
	cause error
}

func (e *handshakeError) Error() string {
	s := "zmq: ws: handshake failed: " + e.msg
	if e.cause != nil {
		s += ": " + strings.TrimPrefix(e.cause.Error(), "zmq: ws: ")
	}
	return s
}

func (e *handshakeError) Unwrap() error        { return e.cause }
func (e *handshakeError) Is(target error) bool { return target == ErrHandshake }

// Op values of ProtocolError.
const (
	opHeader  = "header"
	opMessage = "message"
)

// detailError adds a fixed explanation to a sentinel. The values are built once so
// that rejecting input costs one small allocation (the *ProtocolError) and no
// formatting.
type detailError struct {
	err error
	msg string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.err }

func violation(msg string) error { return &detailError{err: ErrProtocol, msg: msg} }

var (
	errRSV          = violation("reserved bits RSV1-3 set (no extension was negotiated)")
	errOpcode       = violation("reserved opcode")
	errCtrlFrag     = violation("fragmented control frame")
	errCtrlLong     = violation("control frame longer than 125 bytes")
	errUnmasked     = violation("unmasked frame from a client")
	errMasked       = violation("masked frame from a server")
	errText         = violation("text message (ZWS carries binary messages only)")
	errEmpty        = violation("empty data message (no ZMTP flags byte)")
	errFlags        = violation("reserved ZMTP flag bits set")
	errContinuation = violation("continuation frame outside a fragmented message")
	errInterleaved  = violation("new data message inside a fragmented one")
	errHuge         = &detailError{err: ErrTooLarge, msg: "length of 2^63 or more"}
	errOverLimit    = &detailError{err: ErrTooLarge, msg: "length over the limit"}
	errFragLimit    = &detailError{err: ErrTooLarge, msg: "fragmented message over the fragment buffer limit"}
)

func protoErr(op string, err error) error { return &ProtocolError{Op: op, Err: err} }
