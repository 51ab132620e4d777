package sockets

import (
	"context"
	"strconv"
	"sync"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// ZAP (rfc 27), the two ways libzmq users run it:
//
//   - a Go function, for the reactor (SetZAPHandler: the reactor plays libzmq's context, whose
//     one handler serves every socket) or for one socket (WithZAPHandler; WithPlainServer's check
//     is such a function);
//   - a ZAP handler socket, a REP or ROUTER the user binds at inproc://zeromq.zap.01 on the
//     reactor and serves with ordinary Recv and Send, so that code ported from libzmq (zmq.auth's
//     authenticators, czmq's zauth) works unchanged.
//
// A connection asks when its mechanism needs a decision: NULL with a ZAP_DOMAIN, PLAIN always,
// CURVE unless ZAP_ENFORCE_DOMAIN is on without a domain. Its socket's own function answers first,
// then the reactor's function, then a handler socket bound at ZAPEndpoint; with none of them the
// connection goes on as libzmq's does without a handler: NULL and CURVE admit the client (unless
// ZAP_ENFORCE_DOMAIN), PLAIN refuses it. The handshake waits for the answer without holding its
// loop, and HANDSHAKE_IVL bounds the wait.

// ZAPEndpoint is where libzmq looks for the ZAP handler socket.
const ZAPEndpoint = "inproc://zeromq.zap.01"

type (
	// ZAPRequest is one rfc 27 request (zmtp.ZAPRequest): domain, the client's address,
	// the server socket's routing id, the mechanism and its credentials (PLAIN: username and
	// password; CURVE: the client's public key).
	ZAPRequest = reactor.ZAPRequest
	// ZAPReply is a handler's answer: StatusCode 200 admits the client with UserID (the User-Id of
	// its messages) and Metadata; 300 drops it without an ERROR; 400 and 500 refuse it with ERROR.
	ZAPReply = reactor.ZAPReply
	// ZAPHandler decides one request. It runs on a goroutine of its own, never on an event
	// loop, so it may take its time (HANDSHAKE_IVL bounds the client's wait).
	ZAPHandler func(req ZAPRequest) ZAPReply
)

// ZAP status codes (rfc 27), and the protocol's version.
const (
	ZAPOK           = 200
	ZAPTempFailure  = 300
	ZAPDenied       = 400
	ZAPInternalFail = 500
	ZAPVersion      = "1.0"
)

// ParseZAPRequest reads a request's frames as a handler socket receives them (after the
// delimiter, which a REP strips). It fails for fewer than six frames or a version other than 1.0.
func ParseZAPRequest(frames [][]byte) (ZAPRequest, error) { return reactor.ParseZAPRequest(frames) }

// SetZAPHandler makes h the ZAP handler of every socket on reactor r (nil: the default reactor)
// that has no handler of its own (WithZAPHandler), like a ZAP handler in a libzmq context; a nil h
// removes it, and a handler socket at ZAPEndpoint, if any, answers again. Any goroutine;
// handshakes that ask afterwards see the change.
func SetZAPHandler(r *reactor.Reactor, h ZAPHandler) error {
	if r == nil {
		var err error
		if r, err = reactor.Default(); err != nil {
			return err
		}
	}
	zapOf(r).setFunc(h)
	return nil
}

// zapMu serialises installing the ZAP service on a reactor.
var zapMu sync.Mutex

// zapOf returns r's ZAP service, installing it at first use in place of any other Authorizer.
func zapOf(r *reactor.Reactor) *zapService {
	zapMu.Lock()
	defer zapMu.Unlock()
	if z, ok := r.Authorizer().(*zapService); ok {
		return z
	}
	return installZAP(r)
}

// ensureZAP gives r a ZAP service unless it has an Authorizer already (the service, or one set
// with reactor.SetAuthorizer): every socket's reactor can then reach a handler socket bound at
// ZAPEndpoint, as every libzmq context can.
func ensureZAP(r *reactor.Reactor) {
	zapMu.Lock()
	defer zapMu.Unlock()
	if r.Authorizer() == nil {
		installZAP(r)
	}
}

func installZAP(r *reactor.Reactor) *zapService {
	z := &zapService{r: r, pending: map[string]*reactor.ZAPCall{}}
	r.SetAuthorizer(z)
	return z
}

// funcAuthorizer runs a Go handler for each call on a goroutine of its own.
type funcAuthorizer ZAPHandler

func (f funcAuthorizer) Authorize(z *reactor.ZAPCall) {
	go func() {
		rep := f(z.Request)
		z.Reply(&rep)
	}()
}

// plainHandler is WithPlainServer's check as a ZAP handler: the username is the User-Id.
func plainHandler(auth func(username, password string) bool) ZAPHandler {
	return func(req ZAPRequest) ZAPReply {
		if req.Mechanism != "PLAIN" || len(req.Credentials) != 2 ||
			!auth(string(req.Credentials[0]), string(req.Credentials[1])) {
			return ZAPReply{StatusCode: ZAPDenied, StatusText: "Authentication failed"}
		}
		return ZAPReply{StatusCode: ZAPOK, UserID: string(req.Credentials[0])}
	}
}

// zapService is a reactor's ZAP handler: its Go function, or the handler socket bound at
// ZAPEndpoint, which it reaches through a DEALER of its own connected there. Requests of many
// connections share that DEALER, so each goes out with a request id of its own and the reply is
// routed back by it (libzmq gives each session a pipe of its own and always says "1"; a handler
// echoes whatever it gets). A reply whose id matches no waiting call is dropped: its connection
// ended, or the handler made the id up.
type zapService struct {
	r  *reactor.Reactor
	mu sync.Mutex
	fn ZAPHandler
	// The handler socket's side, under mu: the listener the client is connected to (a new
	// handler bound at the name gets a new client), the client, and the calls waiting for replies.
	bound   *reactor.Listener
	client  *Socket
	seq     uint64
	pending map[string]*reactor.ZAPCall
	swept   int // pending's size at its last sweep
	// wg tracks the client's receiver; the last one ends when the client closes (handler gone,
	// reactor shut down).
	wg sync.WaitGroup
}

func (z *zapService) setFunc(h ZAPHandler) {
	z.mu.Lock()
	z.fn = h
	z.mu.Unlock()
}

// Authorize runs on a connection's loop: a Go handler runs on its own goroutine; a request for
// the handler socket is sent on one, since finding or connecting the client may take locks a
// loop must not wait for.
func (z *zapService) Authorize(call *reactor.ZAPCall) {
	z.mu.Lock()
	fn := z.fn
	z.mu.Unlock()
	if fn != nil {
		funcAuthorizer(fn).Authorize(call)
		return
	}
	go z.viaSocket(call)
}

// viaSocket sends call's request to the handler socket, or answers "no handler" when none is bound
// (or it is neither REP nor ROUTER, which libzmq asserts).
func (z *zapService) viaSocket(call *reactor.ZAPCall) {
	l, typ := z.r.InprocBound(ZAPEndpoint)
	z.mu.Lock()
	if z.client != nil && z.bound != l {
		// The handler it reached is gone: its receiver ends with it, and the calls it carried
		// wait for their HANDSHAKE_IVL.
		_ = z.client.Close()
		z.client, z.bound = nil, nil
	}
	if l == nil || (typ != Rep.String() && typ != Router.String()) {
		z.mu.Unlock()
		call.Reply(nil)
		return
	}
	if z.client == nil {
		c, err := NewOn(z.r, Dealer, WithLinger(0), WithHWM(0), WithSndTimeout(0))
		if err == nil {
			if err = c.Connect(ZAPEndpoint); err != nil {
				_ = c.Close()
			}
		}
		if err != nil {
			z.mu.Unlock()
			call.Fail(err) // the reactor is shutting down
			return
		}
		z.bound, z.client = l, c
		z.wg.Add(1)
		go z.receive(c)
	}
	z.seq++
	id := strconv.FormatUint(z.seq, 10)
	z.sweep()
	z.pending[id] = call
	client := z.client
	z.mu.Unlock()

	req := call.Request
	req.RequestID = []byte(id)
	frames := append([][]byte{{}}, req.AppendFrames(nil)...)
	if err := client.Send(context.Background(), frames...); err != nil {
		z.mu.Lock()
		delete(z.pending, id)
		z.mu.Unlock()
		call.Fail(err)
	}
}

// sweep drops calls whose connection ended, each time pending has doubled. Under mu.
func (z *zapService) sweep() {
	if len(z.pending) < 2*max(z.swept, 32) {
		return
	}
	for id, c := range z.pending {
		if c.Done() {
			delete(z.pending, id)
		}
	}
	z.swept = len(z.pending)
}

// receive routes the handler's replies back to their calls, until the client closes.
func (z *zapService) receive(c *Socket) {
	defer z.wg.Done()
	for {
		m, err := c.RecvMsg(context.Background())
		if err != nil {
			return // closed: the handler went away, or the reactor shut down
		}
		z.deliver(m)
		m.Release()
	}
}

// deliver applies one reply message, [empty delimiter, version, request id, status code, status
// text, user id, metadata]. Anything malformed fails the call it names, as libzmq's zap_client
// fails the handshake (HANDSHAKE_FAILED_PROTOCOL); a reply that names no waiting call is dropped.
func (z *zapService) deliver(m *pool.Msg) {
	frames := m.Frames(nil)
	if len(frames) < 3 {
		return // no request id to route by
	}
	id := string(frames[2])
	z.mu.Lock()
	call := z.pending[id]
	delete(z.pending, id)
	z.mu.Unlock()
	if call == nil {
		return
	}
	if len(frames[0]) != 0 {
		call.Fail(reactor.ZAPReplyError("no empty delimiter"))
		return
	}
	rep, err := reactor.ParseZAPReply(frames[1:])
	if err != nil {
		call.Fail(err)
		return
	}
	rep.RequestID = call.Request.RequestID // ours on the wire, the session's in the call
	call.Reply(&rep)
}
