package testpeer

import (
	"errors"
	"fmt"
)

var (
	// ErrUnavailable means /usr/bin/python3 cannot import zmq (pyzmq is not installed).
	ErrUnavailable = errors.New("zmq: testpeer: python3 with pyzmq is not available")

	// ErrTimeout means the peer answered that the operation timed out (nothing, or not
	// enough, arrived to receive; or HWM kept a send from completing).
	ErrTimeout = errors.New("zmq: testpeer: peer timed out")

	// ErrPeer means the peer answered with an error (bad endpoint, bad option, a
	// RecvCheck mismatch, ...); the CommandError detail carries pyzmq's message.
	ErrPeer = errors.New("zmq: testpeer: peer reported an error")

	// ErrHung means the peer did not answer within the command timeout. The peer is
	// unusable afterwards, since a late answer could no longer be matched to its command.
	ErrHung = errors.New("zmq: testpeer: peer did not answer in time")

	// ErrExited means the peer process is gone (killed, crashed or closed).
	ErrExited = errors.New("zmq: testpeer: peer process exited")

	// ErrSeq is wrapped by CheckSeq and CheckSeqPattern when a body is not the expected
	// sequence message.
	ErrSeq = errors.New("zmq: testpeer: not the expected sequence message")
)

// CommandError is a failed peer command. Unwrap gives ErrTimeout, ErrPeer, ErrHung or
// ErrExited.
type CommandError struct {
	Op     string // the command, e.g. "recv"
	Detail string // the peer's error message, or what the Go side saw
	Err    error
}

func (e *CommandError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%v (%s)", e.Err, e.Op)
	}
	return fmt.Sprintf("%v (%s): %s", e.Err, e.Op, e.Detail)
}

// Unwrap returns the sentinel error.
func (e *CommandError) Unwrap() error { return e.Err }
