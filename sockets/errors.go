package sockets

import (
	"errors"

	"github.com/zloop/zloop/reactor"
)

// Errors returned by sockets. Test for them with errors.Is; each corresponds to a libzmq errno.
var (
	// ErrWouldBlock: the operation cannot complete now (a full queue on send, nothing to receive)
	// and the caller asked not to wait (libzmq's EAGAIN: ZMQ_DONTWAIT, or SNDTIMEO/RCVTIMEO expired).
	ErrWouldBlock = errors.New("zmq: resource temporarily unavailable")
	// ErrClosed: the socket was closed (libzmq's ENOTSOCK).
	ErrClosed = reactor.ErrClosed
	// ErrTerminated: the socket's reactor was shut down (libzmq's ETERM): calls blocked on the
	// socket when it happened, later calls, and NewOn on that reactor return it. It wraps
	// ErrClosed: errors.Is(err, ErrClosed) holds for it too.
	ErrTerminated = reactor.ErrTerminated
	// ErrLingerExpired: the Err of the monitor event that reports messages dropped because a
	// closed socket's LINGER (or Reactor.Shutdown's context) ran out before they were sent.
	ErrLingerExpired = reactor.ErrLingerExpired
	// ErrState: the call breaks the socket's state machine, e.g. two sends in a row on a REQ
	// socket (libzmq's EFSM).
	ErrState = errors.New("zmq: operation cannot be accomplished in current state")
	// ErrNotSupported: the socket type does not do that operation, e.g. Recv on PUSH (ENOTSUP).
	ErrNotSupported = errors.New("zmq: operation not supported by socket type")
	// ErrNoEndpoint: Unbind or Disconnect of an endpoint that was not bound or connected (ENOENT).
	ErrNoEndpoint = errors.New("zmq: no such endpoint")
	// ErrEmptyMessage: a message needs at least one frame.
	ErrEmptyMessage = errors.New("zmq: message has no frames")
	// ErrInvalid: an invalid argument, such as an option value out of range (EINVAL).
	ErrInvalid = errors.New("zmq: invalid argument")
	// ErrHostUnreachable: a ROUTER with RouterMandatory was asked to send to a routing id that no
	// connected peer has (libzmq's EHOSTUNREACH). The message still belongs to the caller.
	ErrHostUnreachable = errors.New("zmq: host unreachable: no peer has that routing id")
)
