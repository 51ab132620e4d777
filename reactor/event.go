package reactor

import (
	"fmt"
	"strconv"
)

// EventType is a socket monitoring event. The values are libzmq's ZMQ_EVENT_* bits, so a filter mask
// written for libzmq means the same here.
type EventType uint32

// The events, in libzmq's numbering.
const (
	EventConnected               EventType = 0x0001
	EventConnectDelayed          EventType = 0x0002
	EventConnectRetried          EventType = 0x0004
	EventListening               EventType = 0x0008
	EventBindFailed              EventType = 0x0010
	EventAccepted                EventType = 0x0020
	EventAcceptFailed            EventType = 0x0040
	EventClosed                  EventType = 0x0080
	EventCloseFailed             EventType = 0x0100
	EventDisconnected            EventType = 0x0200
	EventMonitorStopped          EventType = 0x0400
	EventHandshakeFailedNoDetail EventType = 0x0800
	EventHandshakeSucceeded      EventType = 0x1000
	EventHandshakeFailedProtocol EventType = 0x2000
	EventHandshakeFailedAuth     EventType = 0x4000
)

var eventNames = map[EventType]string{
	EventConnected: "CONNECTED", EventConnectDelayed: "CONNECT_DELAYED", EventConnectRetried: "CONNECT_RETRIED",
	EventListening: "LISTENING", EventBindFailed: "BIND_FAILED", EventAccepted: "ACCEPTED",
	EventAcceptFailed: "ACCEPT_FAILED", EventClosed: "CLOSED", EventCloseFailed: "CLOSE_FAILED",
	EventDisconnected: "DISCONNECTED", EventMonitorStopped: "MONITOR_STOPPED",
	EventHandshakeFailedNoDetail: "HANDSHAKE_FAILED_NO_DETAIL", EventHandshakeSucceeded: "HANDSHAKE_SUCCEEDED",
	EventHandshakeFailedProtocol: "HANDSHAKE_FAILED_PROTOCOL", EventHandshakeFailedAuth: "HANDSHAKE_FAILED_AUTH",
}

func (t EventType) String() string {
	if s, ok := eventNames[t]; ok {
		return s
	}
	return fmt.Sprintf("EVENT(%#x)", uint32(t))
}

// Event is one monitoring event.
type Event struct {
	Type     EventType
	Endpoint string // the endpoint bound or connected
	Remote   string // the peer's address, when there is a connection
	Err      error  // the cause, for failures and disconnections
	// Value is libzmq's event value where zloop has one: for HANDSHAKE_FAILED_AUTH the ZAP status
	// code (300, 400 or 500), whichever side refused.
	Value int
}

func (e Event) String() string {
	s := e.Type.String() + " " + e.Endpoint
	if e.Remote != "" {
		s += " remote=" + e.Remote
	}
	if e.Value != 0 {
		s += " value=" + strconv.Itoa(e.Value)
	}
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	return s
}
