package testpeer

import (
	"encoding/json"
	"time"
)

// ZAPRule is one answer of the peer's ZAP handler (ServeZAP): a request whose mechanism matches,
// and whose credentials and domain match when given, gets Status ("200", "300", "400", "500"),
// UserID and Metadata.
type ZAPRule struct {
	Mechanism   string            `json:"mechanism"`
	Credentials [][]byte          `json:"credentials,omitempty"`
	Domain      *string           `json:"domain,omitempty"`
	Status      string            `json:"status"`
	UserID      string            `json:"user_id,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// ServeZAP starts a ZAP handler (rfc 27) in the peer's process, a REP bound at
// inproc://zeromq.zap.01 as zmq.auth binds it: the first matching rule answers, a request no
// rule matches gets status def. Call it before the connections it is to judge, from the test's
// goroutine.
func (p *Peer) ServeZAP(def string, rules ...ZAPRule) {
	p.t.Helper()
	if rules == nil {
		rules = []ZAPRule{}
	}
	p.must("zapserve", map[string]any{"rules": rules, "default": def})
}

// ZAPSeen returns the requests the peer's ZAP handler received so far, each as its frames
// (version, request id, domain, address, identity, mechanism, credentials...).
func (p *Peer) ZAPSeen() [][][]byte {
	p.t.Helper()
	var seen [][][]byte
	p.decode("zapseen", p.must("zapseen", nil), &seen)
	return seen
}

// MetaMsg is a message received with RecvMeta: its frames and what zmq_msg_gets answered for each
// name asked (nil: libzmq has no such property for it).
type MetaMsg struct {
	Frames [][]byte           `json:"frames"`
	Props  map[string]*string `json:"props"`
}

// RecvMeta receives one message and asks zmq_msg_gets for each of names on it. Errors as Recv's.
func (p *Peer) RecvMeta(timeout time.Duration, names ...string) (MetaMsg, error) {
	resp, err := p.do("recvmeta", map[string]any{"names": names, "timeout_ms": millis(timeout)}, overall(timeout))
	var m MetaMsg
	if err != nil {
		return m, err
	}
	p.decode("recvmeta", resp, &m)
	return m, nil
}

// Monitor starts the peer socket's monitor (zmq_socket_monitor); WaitEvent reads it.
func (p *Peer) Monitor() {
	p.t.Helper()
	p.must("monitor", nil)
}

// MonitorEvent is one libzmq monitor event.
type MonitorEvent struct {
	Event    int    `json:"event"` // ZMQ_EVENT_*, the same numbers as reactor.EventType
	Value    int    `json:"value"`
	Endpoint string `json:"endpoint"`
}

// WaitEvent returns the next monitor event whose type is in the mask events, skipping others,
// waiting up to timeout. The error wraps ErrTimeout when none came.
func (p *Peer) WaitEvent(events int, timeout time.Duration) (MonitorEvent, error) {
	resp, err := p.do("waitevent", map[string]any{"event": events, "timeout_ms": millis(timeout)}, overall(timeout))
	var e MonitorEvent
	if err != nil {
		return e, err
	}
	p.decode("waitevent", resp, &e)
	return e, nil
}

func (p *Peer) decode(op string, resp *response, v any) {
	if err := json.Unmarshal(resp.Data, v); err != nil {
		p.t.Fatalf("testpeer %s: %s answered %q: %v", p.typ, op, resp.Data, err)
	}
}
