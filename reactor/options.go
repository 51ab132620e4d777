package reactor

import (
	"crypto/tls"
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
	SndBuf, RcvBuf  int           // kernel socket buffers; 0 = the operating system's default (SndBuf over ipc: ipcSndBuf)

	// TCP tuning of tcp:// and ws:// connections, with libzmq's meanings (sockets.Options
	// documents each). TCPKeepAlive is ZMQ_TCP_KEEPALIVE: 1 on, 0 off, -1 the system's; the
	// count, idle time and interval apply when it is 1, each left to the system when <= 0.
	TCPKeepAlive                        int
	TCPKeepAliveCnt                     int
	TCPKeepAliveIdle, TCPKeepAliveIntvl time.Duration
	TCPMaxRT                            time.Duration // TCP_USER_TIMEOUT on Linux; 0 = the system's
	TOS                                 int           // IP_TOS / IPV6_TCLASS; 0 = left alone
	BindToDevice                        string        // SO_BINDTODEVICE (Linux only); "" = none
	// Backlog is the accept queue of a bound tcp://, ipc:// or ws:// endpoint; <= 0 leaves Go's
	// (the system's maximum, somaxconn on Linux).
	Backlog int
	// IPv6 (ZMQ_IPV6): tcp://*:port binds the IPv6 wildcard (dual-stack where the system allows),
	// an interface name binds its IPv6 address first, and host names resolve to IPv6 addresses
	// too; without it host names resolve to IPv4 only. IPv6 literals work either way.
	IPv6 bool
	// Immediate (ZMQ_IMMEDIATE): a dialed pipe is offered to the socket only while connected.
	Immediate bool
	// Authorizer answers the ZAP requests of this socket's connections; nil: the reactor's
	// (Reactor.SetAuthorizer), or, without one either, no ZAP handler (see zmtp.Session.Authorized).
	Authorizer Authorizer
	// Counters, when set, count the write path of the pipes' connections besides the loops' own
	// counters: a socket gives all its endpoints the same, for its Stats.
	Counters *Counters
	// TLS configures tls:// and wss:// endpoints: a server's certificates (and ClientAuth and
	// ClientCAs for mutual TLS), a client's RootCAs (nil: the system's) and certificates; a
	// client's ServerName defaults to the endpoint's host. Renegotiation is always refused. Not
	// modified by the reactor (a dialer uses a clone).
	TLS *tls.Config

	// raw carries bytes with no ZMTP at all (libzmq's STREAM sockets): the pipe is attached as soon
	// as the connection is up, every chunk read becomes a one-frame message, and every frame sent is
	// written as it is. Only package sockets sets it, through internal/plumb.
	raw bool
	// headroom is set aside in front of every received message for envelope frames the socket puts
	// there (a ROUTER's routing id), so that adding them does not move the body (pool.Msg.PushFront).
	// Only package sockets sets it, through internal/plumb.
	headroom int
}
