package sockets

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/reactor"
)

// Options are a socket's settings. Each field is the libzmq option named in its comment, with
// libzmq 4.3's default (see DefaultOptions). Each says when a change made by SetOptions takes
// effect: "for later endpoints" means endpoints bound or connected after the change (those already
// there keep the value they were made with, as libzmq's do); "at once" means the next operation,
// or the next connection of any endpoint, sees it.
type Options struct {
	// SndHWM / RcvHWM (ZMQ_SNDHWM / ZMQ_RCVHWM): messages queued per peer before Send blocks (or
	// drops, by socket type) and before the peer is paused; 0 = no limit. Default 1000 each. For
	// later endpoints (libzmq 4.3 also resizes existing pipes); XPUB's queue of subscriptions for
	// its reader follows RcvHWM at once.
	SndHWM, RcvHWM int
	// Linger (ZMQ_LINGER): how long Close waits for queued messages to reach connected peers;
	// negative = as long as it takes (libzmq's -1, the default), 0 = drop them. At once: Close
	// reads it.
	Linger time.Duration
	// SndTimeout / RcvTimeout (ZMQ_SNDTIMEO / ZMQ_RCVTIMEO): negative = wait for the context only
	// (default); 0 = never wait (ZMQ_DONTWAIT); otherwise ErrWouldBlock after that long. At once.
	SndTimeout, RcvTimeout time.Duration
	// RoutingID (ZMQ_ROUTING_ID): sent to peers as the Identity property; up to 255 bytes, none by
	// default. For later endpoints.
	RoutingID []byte
	// ReconnectIvl (ZMQ_RECONNECT_IVL, default 100 ms; negative = no reconnection) and
	// ReconnectIvlMax (ZMQ_RECONNECT_IVL_MAX, default 0: no backoff): the wait before a Connect
	// redials, doubling up to ReconnectIvlMax. For later endpoints.
	ReconnectIvl, ReconnectIvlMax time.Duration
	// ConnectTimeout (ZMQ_CONNECT_TIMEOUT): how long one TCP connect may take; default 0, the
	// operating system's. For later endpoints.
	ConnectTimeout time.Duration
	// HandshakeIvl (ZMQ_HANDSHAKE_IVL): the time a new connection has to complete the ZMTP
	// handshake; default 30 s, 0 = no limit. For later endpoints.
	HandshakeIvl time.Duration
	// HeartbeatIvl (ZMQ_HEARTBEAT_IVL, default 0: off), HeartbeatTTL (ZMQ_HEARTBEAT_TTL, default
	// 0) and HeartbeatTimeout (ZMQ_HEARTBEAT_TIMEOUT, default 0: HeartbeatIvl): ZMTP PINGs. For
	// later endpoints.
	HeartbeatIvl, HeartbeatTTL, HeartbeatTimeout time.Duration
	// MaxMsgSize (ZMQ_MAXMSGSIZE): the largest inbound message in bytes; a peer that sends a
	// larger one is disconnected. -1 = no limit (default). For later endpoints.
	MaxMsgSize int64
	// SndBuf / RcvBuf (ZMQ_SNDBUF / ZMQ_RCVBUF): the kernel's socket buffers in bytes; default 0,
	// the operating system's, except SndBuf over ipc://, 1 MiB (a unix socket's buffer does not
	// grow by itself as TCP's does, and its usual 208 KiB cuts a large message into many rounds
	// of sleeping and waking; the kernel caps it at net.core.wmem_max). For later endpoints.
	SndBuf, RcvBuf int
	// Immediate (ZMQ_IMMEDIATE): queue messages only to completed connections, not to a Connect
	// still connecting. Default false. For later endpoints.
	Immediate bool
	// Metadata (ZMQ_METADATA): extra READY properties; names must start with "X-". For later
	// endpoints.
	Metadata map[string]string
	// PlainServer (ZMQ_PLAIN_SERVER) makes the socket a PLAIN server (rfc 24); PlainUsername or
	// PlainPassword (ZMQ_PLAIN_USERNAME / ZMQ_PLAIN_PASSWORD, up to 255 bytes) a PLAIN client.
	// Either side of a connection must use PLAIN for it to succeed. Credentials travel in clear
	// text: PLAIN says who connects, it does not hide anything. Over ws:// the subprotocol is
	// ZWS2.0/PLAIN. For later endpoints, as libzmq's security options.
	PlainServer                  bool
	PlainUsername, PlainPassword string
	// PlainAuth checks a PLAIN client on a server: a ZAP handler of this socket's (ZAPHandler)
	// that admits the client with its username as User-Id, or refuses it (ERROR "400", then
	// HANDSHAKE_FAILED_AUTH with 400 on the monitor). nil leaves PLAIN to the reactor's ZAP
	// handler (SetZAPHandler, or a handler socket at ZAPEndpoint); without one every client is
	// refused, as libzmq does. Ignored when ZAPHandler is set. For later endpoints.
	PlainAuth func(username, password string) bool
	// ZAPDomain (ZMQ_ZAP_DOMAIN) goes into this socket's ZAP requests; with NULL it is what makes
	// the socket ask ZAP at all. ZAPEnforceDomain (ZMQ_ZAP_ENFORCE_DOMAIN, default off as in libzmq
	// 4.3): without a ZAP handler, refuse the clients a NULL or CURVE server with a domain would
	// otherwise admit. For later endpoints.
	ZAPDomain        string
	ZAPEnforceDomain bool
	// ZAPHandler answers this socket's ZAP requests instead of the reactor's handler (see
	// SetZAPHandler). For later endpoints.
	ZAPHandler ZAPHandler
	// CurveServer (ZMQ_CURVE_SERVER) makes the socket a CURVE server (rfc 26: encryption and
	// authentication with Curve25519 keys); CurveServerKey (ZMQ_CURVE_SERVERKEY), the server's
	// public key, a CURVE client. Both sides need their own long-term key pair, CurveSecretKey
	// (ZMQ_CURVE_SECRETKEY) and CurvePublicKey (ZMQ_CURVE_PUBLICKEY, derived from the secret key
	// when left empty); see CurveKeypair. Each key is given as libzmq takes it: 40 characters of
	// Z85 text or the 32 raw bytes (a CurveKey's String); empty is unset, anything else invalid
	// (ErrInvalid). A server admits every client that proves its key (libzmq without a ZAP
	// handler). Over ws:// the subprotocol is ZWS2.0/CURVE. For later endpoints, as libzmq's
	// security options.
	CurveServer                                    bool
	CurvePublicKey, CurveSecretKey, CurveServerKey string

	// TCP and IP options, for tcp:// and ws:// endpoints (ipc:// and inproc:// ignore them but
	// Backlog), each for later endpoints, applied to accepted and dialed connections alike.

	// TCPKeepAlive (ZMQ_TCP_KEEPALIVE): SO_KEEPALIVE; -1 = the operating system's (default), 0 =
	// off, 1 = on.
	TCPKeepAlive int
	// TCPKeepAliveCnt (ZMQ_TCP_KEEPALIVE_CNT): unanswered probes before the connection is dropped;
	// -1 = the operating system's (default). Only with TCPKeepAlive 1.
	TCPKeepAliveCnt int
	// TCPKeepAliveIdle (ZMQ_TCP_KEEPALIVE_IDLE) and TCPKeepAliveIntvl (ZMQ_TCP_KEEPALIVE_INTVL):
	// the idle time before the first probe and the time between probes, in whole seconds (rounded
	// up); negative = the operating system's (libzmq's -1, the default). Only with TCPKeepAlive 1.
	TCPKeepAliveIdle, TCPKeepAliveIntvl time.Duration
	// TCPMaxRT (ZMQ_TCP_MAXRT): how long sent data may go unacknowledged before the connection is
	// dropped (TCP_USER_TIMEOUT, in milliseconds); default 0, the operating system's. Linux only,
	// as libzmq but for Windows: elsewhere it has no effect.
	TCPMaxRT time.Duration
	// TOS (ZMQ_TOS): the IP type-of-service byte (IP_TOS, IPV6_TCLASS on IPv6) of the socket's
	// packets, 0 to 255; default 0, left alone. Unix systems only: Windows ignores IP_TOS.
	TOS int
	// BindToDevice (ZMQ_BINDTODEVICE): the network interface the socket's TCP connections and
	// listeners use exclusively (SO_BINDTODEVICE), up to 15 bytes; default "", none. Linux only:
	// elsewhere Bind fails, and Connect keeps failing, with reactor.ErrOptionUnsupported. Linux
	// before 5.7 lets only privileged processes (CAP_NET_RAW) set it.
	BindToDevice string
	// TLS configures tls:// (ZMTP 3.1 over TLS) and wss:// (ZWS 2.0 over TLS) endpoints, which
	// fail with reactor.ErrTLSConfig without it. A server needs Certificates (and ClientAuth with
	// ClientCAs for mutual TLS); a client verifies against RootCAs (nil: the system's pool), sends
	// Certificates when the server asks, and its ServerName (SNI and the name verified) defaults
	// to the endpoint's host. TLS 1.2 and 1.3 as crypto/tls offers them; renegotiation is refused.
	// HANDSHAKE_IVL bounds the TLS and ZMTP handshakes together. zloop's own (libzmq has no TLS);
	// the peer's certificate is in reactor.Pipe.TLS. For later endpoints; not modified.
	TLS *tls.Config
	// Backlog (ZMQ_BACKLOG): the queue of connections not yet accepted of a bound tcp://, ipc://
	// or ws:// endpoint; default 100. 0 keeps the operating system's maximum (somaxconn), where
	// libzmq would pass 0 to listen. Windows keeps its own default.
	Backlog int
	// IPv6 (ZMQ_IPV6): tcp://*:port and ws://*:port bind the IPv6 wildcard (dual-stack where the
	// system allows: IPv4 peers connect too), an interface name binds its IPv6 address first, and
	// host names resolve to IPv6 addresses as well as IPv4. Default false: IPv4 only, except that
	// an IPv6 literal such as tcp://[::1]:5555 is used as given (libzmq refuses it).
	IPv6 bool

	// The options below belong to particular socket types; other types ignore them.

	// RouterMandatory (ZMQ_ROUTER_MANDATORY, ROUTER): Send to an unknown routing id fails with
	// ErrHostUnreachable instead of dropping the message, and Send to a peer at SNDHWM blocks
	// instead of dropping. At once.
	RouterMandatory bool
	// RouterHandover (ZMQ_ROUTER_HANDOVER, ROUTER): a new peer that announces a routing id already
	// in use takes it over (the old connection is closed); without it the newcomer is ignored. At
	// once.
	RouterHandover bool
	// ConnectRoutingID (ZMQ_CONNECT_ROUTING_ID, ROUTER): the routing id of the peer of the next
	// Connect, whatever the peer announces; Connect consumes it. Up to 255 bytes, not starting
	// with a zero byte (those are the generated ones).
	ConnectRoutingID []byte
	// ProbeRouter (ZMQ_PROBE_ROUTER, ROUTER, DEALER, REQ): every new connection first sends the
	// peer a message of one empty frame, so that a ROUTER learns of the peer before it speaks.
	// At once: for the connections made afterwards, of any endpoint.
	ProbeRouter bool
	// XPubNoDrop (ZMQ_XPUB_NODROP, PUB, XPUB): a Send that finds a matching subscriber at its
	// SNDHWM blocks (ErrWouldBlock with a zero SndTimeout) instead of dropping the message for it.
	// At once.
	XPubNoDrop bool
	// ReqRelaxed (ZMQ_REQ_RELAXED, REQ): Send is allowed while a reply is still awaited; the old
	// request is abandoned and its reply, if it ever comes, dropped. At once.
	ReqRelaxed bool
	// ReqCorrelate (ZMQ_REQ_CORRELATE, REQ): each request carries a request-id frame before the
	// delimiter, and only the reply carrying the latest id is accepted. At once.
	ReqCorrelate bool
	// Conflate (ZMQ_CONFLATE; PULL, SUB, DEALER inbound, PUSH, PUB, DEALER outbound): keep only the
	// newest received message per peer, and never block a Send (see WithConflate). Inbound and
	// Send's not blocking at once; the one-message queue toward each peer for later endpoints.
	Conflate bool
	// XPubVerbose (ZMQ_XPUB_VERBOSE, XPUB): pass every subscription to the reader, not only the
	// first for a topic. At once.
	XPubVerbose bool
	// XPubVerboser (ZMQ_XPUB_VERBOSER, XPUB): XPubVerbose, and pass every unsubscription too. At
	// once.
	XPubVerboser bool
	// XPubManual (ZMQ_XPUB_MANUAL, XPUB): subscriptions are only reported, not applied; the reader
	// applies them with Subscribe/Unsubscribe, which act on the peer of the last message received.
	// At once.
	XPubManual bool
	// InvertMatching (ZMQ_INVERT_MATCHING; PUB, XPUB, SUB): subscriptions become a rejection
	// list. A PUB or XPUB sends each message to the peers with no subscription matching it (a peer
	// that subscribed to nothing gets everything), a SUB keeps the messages that match none of its
	// subscriptions. The SUBs of an inverting publisher must invert too, or they drop everything
	// it sends them; an XSUB does not filter, so it needs nothing. Default false. At once.
	InvertMatching bool
	// StreamNotify (ZMQ_STREAM_NOTIFY, STREAM): a peer's connection and disconnection each arrive
	// as a message [routing id, empty]. Default true. At once: for the connections that start or
	// end afterwards.
	StreamNotify bool
	// XPubWelcomeMsg (ZMQ_XPUB_WELCOME_MSG, XPUB): sent to every peer when it connects; nil = none
	// (default). At once: for the peers that connect afterwards.
	XPubWelcomeMsg []byte
}

// DefaultOptions returns libzmq 4.3's defaults.
func DefaultOptions() Options {
	return Options{
		SndHWM:            1000,
		RcvHWM:            1000,
		Linger:            -1,
		SndTimeout:        -1,
		RcvTimeout:        -1,
		ReconnectIvl:      100 * time.Millisecond,
		HandshakeIvl:      30 * time.Second,
		MaxMsgSize:        -1,
		TCPKeepAlive:      -1,
		TCPKeepAliveCnt:   -1,
		TCPKeepAliveIdle:  -1,
		TCPKeepAliveIntvl: -1,
		Backlog:           100,
		StreamNotify:      true,
	}
}

// An Option changes Options; pass them to New or Socket.SetOptions.
type Option func(*Options)

// WithSndHWM sets ZMQ_SNDHWM.
func WithSndHWM(n int) Option { return func(o *Options) { o.SndHWM = n } }

// WithRcvHWM sets ZMQ_RCVHWM.
func WithRcvHWM(n int) Option { return func(o *Options) { o.RcvHWM = n } }

// WithHWM sets both ZMQ_SNDHWM and ZMQ_RCVHWM.
func WithHWM(n int) Option { return func(o *Options) { o.SndHWM, o.RcvHWM = n, n } }

// WithLinger sets ZMQ_LINGER.
func WithLinger(d time.Duration) Option { return func(o *Options) { o.Linger = d } }

// WithSndTimeout sets ZMQ_SNDTIMEO.
func WithSndTimeout(d time.Duration) Option { return func(o *Options) { o.SndTimeout = d } }

// WithRcvTimeout sets ZMQ_RCVTIMEO.
func WithRcvTimeout(d time.Duration) Option { return func(o *Options) { o.RcvTimeout = d } }

// WithRoutingID sets ZMQ_ROUTING_ID.
func WithRoutingID(id []byte) Option {
	return func(o *Options) { o.RoutingID = append([]byte(nil), id...) }
}

// WithReconnectIvl sets ZMQ_RECONNECT_IVL and ZMQ_RECONNECT_IVL_MAX.
func WithReconnectIvl(ivl, max time.Duration) Option {
	return func(o *Options) { o.ReconnectIvl, o.ReconnectIvlMax = ivl, max }
}

// WithConnectTimeout sets ZMQ_CONNECT_TIMEOUT.
func WithConnectTimeout(d time.Duration) Option { return func(o *Options) { o.ConnectTimeout = d } }

// WithSndBuf sets ZMQ_SNDBUF.
func WithSndBuf(n int) Option { return func(o *Options) { o.SndBuf = n } }

// WithRcvBuf sets ZMQ_RCVBUF.
func WithRcvBuf(n int) Option { return func(o *Options) { o.RcvBuf = n } }

// WithTCPKeepAlive sets ZMQ_TCP_KEEPALIVE: -1 the system's, 0 off, 1 on.
func WithTCPKeepAlive(mode int) Option { return func(o *Options) { o.TCPKeepAlive = mode } }

// WithTCPKeepAliveCnt sets ZMQ_TCP_KEEPALIVE_CNT (-1: the system's).
func WithTCPKeepAliveCnt(n int) Option { return func(o *Options) { o.TCPKeepAliveCnt = n } }

// WithTCPKeepAliveIdle sets ZMQ_TCP_KEEPALIVE_IDLE (negative: the system's).
func WithTCPKeepAliveIdle(d time.Duration) Option {
	return func(o *Options) { o.TCPKeepAliveIdle = d }
}

// WithTCPKeepAliveIntvl sets ZMQ_TCP_KEEPALIVE_INTVL (negative: the system's).
func WithTCPKeepAliveIntvl(d time.Duration) Option {
	return func(o *Options) { o.TCPKeepAliveIntvl = d }
}

// WithTCPMaxRT sets ZMQ_TCP_MAXRT (0: the system's).
func WithTCPMaxRT(d time.Duration) Option { return func(o *Options) { o.TCPMaxRT = d } }

// WithTOS sets ZMQ_TOS.
func WithTOS(tos int) Option { return func(o *Options) { o.TOS = tos } }

// WithTLS sets the TLS configuration of tls:// and wss:// endpoints (Options.TLS).
func WithTLS(cfg *tls.Config) Option { return func(o *Options) { o.TLS = cfg } }

// WithBindToDevice sets ZMQ_BINDTODEVICE ("": none).
func WithBindToDevice(dev string) Option { return func(o *Options) { o.BindToDevice = dev } }

// WithBacklog sets ZMQ_BACKLOG.
func WithBacklog(n int) Option { return func(o *Options) { o.Backlog = n } }

// WithIPv6 sets ZMQ_IPV6.
func WithIPv6(on bool) Option { return func(o *Options) { o.IPv6 = on } }

// WithHandshakeIvl sets ZMQ_HANDSHAKE_IVL.
func WithHandshakeIvl(d time.Duration) Option { return func(o *Options) { o.HandshakeIvl = d } }

// WithHeartbeat sets ZMQ_HEARTBEAT_IVL, ZMQ_HEARTBEAT_TTL and ZMQ_HEARTBEAT_TIMEOUT.
func WithHeartbeat(ivl, ttl, timeout time.Duration) Option {
	return func(o *Options) { o.HeartbeatIvl, o.HeartbeatTTL, o.HeartbeatTimeout = ivl, ttl, timeout }
}

// WithMaxMsgSize sets ZMQ_MAXMSGSIZE.
func WithMaxMsgSize(n int64) Option { return func(o *Options) { o.MaxMsgSize = n } }

// WithImmediate sets ZMQ_IMMEDIATE.
func WithImmediate(on bool) Option { return func(o *Options) { o.Immediate = on } }

// WithMetadata adds a ZMQ_METADATA property ("X-" names).
func WithMetadata(name, value string) Option {
	return func(o *Options) {
		if o.Metadata == nil {
			o.Metadata = map[string]string{}
		}
		o.Metadata[name] = value
	}
}

// WithRouterMandatory sets ZMQ_ROUTER_MANDATORY.
func WithRouterMandatory(on bool) Option { return func(o *Options) { o.RouterMandatory = on } }

// WithRouterHandover sets ZMQ_ROUTER_HANDOVER.
func WithRouterHandover(on bool) Option { return func(o *Options) { o.RouterHandover = on } }

// WithPlainServer sets ZMQ_PLAIN_SERVER, with auth as this socket's ZAP handler for PLAIN (nil:
// the reactor's ZAP handler decides, and without one every client is refused, as in libzmq).
func WithPlainServer(on bool, auth func(username, password string) bool) Option {
	return func(o *Options) { o.PlainServer, o.PlainAuth = on, auth }
}

// WithPlainClient sets ZMQ_PLAIN_USERNAME and ZMQ_PLAIN_PASSWORD.
func WithPlainClient(username, password string) Option {
	return func(o *Options) { o.PlainUsername, o.PlainPassword = username, password }
}

// WithZAPDomain sets ZMQ_ZAP_DOMAIN.
func WithZAPDomain(domain string) Option { return func(o *Options) { o.ZAPDomain = domain } }

// WithZAPEnforceDomain sets ZMQ_ZAP_ENFORCE_DOMAIN.
func WithZAPEnforceDomain(on bool) Option { return func(o *Options) { o.ZAPEnforceDomain = on } }

// WithZAPHandler makes h this socket's ZAP handler, in place of the reactor's (nil: the
// reactor's again).
func WithZAPHandler(h ZAPHandler) Option { return func(o *Options) { o.ZAPHandler = h } }

// WithCurveServer sets ZMQ_CURVE_SERVER: the socket is a CURVE server (it needs
// WithCurveSecretKey too).
func WithCurveServer(on bool) Option { return func(o *Options) { o.CurveServer = on } }

// WithCurveSecretKey sets ZMQ_CURVE_SECRETKEY, given as libzmq takes it: 40 characters of Z85
// text or the 32 raw bytes (a CurveKey's String, or string(key[:])). Another length or bad text
// makes the socket's options invalid (ErrInvalid).
func WithCurveSecretKey(key string) Option { return func(o *Options) { o.CurveSecretKey = key } }

// WithCurvePublicKey sets ZMQ_CURVE_PUBLICKEY (Z85 text or 32 bytes, as WithCurveSecretKey). It
// must belong to the secret key; left unset, it is derived from it.
func WithCurvePublicKey(key string) Option { return func(o *Options) { o.CurvePublicKey = key } }

// WithCurveServerKey sets ZMQ_CURVE_SERVERKEY, the server's public key (Z85 text or 32 bytes):
// the socket is a CURVE client.
func WithCurveServerKey(key string) Option { return func(o *Options) { o.CurveServerKey = key } }

// curveKeys parses o's CURVE keys; an unset one stays zero, but for the public key, derived from
// the secret key when unset.
func (o *Options) curveKeys() (public, secret, server CurveKey, err error) {
	for _, k := range []struct {
		text string
		key  *CurveKey
		name string
	}{{o.CurvePublicKey, &public, "public"}, {o.CurveSecretKey, &secret, "secret"}, {o.CurveServerKey, &server, "server"}} {
		if k.text == "" {
			continue
		}
		if *k.key, err = ParseCurveKey(k.text); err != nil {
			return public, secret, server, fmt.Errorf("%w: CURVE %s key: %v", ErrInvalid, k.name, err)
		}
	}
	if o.CurvePublicKey == "" && o.CurveSecretKey != "" {
		public = CurvePublic(secret)
	}
	return public, secret, server, nil
}

// WithConnectRoutingID sets ZMQ_CONNECT_ROUTING_ID for the next Connect (copied).
func WithConnectRoutingID(id []byte) Option {
	return func(o *Options) { o.ConnectRoutingID = append([]byte(nil), id...) }
}

// WithProbeRouter sets ZMQ_PROBE_ROUTER.
func WithProbeRouter(on bool) Option { return func(o *Options) { o.ProbeRouter = on } }

// WithXPubNoDrop sets ZMQ_XPUB_NODROP.
func WithXPubNoDrop(on bool) Option { return func(o *Options) { o.XPubNoDrop = on } }

// WithReqRelaxed sets ZMQ_REQ_RELAXED.
func WithReqRelaxed(on bool) Option { return func(o *Options) { o.ReqRelaxed = on } }

// WithReqCorrelate sets ZMQ_REQ_CORRELATE.
func WithReqCorrelate(on bool) Option { return func(o *Options) { o.ReqCorrelate = on } }

// WithConflate sets ZMQ_CONFLATE. Inbound, a PULL, SUB or DEALER socket keeps only the newest
// message of each peer, as libzmq does. Outbound (PUSH, DEALER, PUB) the queue toward each peer
// holds one message, a new one replaces it, and Send never blocks: the peer gets the newest
// message (besides the one already being written). Multipart messages stay whole.
func WithConflate(on bool) Option { return func(o *Options) { o.Conflate = on } }

// WithXPubVerbose sets ZMQ_XPUB_VERBOSE.
func WithXPubVerbose(on bool) Option { return func(o *Options) { o.XPubVerbose = on } }

// WithXPubVerboser sets ZMQ_XPUB_VERBOSER.
func WithXPubVerboser(on bool) Option { return func(o *Options) { o.XPubVerboser = on } }

// WithXPubManual sets ZMQ_XPUB_MANUAL.
func WithXPubManual(on bool) Option { return func(o *Options) { o.XPubManual = on } }

// WithInvertMatching sets ZMQ_INVERT_MATCHING.
func WithInvertMatching(on bool) Option { return func(o *Options) { o.InvertMatching = on } }

// WithStreamNotify sets ZMQ_STREAM_NOTIFY.
func WithStreamNotify(on bool) Option { return func(o *Options) { o.StreamNotify = on } }

// WithXPubWelcomeMsg sets ZMQ_XPUB_WELCOME_MSG (copied; nil or empty: none).
func WithXPubWelcomeMsg(msg []byte) Option {
	return func(o *Options) {
		o.XPubWelcomeMsg = nil
		if len(msg) > 0 {
			o.XPubWelcomeMsg = append([]byte(nil), msg...)
		}
	}
}

// conflates reports whether Conflate applies to sockets of type t, as libzmq decides it.
func (o *Options) conflates(t Type) bool {
	if !o.Conflate {
		return false
	}
	switch t {
	case Dealer, Pull, Push, Pub, Sub:
		return true
	}
	return false
}

func (o *Options) validate() error {
	switch {
	case len(o.RoutingID) > 255:
		return fmt.Errorf("%w: routing id longer than 255 bytes", ErrInvalid)
	case len(o.PlainUsername) > 255 || len(o.PlainPassword) > 255:
		return fmt.Errorf("%w: PLAIN username or password longer than 255 bytes", ErrInvalid)
	case len(o.ZAPDomain) > 254:
		return fmt.Errorf("%w: ZAP domain longer than 254 bytes", ErrInvalid)
	case o.curve() && o.plain():
		return fmt.Errorf("%w: both PLAIN and CURVE options set", ErrInvalid)
	case o.curve() && o.CurveSecretKey == "":
		return fmt.Errorf("%w: CURVE without a secret key", ErrInvalid)
	case o.curve() && !o.CurveServer && o.CurveServerKey == "":
		return fmt.Errorf("%w: a CURVE client needs the server's public key", ErrInvalid)
	case len(o.ConnectRoutingID) > 255 || (len(o.ConnectRoutingID) > 0 && o.ConnectRoutingID[0] == 0):
		return fmt.Errorf("%w: a connect routing id has 1 to 255 bytes and does not start with 0", ErrInvalid)
	case o.SndHWM < 0 || o.RcvHWM < 0:
		return fmt.Errorf("%w: negative high-water mark", ErrInvalid)
	case o.MaxMsgSize < -1:
		return fmt.Errorf("%w: MaxMsgSize below -1", ErrInvalid)
	case o.TCPKeepAlive < -1 || o.TCPKeepAlive > 1:
		return fmt.Errorf("%w: TCPKeepAlive %d is not -1, 0 or 1", ErrInvalid, o.TCPKeepAlive)
	case o.TCPKeepAliveCnt == 0 || o.TCPKeepAliveCnt < -1:
		return fmt.Errorf("%w: TCPKeepAliveCnt %d is neither -1 nor positive", ErrInvalid, o.TCPKeepAliveCnt)
	case o.TCPKeepAliveIdle >= 0 && o.TCPKeepAliveIdle < time.Second,
		o.TCPKeepAliveIntvl >= 0 && o.TCPKeepAliveIntvl < time.Second:
		return fmt.Errorf("%w: TCPKeepAliveIdle and TCPKeepAliveIntvl are negative or at least a second", ErrInvalid)
	case o.TCPMaxRT < 0:
		return fmt.Errorf("%w: negative TCPMaxRT", ErrInvalid)
	case o.TOS < 0 || o.TOS > 255:
		return fmt.Errorf("%w: TOS %d is not a byte", ErrInvalid, o.TOS)
	case len(o.BindToDevice) > 15:
		return fmt.Errorf("%w: BindToDevice %q is longer than an interface name (15 bytes)", ErrInvalid, o.BindToDevice)
	case o.Backlog < 0:
		return fmt.Errorf("%w: negative Backlog", ErrInvalid)
	}
	if o.curve() {
		public, secret, _, err := o.curveKeys()
		if err != nil {
			return err
		}
		if public != CurvePublic(secret) {
			return fmt.Errorf("%w: CURVE public key does not belong to the secret key", ErrInvalid)
		}
	}
	for name := range o.Metadata {
		if len(name) < 3 || (name[:2] != "X-" && name[:2] != "x-") {
			return fmt.Errorf("%w: metadata name %q must start with X-", ErrInvalid, name)
		}
	}
	return nil
}

// plain reports whether o selects the PLAIN mechanism.
func (o *Options) plain() bool {
	return o.PlainServer || o.PlainUsername != "" || o.PlainPassword != ""
}

// curve reports whether o selects the CURVE mechanism: as in libzmq, any CURVE option does.
func (o *Options) curve() bool {
	return o.CurveServer || o.CurveServerKey != "" || o.CurveSecretKey != "" || o.CurvePublicKey != ""
}

// pipeOptions snapshots o for one endpoint of a socket of type t.
func (o *Options) pipeOptions(t Type) *reactor.Options {
	ro := &reactor.Options{
		SndHWM:          o.SndHWM,
		RcvHWM:          o.RcvHWM,
		ReconnectIvl:    o.ReconnectIvl,
		ReconnectIvlMax: o.ReconnectIvlMax,
		ConnectTimeout:  o.ConnectTimeout,
		SndBuf:          o.SndBuf,
		RcvBuf:          o.RcvBuf,
		Immediate:       o.Immediate,

		TCPKeepAlive:      o.TCPKeepAlive,
		TCPKeepAliveCnt:   o.TCPKeepAliveCnt,
		TCPKeepAliveIdle:  o.TCPKeepAliveIdle,
		TCPKeepAliveIntvl: o.TCPKeepAliveIntvl,
		TCPMaxRT:          o.TCPMaxRT,
		TOS:               o.TOS,
		BindToDevice:      o.BindToDevice,
		TLS:               o.TLS,
		Backlog:           o.Backlog,
		IPv6:              o.IPv6,
	}
	if t == Stream {
		plumbing.Raw(ro)
	}
	if t == Router || t == Stream {
		plumbing.Headroom(ro, routerHeadroom) // the routing id each received message gets in front
	}
	if o.conflates(t) {
		// One message in flight toward each peer; Send drops what finds it occupied.
		ro.SndHWM = 1
	}
	s := &ro.Session
	s.SocketType = t.String()
	s.Identity = append([]byte(nil), o.RoutingID...)
	s.Compatible = t.Compatible
	s.MaxMsgSize = o.MaxMsgSize
	if o.plain() {
		s.Plain, s.PlainServer = true, o.PlainServer
		s.PlainUsername, s.PlainPassword = []byte(o.PlainUsername), []byte(o.PlainPassword)
	}
	s.ZAPDomain, s.ZAPEnforceDomain = o.ZAPDomain, o.ZAPEnforceDomain
	switch {
	case o.ZAPHandler != nil:
		ro.Authorizer = funcAuthorizer(o.ZAPHandler)
	case o.PlainAuth != nil:
		ro.Authorizer = funcAuthorizer(plainHandler(o.PlainAuth))
	}
	if o.curve() {
		// validate has parsed the keys already: no error here.
		s.Curve, s.CurveServer = true, o.CurveServer
		s.CurvePublicKey, s.CurveSecretKey, s.CurveServerKey, _ = o.curveKeys()
	}
	s.HandshakeTimeout = o.HandshakeIvl
	if o.HandshakeIvl == 0 {
		s.HandshakeTimeout = -1
	}
	s.HeartbeatIvl, s.HeartbeatTTL, s.HeartbeatTimeout = o.HeartbeatIvl, o.HeartbeatTTL, o.HeartbeatTimeout
	for name, v := range o.Metadata {
		s.Properties = append(s.Properties, codec.Property{Name: name, Value: []byte(v)})
	}
	return ro
}
