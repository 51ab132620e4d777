package reactor

import (
	"errors"
	"fmt"
)

// Sentinel errors of the reactor. Every error the package returns either is one of these or wraps one
// (test with errors.Is), possibly inside an *OpError that names the endpoint.
var (
	// ErrClosed: the reactor, listener, dialer or pipe was closed.
	ErrClosed = errors.New("zmq: closed")
	// ErrTerminated: the reactor was shut down (libzmq's ETERM after zmq_ctx_term). Every call
	// blocked on one of its sockets returns it, and so does every later call and NewOn. It wraps
	// ErrClosed, so code that tests for ErrClosed treats a terminated socket as a closed one.
	ErrTerminated = fmt.Errorf("zmq: reactor terminated: %w", ErrClosed)
	// ErrLingerExpired: a closed socket's LINGER ran out (or the shutdown's context ended) before
	// its queued messages reached the peer; they were dropped. It is the Err of the monitor event
	// that reports the drop, wrapped with the number of messages.
	ErrLingerExpired = errors.New("zmq: linger expired, queued messages dropped")
	// ErrBadEndpoint: the endpoint string is malformed or names an unknown transport.
	ErrBadEndpoint = errors.New("zmq: invalid endpoint")
	// ErrTransport: the transport exists in ZeroMQ but not (yet) in zloop.
	ErrTransport = errors.New("zmq: transport not supported")
	// ErrAddrInUse: bind failed because the address is taken.
	ErrAddrInUse = errors.New("zmq: address in use")
	// ErrOptionUnsupported: the operating system lacks what an option needs (BindToDevice outside
	// Linux); bind fails, and connect keeps retrying, with it, as libzmq's ENOTSUP.
	ErrOptionUnsupported = errors.New("zmq: option not supported on this operating system")
)

// OpError describes a failed operation on an endpoint, like net.OpError.
type OpError struct {
	Op       string // "bind", "connect", "accept", ...
	Endpoint string
	Err      error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Op, e.Endpoint, e.Err)
}

// Unwrap returns the underlying error.
func (e *OpError) Unwrap() error { return e.Err }
