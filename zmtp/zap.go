package zmtp

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/zloop/zloop/codec"
)

// ZAP (rfc 27): a server-side mechanism asks a handler whether a client may connect. The session
// does not talk to the handler itself (it has no I/O): it produces a ZAPRequest, stops consuming
// input, and waits for the owner to hand it the answer with Session.Authorized. Every server
// mechanism goes through the one step here (authorizer.ask), so NULL, PLAIN and CURVE refuse,
// admit and report alike, as libzmq's zap_client does for all three.

// ZAPVersion is the only version of rfc 27's protocol.
const ZAPVersion = "1.0"

// ZAP status codes (rfc 27): a reply's StatusCode is one of these.
const (
	ZAPOK           = 200 // the client may connect
	ZAPTempFailure  = 300 // not now: the client is dropped without an ERROR (libzmq, rfc 26)
	ZAPDenied       = 400 // refused: the client gets ERROR "400"
	ZAPInternalFail = 500 // the handler failed: the client gets ERROR "500", as for 400
)

// zapRequestID is the request id a session puts in its request. One connection has at most one
// request outstanding, so libzmq uses the constant "1"; so does the session. An owner that
// multiplexes many connections over one handler socket puts its own ids on the wire.
const zapRequestID = "1"

// ZAPRequest is one rfc 27 request: who wants to connect, over which mechanism, with what
// credentials. The session fills everything but Address, which the owner knows (the peer's IP
// address, as libzmq gives it) and sets before passing the request on.
type ZAPRequest struct {
	Version   string // ZAPVersion
	RequestID []byte // echoed in the reply
	Domain    string // the server socket's ZAP_DOMAIN
	Address   string // the client's address, as libzmq's Peer-Address
	// Identity is the server socket's own ROUTING_ID option, as libzmq sends it (not the
	// client's; that one is not known before the handshake ends).
	Identity  []byte
	Mechanism string // "NULL", "PLAIN" or "CURVE"
	// Credentials: none for NULL, username and password for PLAIN, the client's 32-byte long-term
	// public key for CURVE (a TLS certificate would join as another frame).
	Credentials [][]byte
	// PeerCertificate is the DER form of the verified leaf certificate of a tls:// or wss://
	// client that sent one, filled in by the transport (nil otherwise; x509.ParseCertificate
	// reads it; it is bytes here because this package does no I/O and crypto/x509 pulls in net).
	// rfc 27 has no frame for it: a Go handler sees it, a handler socket does not (its frames stay
	// libzmq's, so ported handlers keep working).
	PeerCertificate []byte
}

// ZAPReply is a handler's answer. A Go handler need only set StatusCode (and UserID, Metadata):
// Version and RequestID are checked only when the reply came over the wire (ParseZAPReply).
type ZAPReply struct {
	Version    string
	RequestID  []byte
	StatusCode int    // ZAPOK, ZAPTempFailure, ZAPDenied or ZAPInternalFail
	StatusText string // for logs; never sent to the client
	// UserID becomes the User-Id property of every message from the client (zmq_msg_gets).
	UserID string
	// Metadata are more properties of the connection, each answered by zmq_msg_gets; they take
	// precedence over what the client announced under the same names, as in libzmq.
	Metadata map[string]string
}

// AppendFrames appends the request's frames as rfc 27 puts them on the wire (version, request id,
// domain, address, identity, mechanism, credentials), without the empty delimiter a REQ-like
// client sends before them. The request id, identity and credential frames alias r's slices
// (valid while those are not changed); the others are copies. Any goroutine that may read r.
func (r *ZAPRequest) AppendFrames(dst [][]byte) [][]byte {
	dst = append(dst, []byte(r.Version), r.RequestID, []byte(r.Domain), []byte(r.Address),
		r.Identity, []byte(r.Mechanism))
	return append(dst, r.Credentials...)
}

// ParseZAPRequest reads a request's frames (after the delimiter). It returns a *ZAPError for
// fewer than six frames or a version other than 1.0. The request aliases frames.
func ParseZAPRequest(frames [][]byte) (ZAPRequest, error) {
	if len(frames) < 6 {
		return ZAPRequest{}, zapErr("request of fewer than 6 frames")
	}
	if string(frames[0]) != ZAPVersion {
		return ZAPRequest{}, zapErr("version " + quote(string(frames[0])))
	}
	return ZAPRequest{Version: ZAPVersion, RequestID: frames[1], Domain: string(frames[2]),
		Address: string(frames[3]), Identity: frames[4], Mechanism: string(frames[5]),
		Credentials: frames[6:]}, nil
}

// AppendFrames appends the reply's six frames (version, request id, status code, status text,
// user id, metadata), without a delimiter. Metadata go in name order, so that one reply always
// has the same bytes. A status code outside 100..999 is written as "500". The request id frame
// aliases r.RequestID (valid while it is not changed); the others are new. Any goroutine that may
// read r.
func (r *ZAPReply) AppendFrames(dst [][]byte) [][]byte {
	code := r.StatusCode
	if code < 100 || code > 999 {
		code = ZAPInternalFail
	}
	var meta []byte
	for _, k := range slices.Sorted(maps.Keys(r.Metadata)) {
		meta = codec.AppendProperty(meta, k, []byte(r.Metadata[k]))
	}
	return append(dst, []byte(r.Version), r.RequestID, []byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)},
		[]byte(r.StatusText), []byte(r.UserID), meta)
}

// ParseZAPReply reads a reply's frames (after the delimiter) as libzmq's zap_client does: exactly
// six frames, version 1.0, a status code of 200, 300, 400 or 500, and a well-formed metadata
// frame. Anything else is a *ZAPError (ErrZAPReply: a protocol error of the handler's, which
// fails the handshake it answers). It does not compare the request id: the caller knows which it
// expects. The reply's byte fields are copied.
func ParseZAPReply(frames [][]byte) (ZAPReply, error) {
	if len(frames) != 6 {
		return ZAPReply{}, zapErr("reply of " + strconv.Itoa(len(frames)) + " frames, want 6")
	}
	if string(frames[0]) != ZAPVersion {
		return ZAPReply{}, zapErr("version " + quote(string(frames[0])))
	}
	code, ok := parseZAPStatus(frames[2])
	if !ok {
		return ZAPReply{}, zapErr("status code " + quote(string(frames[2])))
	}
	r := ZAPReply{Version: ZAPVersion, RequestID: bytes.Clone(frames[1]), StatusCode: code,
		StatusText: string(frames[3]), UserID: string(frames[4])}
	if len(frames[5]) > 0 {
		r.Metadata = map[string]string{}
		err := codec.ParseMetadata(frames[5], func(name, value []byte) error {
			if _, dup := r.Metadata[string(name)]; !dup {
				r.Metadata[string(name)] = string(value)
			}
			return nil
		})
		if err != nil {
			return ZAPReply{}, zapErr("metadata: " + trimPrefix(err))
		}
	}
	return r, nil
}

// parseZAPStatus accepts what libzmq accepts: "200", "300", "400", "500".
func parseZAPStatus(b []byte) (int, bool) {
	if len(b) != 3 || b[0] < '2' || b[0] > '5' || b[1] != '0' || b[2] != '0' {
		return 0, false
	}
	return int(b[0]-'0') * 100, true
}

// zapStatusReason reports the ZAP status code an ERROR's reason carries ("300", "400" or "500",
// which libzmq's mechanisms report as HANDSHAKE_FAILED_AUTH), or 0.
func zapStatusReason(reason string) int {
	if code, ok := parseZAPStatus([]byte(reason)); ok && code >= 300 {
		return code
	}
	return 0
}

// ZAPError is a ZAP reply that breaks rfc 27 (libzmq's ZMQ_PROTOCOL_ERROR_ZAP_*), or an error
// of the handler's side. errors.Is(err, ErrZAPReply) matches it.
type ZAPError struct{ Detail string }

func (e *ZAPError) Error() string { return "zmq: bad ZAP reply: " + e.Detail }

// Unwrap returns ErrZAPReply.
func (e *ZAPError) Unwrap() error { return ErrZAPReply }

func zapErr(detail string) error { return &ZAPError{Detail: detail} }

// AuthError is a client refused by the ZAP handler (status 300, 400 or 500). errors.Is(err,
// ErrAuthentication) matches it. The monitor reports it as HANDSHAKE_FAILED_AUTH with the status
// code, as libzmq does.
type AuthError struct {
	Status int    // 300, 400 or 500
	Text   string // the handler's status text
	UserID string // what the handler called the client, if anything
	// Temporary: a 300, which Session.Authorized reports without failing the session (see there).
	Temporary bool
}

func (e *AuthError) Error() string {
	s := "zmq: authentication failed: ZAP status " + strconv.Itoa(e.Status)
	if e.Text != "" {
		s += " " + quote(e.Text)
	}
	return s
}

// Unwrap returns ErrAuthentication.
func (e *AuthError) Unwrap() error { return ErrAuthentication }

// AuthStatus returns the ZAP status code behind a handshake that failed on authentication: the
// code of an *AuthError (our handler refused the peer) or of a *PeerError whose reason is a status
// code (the peer's handler refused us), as libzmq's monitor reports it with
// HANDSHAKE_FAILED_AUTH; 0 for any other error.
func AuthStatus(err error) int {
	for err != nil {
		switch e := err.(type) {
		case *AuthError:
			return e.Status
		case *PeerError:
			return zapStatusReason(e.Reason)
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return 0
		}
		err = u.Unwrap()
	}
	return 0
}

// zapPolicy is when a mechanism asks ZAP and what having no handler means, as each of libzmq's
// mechanisms decides it (null_mechanism.cpp, plain_server.cpp, curve_server.cpp).
type zapPolicy uint8

const (
	// zapNull: ask only with a ZAP_DOMAIN; without a handler, admit (unless ZAP_ENFORCE_DOMAIN).
	zapNull zapPolicy = iota
	// zapPlain: always ask; without a handler, refuse (PLAIN without ZAP checks nothing).
	zapPlain
	// zapCurve: ask unless ZAP_ENFORCE_DOMAIN is on with no domain; without a handler, admit
	// (the Stonehouse pattern: encryption without authentication) unless ZAP_ENFORCE_DOMAIN.
	zapCurve
)

// authorizer is the session's side of ZAP, shared by its mechanism (a server's) and the session.
type authorizer struct {
	domain   string
	identity []byte // our routing id (ROUTING_ID), which requests carry
	// check, when set, answers requests at once on the session's goroutine (Config.Authenticate,
	// Config.Authorize); a nil answer leaves the request to the owner.
	check func(*ZAPRequest) *ZAPReply

	pending *ZAPRequest // asked and not answered: the session consumes no input meanwhile
	// silenced: the handler answered 300. libzmq 4.3 sends nothing more and keeps the connection
	// until the handshake timer ends it; so does the session, consuming no input.
	silenced bool
	enforce  bool // Config.ZAPEnforceDomain
	policy   zapPolicy
	then     func(w *wire, out []byte) ([]byte, error) // the mechanism's next step once admitted
	granted  *ZAPReply                                 // the 200 reply, applied to the peer at READY
}

// waiting reports whether the session consumes no input: a request is pending, or a 300 silenced
// the connection.
func (a *authorizer) waiting() bool { return a.pending != nil || a.silenced }

// asks reports whether a mechanism with policy p asks ZAP at all.
func (a *authorizer) asks(p zapPolicy) bool {
	switch p {
	case zapNull:
		return a.domain != ""
	case zapCurve:
		return a.domain != "" || !a.enforce
	}
	return true
}

// ask is the one seam every server mechanism calls when it needs a decision: NULL before its
// READY, PLAIN after HELLO, CURVE after a valid INITIATE. mechanism and credentials go into the
// request (the credentials are copied); then is the mechanism's next step, run once the client is
// admitted (at once when p asks nothing). Until the answer comes, the session consumes no input,
// and the handshake timer keeps running.
func (a *authorizer) ask(w *wire, p zapPolicy, mechanism string, credentials [][]byte, out []byte,
	then func(w *wire, out []byte) ([]byte, error)) ([]byte, error) {
	if !a.asks(p) {
		return then(w, out)
	}
	req := &ZAPRequest{Version: ZAPVersion, RequestID: []byte(zapRequestID), Domain: a.domain,
		Identity: a.identity, Mechanism: mechanism}
	for _, c := range credentials {
		req.Credentials = append(req.Credentials, bytes.Clone(c))
	}
	a.pending, a.policy, a.then = req, p, then
	if a.check != nil {
		if r := a.check(req); r != nil {
			return a.answer(w, r, out)
		}
	}
	return out, nil
}

// answer applies the handler's reply (nil: there is no handler) to the pending request.
func (a *authorizer) answer(w *wire, r *ZAPReply, out []byte) ([]byte, error) {
	if a.pending == nil {
		return out, &Error{Op: "handshake", Err: ErrUnexpectedReply}
	}
	p, then := a.policy, a.then
	a.pending, a.then = nil, nil
	if r == nil {
		if p == zapPlain || a.enforce {
			// libzmq: zap_connect failed; HANDSHAKE_FAILED_NO_DETAIL, closed without an ERROR.
			return out, &Error{Op: "handshake", Err: ErrNoZAPHandler}
		}
		return then(w, out)
	}
	switch r.StatusCode {
	case ZAPOK:
		a.granted = r
		return then(w, out)
	case ZAPTempFailure:
		// No ERROR (rfc 26, libzmq). libzmq then leaves the connection be until its handshake
		// timer closes it, which keeps a retrying client from coming back at once.
		a.silenced = true
		return out, &AuthError{Status: r.StatusCode, Text: r.StatusText, UserID: r.UserID, Temporary: true}
	case ZAPDenied, ZAPInternalFail:
		if p == zapPlain {
			// libzmq's PLAIN client recognises only its own misspelt ERROR (see
			// libzmqBadError); a correct one makes it report a protocol error instead of
			// the refusal. zloop's clients read both.
			out = w.frame(out, codec.FlagCommand, appendLibzmqPlainError(w.body[:0], strconv.Itoa(r.StatusCode)))
		} else {
			out = w.error(out, strconv.Itoa(r.StatusCode))
		}
		return out, &AuthError{Status: r.StatusCode, Text: r.StatusText, UserID: r.UserID}
	}
	return out, zapErr("status code " + strconv.Itoa(r.StatusCode))
}

// grant puts what the handler vouched for into the peer's properties, over anything the peer
// claimed under the same names (compared case-insensitively, as Peer.Property does).
func (a *authorizer) grant(p *Peer) {
	r := a.granted
	if r == nil {
		return
	}
	// The peer's map may be shared with other sessions (internProps): add to a copy.
	p.Properties = maps.Clone(p.Properties)
	if p.Properties == nil {
		p.Properties = map[string][]byte{}
	}
	set := func(name, value string) {
		for k := range p.Properties {
			if strings.EqualFold(k, name) {
				delete(p.Properties, k)
			}
		}
		p.Properties[name] = []byte(value)
	}
	// libzmq sets User-Id from every 200 reply, an empty one too.
	set(PropUserID, r.UserID)
	for _, k := range slices.Sorted(maps.Keys(r.Metadata)) {
		if !strings.EqualFold(k, PropUserID) {
			set(k, r.Metadata[k])
		}
	}
	p.Authorized = true
	p.UserID = r.UserID
	p.ZAPMetadata = r.Metadata
}

// authenticateReply adapts Config.Authenticate (a PLAIN check in Go) to the ZAP step.
func authenticateReply(auth func(username, password []byte) bool) func(*ZAPRequest) *ZAPReply {
	return func(req *ZAPRequest) *ZAPReply {
		if req.Mechanism != MechanismPlain || len(req.Credentials) != 2 {
			return &ZAPReply{StatusCode: ZAPDenied}
		}
		if !auth(req.Credentials[0], req.Credentials[1]) {
			return &ZAPReply{StatusCode: ZAPDenied, StatusText: "Authentication failed"}
		}
		return &ZAPReply{StatusCode: ZAPOK, UserID: string(req.Credentials[0])}
	}
}
