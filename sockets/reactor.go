package sockets

import (
	"context"

	"github.com/zloop/zloop/reactor"
)

// What a user of sockets needs from the reactor, so that the ordinary path takes one import: the
// termination of the default reactor, the monitor's events and the endpoint error.

// Terminate shuts the process's default reactor down, like zmq_ctx_term on the global context:
// blocked and later calls on its sockets fail with ErrTerminated, what closed sockets queued is
// delivered within their LINGER, and ctx bounds the wait (see reactor.Reactor.Shutdown). The next
// New starts a new default reactor. Any goroutine.
func Terminate(ctx context.Context) error { return reactor.ShutdownDefault(ctx) }

type (
	// Event is one monitoring event (Socket.Monitor).
	Event = reactor.Event
	// EventType is a monitoring event's type, numbered as libzmq's ZMQ_EVENT_*.
	EventType = reactor.EventType
	// OpError is the error of a failed Bind or Connect: the operation, the endpoint and the cause.
	OpError = reactor.OpError
)

// The monitoring events, as libzmq numbers them (see Socket.Monitor).
const (
	EventConnected               = reactor.EventConnected
	EventConnectDelayed          = reactor.EventConnectDelayed
	EventConnectRetried          = reactor.EventConnectRetried
	EventListening               = reactor.EventListening
	EventBindFailed              = reactor.EventBindFailed
	EventAccepted                = reactor.EventAccepted
	EventAcceptFailed            = reactor.EventAcceptFailed
	EventClosed                  = reactor.EventClosed
	EventCloseFailed             = reactor.EventCloseFailed
	EventDisconnected            = reactor.EventDisconnected
	EventMonitorStopped          = reactor.EventMonitorStopped
	EventHandshakeFailedNoDetail = reactor.EventHandshakeFailedNoDetail
	EventHandshakeSucceeded      = reactor.EventHandshakeSucceeded
	EventHandshakeFailedProtocol = reactor.EventHandshakeFailedProtocol
	EventHandshakeFailedAuth     = reactor.EventHandshakeFailedAuth
)
