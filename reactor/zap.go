package reactor

import (
	"maps"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// ZAP and metadata: a connection whose session asks ZAP (zmtp.Session.AuthRequest) hands the
// request to an Authorizer as a ZAPCall, which may answer from any goroutine at any later time;
// the answer goes back to the connection's loop through its waker and resumes the handshake there.
// Once the handshake is done, the connection builds its metadata (what zmq_msg_gets answers) once,
// and every message it receives points at it.

// Authorizer answers the ZAP requests of connections (rfc 27): a Go function, or a ZAP handler
// socket at inproc://zeromq.zap.01 (package sockets provides both). Authorize is called on the
// connection's loop and must not block it: it answers later through the call, from any goroutine.
type Authorizer interface {
	// Authorize takes one request. It must answer it once, with Reply or Fail, or not at all
	// (then the handshake times out, HANDSHAKE_IVL). Unanswered calls whose connection ended
	// are of no further use (ZAPCall.Done).
	Authorize(call *ZAPCall)
}

// ZAPCall is one ZAP request of one connection, waiting for its answer.
type ZAPCall struct {
	// Request is the session's request with the peer's address filled in. Read-only; it
	// belongs to the call and lives as long as the call.
	Request zmtp.ZAPRequest

	c        *conn
	answered atomic.Bool
	done     atomic.Bool
	reply    *zmtp.ZAPReply
	err      error
}

// Reply answers the call: the loop applies r as the ZAP handler's reply (a nil r means there is no
// handler at all). Only the first answer counts. Any goroutine; it never blocks.
func (z *ZAPCall) Reply(r *zmtp.ZAPReply) {
	if z.answered.CompareAndSwap(false, true) {
		z.reply = r
		z.c.loop.w.postTask(task{c: z.c, z: z, kind: taskAuth})
	}
}

// Fail answers the call with an error of the handler's side (a malformed reply: a *zmtp.ZAPError):
// the handshake fails with it, as a protocol error. Any goroutine.
func (z *ZAPCall) Fail(err error) {
	if z.answered.CompareAndSwap(false, true) {
		z.err = err
		z.c.loop.w.postTask(task{c: z.c, z: z, kind: taskAuth})
	}
}

// Done reports that the call no longer matters: answered and applied, or its connection is gone.
// An Authorizer that keeps calls (waiting for a handler socket's reply) drops those that are done.
// Any goroutine.
func (z *ZAPCall) Done() bool { return z.done.Load() }

// SetAuthorizer makes a the reactor's ZAP handler, for every connection whose socket has none of
// its own (Options.Authorizer), as libzmq's ZAP handler serves its whole context; nil removes it.
// Any goroutine; connections asking afterwards see it.
func (r *Reactor) SetAuthorizer(a Authorizer) {
	if a == nil {
		r.auth.Store(nil)
		return
	}
	r.auth.Store(&a)
}

// Authorizer returns the reactor's ZAP handler, or nil. Any goroutine.
func (r *Reactor) Authorizer() Authorizer {
	if a := r.auth.Load(); a != nil {
		return *a
	}
	return nil
}

// authInputMax bounds what a peer may have sent while its connection waits for ZAP: nothing is
// consumed meanwhile, and a client may legitimately have sent one command at most.
func (c *conn) authInputMax() int {
	n := c.opts.Session.MaxCommandSize
	if n <= 0 {
		n = zmtp.DefaultMaxCommandSize
	}
	return n + 64
}

// askAuth passes a request the session just made to the authorizer. It reports true when the
// answer was applied at once (there is no authorizer) and the input must be parsed again.
func (c *conn) askAuth() bool {
	req := c.sess.AuthRequest()
	if req == nil || c.authReq == req || (c.ws != nil && !c.ws.upgraded) {
		return false // none, passed on already, or a ws server before its 101 (the session may change)
	}
	c.authReq = req
	z := &ZAPCall{Request: *req, c: c}
	z.Request.Address = c.peerAddress()
	if tp := c.tlsPeer(); tp != nil && tp.Certificate != nil {
		z.Request.PeerCertificate = tp.Certificate.Raw
	}
	c.auth = z
	a := c.opts.Authorizer
	if a == nil {
		a = c.r.Authorizer()
	}
	if a == nil {
		z.answered.Store(true)
		c.authAnswered(z, false)
		return true
	}
	a.Authorize(z)
	return false
}

// authAnswered applies an answer on the loop. A stale one (the connection ended, or this is not
// its call) is dropped. read says whether to parse the input that waited.
func (c *conn) authAnswered(z *ZAPCall, read bool) {
	if c.auth != z || c.closed() || c.failErr != nil {
		z.done.Store(true)
		return
	}
	c.auth = nil
	z.done.Store(true)
	var out []byte
	err := z.err
	if err == nil {
		out, err = c.sess.Authorized(z.reply, time.Now(), c.loop.scratch[:0], c)
	}
	c.writeOut(out)
	if c.closed() {
		return
	}
	if c.sess.Silenced() {
		// A 300: refused now, closed when the handshake timer ends (as libzmq 4.3, which
		// reports the refusal at once and the disconnection then).
		c.silenced = true
		c.owner.Event(Event{Type: EventHandshakeFailedAuth, Endpoint: c.ep, Remote: c.remote, Err: err,
			Value: zmtp.AuthStatus(err)})
		c.loop.watch(c)
		return
	}
	if err != nil {
		c.fail(err)
		if read { // from the waker, not inside this connection's OnTraffic: close it here
			c.closeNow(err)
		}
		return
	}
	c.loop.watch(c)
	if read && c.gc != nil {
		c.read()
		if c.closed() {
			return
		}
		if c.failErr != nil {
			_ = c.loop.el.Close(c.gc)
			return
		}
		c.drain()
	}
}

// dropAuth forgets a call whose connection ends.
func (c *conn) dropAuth() {
	if c.auth != nil {
		c.auth.done.Store(true)
		c.auth = nil
	}
}

// peerAddress is the peer's address as libzmq gives it in ZAP requests and as Peer-Address: the IP
// address alone over tcp and ws, "localhost:uid:gid:pid" (the peer's credentials) over ipc, "" when
// unknown. On the loop. Not kept: it is asked for once or twice in a connection's life (its ZAP
// request, its metadata), and the metadata keeps it.
func (c *conn) peerAddress() string {
	if c.gc == nil {
		return ""
	}
	switch a := c.gc.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UnixAddr:
		return unixPeerAddress(c.gc.Fd())
	default:
		if host, _, err := net.SplitHostPort(c.remote); err == nil {
			return host
		} else if strings.HasPrefix(c.ep, "ipc://") {
			return unixPeerAddress(c.gc.Fd())
		}
	}
	return ""
}

// buildMetadata makes the connection's metadata once its handshake is done, with libzmq's
// precedence (stream_engine_base_t::mechanism_ready): Peer-Address first, then what the ZAP
// handler vouched for (User-Id and its metadata), then the peer's own properties; besides libzmq,
// Routing-Id is the peer's announced identity. What the peer claimed under a name already taken
// is ignored, compared case-insensitively.
func (c *conn) buildMetadata(peer *zmtp.Peer) *pool.Metadata {
	pairs := make([]string, 0, 2*(len(peer.Properties)+len(peer.ZAPMetadata)+3))
	if a := c.peerAddress(); a != "" {
		pairs = append(pairs, pool.PropPeerAddress, a)
	}
	if tp := c.tlsPeer(); tp != nil {
		// What TLS verified is vouched for by our side, like the address: before the peer's claims.
		md := tp.Metadata()
		for _, k := range slices.Sorted(maps.Keys(md)) {
			pairs = append(pairs, k, md[k])
		}
	}
	if peer.Authorized {
		pairs = append(pairs, pool.PropUserID, peer.UserID)
		for k, v := range peer.ZAPMetadata {
			pairs = append(pairs, k, v)
		}
	}
	if id, ok := peer.Property(zmtp.PropIdentity); ok {
		pairs = append(pairs, pool.PropRoutingID, string(id))
	}
	for k, v := range peer.Properties {
		taken := false
		for i := 0; i < len(pairs); i += 2 {
			if strings.EqualFold(pairs[i], k) {
				taken = true
				break
			}
		}
		if !taken {
			pairs = append(pairs, k, string(v))
		}
	}
	return pool.NewMetadata(pairs...)
}

// errAuthInput: the peer sent more than a command while its connection waited for ZAP.
var errAuthInput = &zmtp.Error{Op: "handshake", Err: zmtp.ErrUnexpectedCommand, Detail: "input while ZAP decides"}

// InprocBound returns the listener bound at the inproc:// endpoint and the socket type it was
// bound with, or nil when the name is free: how a ZAP client finds the handler socket at
// inproc://zeromq.zap.01, as libzmq's session_base_t::zap_connect does. A new listener at the same
// name is another handler. Any goroutine.
func (r *Reactor) InprocBound(endpoint string) (*Listener, string) {
	name, err := inprocName(endpoint)
	if err != nil {
		return nil, ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ep := r.inproc[name]
	if ep == nil {
		return nil, ""
	}
	return ep.l, ep.opts.Session.SocketType
}

// The rfc 27 types and codec, for package sockets, which reaches zmtp through the reactor alone.
type (
	// ZAPRequest is zmtp.ZAPRequest.
	ZAPRequest = zmtp.ZAPRequest
	// ZAPReply is zmtp.ZAPReply.
	ZAPReply = zmtp.ZAPReply
)

// ParseZAPRequest is zmtp.ParseZAPRequest: a request's frames after the delimiter.
func ParseZAPRequest(frames [][]byte) (ZAPRequest, error) { return zmtp.ParseZAPRequest(frames) }

// ParseZAPReply is zmtp.ParseZAPReply: a reply's frames after the delimiter.
func ParseZAPReply(frames [][]byte) (ZAPReply, error) { return zmtp.ParseZAPReply(frames) }

// ZAPReplyError is a malformed ZAP reply (a *zmtp.ZAPError): ZAPCall.Fail with it fails the
// handshake as a protocol error.
func ZAPReplyError(detail string) error { return &zmtp.ZAPError{Detail: detail} }
