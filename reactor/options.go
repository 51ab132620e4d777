package reactor

import (
	"time"

	"github.com/zloop/zloop/zmtp"
)

// Options are the per-pipe settings a socket hands to Listen and Connect. The reactor keeps the
// pointer: the caller must not modify the value afterwards (give each endpoint its own snapshot).
type Options struct {
	Session zmtp.Config // handshake, limits and heartbeats of every connection
	SndHWM  int         // messages queued toward one peer; 0 = no limit (libzmq default 1000)
	RcvHWM  int         // messages queued from one peer; 0 = no limit (libzmq default 1000)
	// ReconnectIvl is the wait before a dialed pipe reconnects (libzmq default 100 ms; negative = never).
	ReconnectIvl time.Duration
	// ReconnectIvlMax, when above ReconnectIvl, doubles the wait after each failed attempt up to it.
	ReconnectIvlMax time.Duration
	ConnectTimeout  time.Duration // 0 = the operating system's
	SndBuf, RcvBuf  int           // kernel socket buffers; 0 = the operating system's default
	// Immediate (ZMQ_IMMEDIATE): a dialed pipe is offered to the socket only while connected.
	Immediate bool
	// Raw carries bytes with no ZMTP at all (libzmq's STREAM sockets): the pipe is attached as soon
	// as the connection is up, every chunk read becomes a one-frame message, and every frame sent is
	// written as it is.
	Raw bool
	// ConnectRoutingID belongs to the socket layer (ZMQ_CONNECT_ROUTING_ID); the reactor ignores it.
	ConnectRoutingID []byte
	// Counters, when set, count the write path of the pipes' connections besides the loops' own
	// counters: a socket gives all its endpoints the same, for its Stats.
	Counters *Counters
	// Headroom is set aside in front of every received message for envelope frames the socket puts
	// there (a ROUTER's routing id), so that adding them does not move the body (pool.Msg.PushFront).
	Headroom int
}
