package reactor

import (
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// The wire form of a subscription belongs to the transport (its framer), not to the socket types: ZMTP 3.1
// has the SUBSCRIBE and CANCEL commands (rfc 37), ZMTP 3.0 only the data frame 0x01+topic or
// 0x00+topic (rfc 23), and ZWS 2.0 as libzmq 4.3 speaks it only the data frame too: its ws
// engine drops a SUBSCRIBE command, so a libzmq publisher would never hear of the topic. Every
// publisher takes both forms, whatever the transport.

// Subscription returns a subscription to topic (on) or its cancellation in the form p's peer
// takes: a command for a ZMTP 3.1 peer over tcp, ipc or inproc, a single data frame over ws and
// for a ZMTP 3.0 peer. It is built for the current connection: the caller builds it again after a
// reconnection (PipeAttached). The message is the caller's. Any goroutine.
func (p *Pipe) Subscription(topic []byte, on bool) *pool.Msg {
	m := pool.NewMsg()
	if p.subscriptionCommands() {
		name := codec.CmdSubscribe
		if !on {
			name = codec.CmdCancel
		}
		m.AddFrame(1 + len(name) + len(topic))
		m.Extend([]byte{byte(len(name))})
		m.Extend([]byte(name))
		m.Extend(topic)
		m.SetCommand(true)
		return m
	}
	m.AddFrame(1 + len(topic))
	if on {
		m.Extend([]byte{1})
	} else {
		m.Extend([]byte{0})
	}
	m.Extend(topic)
	return m
}

// subscriptionCommands reports whether p's connection carries subscriptions as commands.
func (p *Pipe) subscriptionCommands() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subCommands
}
