package zmtp

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zloop/zloop/codec"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxFrames        = 65536
	DefaultMaxCommandSize   = 64 << 10
	DefaultHandshakeTimeout = 30 * time.Second
)

// Property names this package sends and looks for in the peer's READY. They are spelled exactly
// as libzmq spells them because libzmq compares them case-sensitively.
const (
	PropSocketType = "Socket-Type"
	PropIdentity   = "Identity"
)

// errorInvalidSocketType is the reason libzmq-style peers print for a rejected socket type.
const errorInvalidSocketType = "Invalid socket type"

// Config configures one Session. NewSession copies it; later changes have no effect.
type Config struct {
	SocketType string           // our type, e.g. "PUSH"; sent as Socket-Type in READY
	Identity   []byte           // ROUTING_ID, sent as Identity when non-empty (0..255 bytes)
	Properties []codec.Property // extra READY properties (application "X-" names)
	// Compatible decides whether we talk to a peer of type peerType. nil accepts any type;
	// false sends ERROR "Invalid socket type" and fails with ErrIncompatible.
	Compatible func(peerType string) bool
	// MaxMsgSize bounds the total body bytes of one message. -1 (libzmq's default) and 0 (the
	// zero Config) mean unlimited; libzmq's "0 = only empty messages" has no use worth the trap.
	MaxMsgSize int64
	// MaxFrames bounds the frames of one message, so a multipart message that never ends cannot
	// grow the receiver without bound. 0 or negative = DefaultMaxFrames.
	MaxFrames int
	// MaxCommandSize bounds a command frame, which is buffered whole before it is parsed.
	// 0 or negative = DefaultMaxCommandSize.
	MaxCommandSize int
	// HandshakeTimeout bounds greeting plus security handshake. 0 = DefaultHandshakeTimeout;
	// negative = none (libzmq ZMQ_HANDSHAKE_IVL).
	HandshakeTimeout time.Duration
	// HeartbeatIvl is the interval between our PINGs after the handshake. 0 or negative = no
	// PINGs (libzmq ZMQ_HEARTBEAT_IVL).
	HeartbeatIvl time.Duration
	// HeartbeatTTL is announced in our PINGs: the peer may drop us after that long without
	// traffic. Sent in deciseconds, rounded down, at most 6553.5 s.
	HeartbeatTTL time.Duration
	// HeartbeatTimeout: after sending a PING, fail when nothing arrives for this long.
	// 0 = HeartbeatIvl (libzmq's default); negative = never.
	HeartbeatTimeout time.Duration
	// NoGreeting is for transports that carry the version and mechanism themselves, such as ZWS 2.0
	// (the WebSocket subprotocol names the mechanism): no greeting is exchanged, the peer counts as
	// ZMTP 3.1 with our mechanism, and Start sends the mechanism's first command (READY for NULL).
	NoGreeting bool
	// Plain selects rfc 24's PLAIN mechanism instead of NULL. With PlainServer this side is the
	// server and asks ZAP about each client (see Authorize); otherwise it is the client and sends
	// PlainUsername and PlainPassword (up to 255 bytes each). Credentials travel in clear text.
	// Authenticate, when set (and Authorize is not), answers the PLAIN server's ZAP requests in
	// Go: true admits the client with its username as User-Id, false refuses it (ERROR "400"). It
	// runs on the session's goroutine and must return quickly.
	Plain                        bool
	PlainServer                  bool
	PlainUsername, PlainPassword []byte
	Authenticate                 func(username, password []byte) bool
	// ZAPDomain (ZMQ_ZAP_DOMAIN) goes into every ZAP request; with NULL, a domain is what makes
	// the session ask ZAP at all, as in libzmq. ZAPEnforceDomain (ZMQ_ZAP_ENFORCE_DOMAIN, off by
	// default as in libzmq 4.3) makes a NULL or CURVE server with a domain refuse every client
	// when there is no ZAP handler, instead of admitting it.
	ZAPDomain        string
	ZAPEnforceDomain bool
	// Authorize answers the ZAP requests of a server mechanism (NULL with a ZAPDomain, PLAIN,
	// CURVE) on the session's goroutine, at once. nil, or a nil reply, leaves the request to the
	// owner: Read stops consuming input, AuthRequest returns the request, and Authorized resumes
	// the handshake with the answer. It must return quickly.
	Authorize func(req *ZAPRequest) *ZAPReply
	// Curve selects rfc 26's CURVE mechanism (CurveZMQ): encryption and authentication with
	// Curve25519 keys. After the handshake every frame is a MESSAGE command; like libzmq the
	// session sends them in frames without the COMMAND flag and takes them either way.
	// CurvePublicKey and CurveSecretKey are our long-term key pair (both sides; see
	// CurveKeypair); a client also needs CurveServerKey, the server's public key. With CurveServer
	// this side is the server: it admits every client that proves its key, unless ZAP refuses it
	// (Authorize, AuthRequest; libzmq without a ZAP handler admits all). After the handshake every frame, commands included, travels
	// boxed in a MESSAGE command; Sealer boxes what the transport sends.
	Curve                                          bool
	CurveServer                                    bool
	CurvePublicKey, CurveSecretKey, CurveServerKey CurveKey
	// NoHandshake (with NoGreeting) is ZWS 2.0's bare "ZWS2.0" subprotocol: no security handshake
	// and no READY. Each side's first message is its routing id (one data frame, empty when it has
	// none), as libzmq does; the peer's socket type is unknown and not checked.
	NoHandshake bool
	// Framer writes the session's frames for a transport that frames them itself (ZWS 2.0);
	// nil is ZMTP's own framing. Such a transport feeds the session frames (FrameStart and
	// FrameBody), not bytes.
	Framer Framer
	// Accepted marks the side that accepted the connection (a listener's): it holds back its
	// major version until the peer's has arrived. Set it on one side only, or neither side
	// would send its major version. See Session.Start.
	Accepted bool
}

// Handler receives what a Session decodes. Its methods run on the goroutine that called
// Session.Read, synchronously, and must not call back into that Session except for the read-only
// methods Ready, Peer and InMessage. Every slice passed in is valid only during the call: it
// aliases the caller's input buffer (gnet's read buffer), so copy what you keep.
type Handler interface {
	// Ready reports that the handshake completed; p is the peer's greeting and metadata, owned by
	// the session and stable for its life. A non-nil error fails the session with that error.
	Ready(p *Peer) error
	// Frame announces the next message frame: size is its body length, more says another frame
	// of the same message follows, first says this frame starts a new message. When first is
	// true, returning false means "not now": the session stops before this frame's header and
	// Read returns; a later Read offered the same bytes resumes exactly there (flow control).
	// For later frames of a message (first == false) the return value is ignored, so that a
	// message is never left half-delivered.
	Frame(size int, more, first bool) bool
	// FrameData delivers the body of the frame last announced by Frame, in order, possibly in
	// several pieces as bytes arrive, so that nobody buffers a large frame twice. last marks the
	// final piece; a 0-byte frame gets exactly one call with an empty p and last = true.
	FrameData(p []byte, last bool)
	// Command receives every command after the handshake other than READY, ERROR, PING and
	// PONG: SUBSCRIBE, CANCEL and unknown ones. It may arrive between frames of a message.
	Command(c codec.Command)
}

// Peer describes the remote side after the handshake.
type Peer struct {
	Major, Minor byte // the peer's ZMTP version; 3.0 peers get subscriptions as data frames
	Mechanism    string
	SocketType   string
	Identity     []byte // copied; nil when the peer sent none
	// Properties are the peer's metadata (READY, or PLAIN's INITIATE) as received, values copied;
	// ZAP's User-Id and metadata replace the peer's own under those names. Read-only: sessions
	// whose peers sent the same metadata share one map (see internProps), and so may Identity.
	Properties map[string][]byte
	// Authorized: a ZAP handler admitted the peer (status 200) with UserID and ZAPMetadata.
	Authorized  bool
	UserID      string
	ZAPMetadata map[string]string
}

// Property returns the value of the property named name, compared case-insensitively as rfc 37
// requires, and whether it was present.
func (p *Peer) Property(name string) ([]byte, bool) {
	if v, ok := p.Properties[name]; ok {
		return v, true
	}
	for k, v := range p.Properties {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

type state uint8

// holdKind is what a frame-level frame is collected for before the session acts on it.
type holdKind uint8

const (
	holdNone    holdKind = iota
	holdCommand          // a command, handled at its end
	holdID               // a bare ZWS peer's routing id, its first frame
)

const (
	stGreeting  state = iota // waiting for the peer's 64-byte greeting, ours going out in steps
	stHandshake              // greeting done, mechanism running
	stReady                  // messages flow
	stFailed                 // sticky: every call returns s.err
)

// Session is one ZMTP 3.1 connection's protocol state, without I/O. It is not safe for
// concurrent use: one goroutine (the event loop owning the connection) calls all its methods.
type Session struct {
	socketType string
	compatible func(string) bool
	maxMsg     int64 // -1 = unlimited
	maxFrames  int
	maxCmd     int
	handshake  time.Duration // 0 = none
	hbIvl      time.Duration
	hbTimeout  time.Duration // 0 = none
	hbTTL      uint16        // deciseconds, announced in our PINGs
	// The flags of the whole struct are here, not with the fields they go with: a flag among
	// words costs a word, and a server keeps a session per peer.
	state                     state
	reopened                  bool // see reopen
	noGreeting                bool
	bare                      bool // NoHandshake: the first data frame is the peer's routing id
	accepted                  bool // Config.Accepted: our major version waits for the peer's
	handshaken                bool // the handshake completed (state may have failed since)
	started                   bool
	inFrame, frameMore, inMsg bool     // message framing: see bodyLeft
	holding                   holdKind // see held

	mech   mechanism
	wire   wire
	auth   authorizer   // ZAP: a server mechanism's questions and their answers (zap.go)
	cipher *curveCipher // CURVE, once the handshake is done: every frame is a MESSAGE
	// reopen: the MESSAGE with this nonce was opened but its frame refused for flow control; it is
	// offered again and its plaintext (cipher.plain) is delivered then, without opening it twice.
	reopen uint64
	sent   int // bytes of our greeting sent so far
	err    error
	peer   Peer

	// Message framing (and inFrame, frameMore, inMsg). bodyLeft counts the bytes of the current
	// frame's body still to deliver.
	bodyLeft  uint64
	msgFrames int
	msgTotal  int64

	// Frame-level input (FrameStart, FrameBody): a command, or a bare ZWS peer's routing id, is
	// collected whole in held (holding says what for) before it is acted on.
	held     []byte
	holdLeft int

	// leftover is how many bytes the last Read left unconsumed: the caller offers them again,
	// so only bytes beyond them are new traffic.
	leftover int

	handshakeAt time.Time // handshake deadline
	pingAt      time.Time // next PING
	timeoutAt   time.Time // a PING went out and nothing arrived since
	ttlAt       time.Time // the peer's TTL from its last PING
}

// NewSession returns a session for one connection. It copies what it needs from cfg. An
// unusable cfg (Identity over 255 bytes, a property name the wire cannot carry) does not panic:
// Start appends nothing and every Read and Tick reports an *Error matching ErrInvalidConfig.
func NewSession(cfg *Config) *Session {
	if cfg == nil {
		cfg = &Config{}
	}
	s := &Session{
		socketType: cfg.SocketType,
		compatible: cfg.Compatible,
		maxMsg:     cfg.MaxMsgSize,
		maxFrames:  cfg.MaxFrames,
		maxCmd:     cfg.MaxCommandSize,
		handshake:  cfg.HandshakeTimeout,
		hbIvl:      cfg.HeartbeatIvl,
		hbTimeout:  cfg.HeartbeatTimeout,
		noGreeting: cfg.NoGreeting,
		accepted:   cfg.Accepted,
		bare:       cfg.NoGreeting && cfg.NoHandshake,
		wire:       wire{f: cfg.Framer},
	}
	// Our routing id lives in auth (ZAP requests carry it), and Start sends it from there too.
	s.auth = authorizer{domain: cfg.ZAPDomain, enforce: cfg.ZAPEnforceDomain, identity: bytes.Clone(cfg.Identity), check: cfg.Authorize}
	if s.auth.check == nil && cfg.Authenticate != nil {
		s.auth.check = authenticateReply(cfg.Authenticate)
	}
	if s.maxMsg <= 0 {
		s.maxMsg = -1
	}
	if s.maxFrames <= 0 {
		s.maxFrames = DefaultMaxFrames
	}
	if s.maxCmd <= 0 {
		s.maxCmd = DefaultMaxCommandSize
	}
	switch {
	case s.handshake == 0:
		s.handshake = DefaultHandshakeTimeout
	case s.handshake < 0:
		s.handshake = 0
	}
	if s.hbIvl < 0 {
		s.hbIvl = 0
	}
	switch {
	case s.hbTimeout == 0:
		s.hbTimeout = s.hbIvl
	case s.hbTimeout < 0:
		s.hbTimeout = 0
	}
	if ttl := cfg.HeartbeatTTL / (100 * time.Millisecond); ttl > math.MaxUint16 {
		s.hbTTL = math.MaxUint16
	} else if ttl > 0 {
		s.hbTTL = uint16(ttl)
	}

	if err := checkConfig(cfg); err != nil {
		s.fail(err)
	}
	props := make([]codec.Property, 0, 2+len(cfg.Properties))
	props = append(props, codec.Property{Name: PropSocketType, Value: []byte(cfg.SocketType)})
	if len(cfg.Identity) > 0 {
		props = append(props, codec.Property{Name: PropIdentity, Value: bytes.Clone(cfg.Identity)})
	}
	for _, p := range cfg.Properties {
		props = append(props, codec.Property{Name: p.Name, Value: bytes.Clone(p.Value)})
	}
	if cfg.Curve {
		s.mech = &curveMechanism{server: cfg.CurveServer, public: cfg.CurvePublicKey, secret: cfg.CurveSecretKey,
			serverKey: cfg.CurveServerKey, auth: &s.auth, props: props, metadata: s.readyMetadata}
		return s
	}
	if cfg.Plain {
		s.mech = &plainMechanism{server: cfg.PlainServer, username: bytes.Clone(cfg.PlainUsername),
			password: bytes.Clone(cfg.PlainPassword), auth: &s.auth, props: props,
			metadata: s.readyMetadata}
		return s
	}
	s.mech = &nullMechanism{ready: codec.AppendMetadataCommandBody(nil, codec.CmdReady, props...), metadata: s.readyMetadata, auth: &s.auth}
	return s
}

func checkConfig(cfg *Config) error {
	if len(cfg.Identity) > 255 {
		return &Error{Op: "config", Err: ErrInvalidConfig, Detail: "Identity longer than 255 bytes"}
	}
	if len(cfg.PlainUsername) > 255 || len(cfg.PlainPassword) > 255 {
		return &Error{Op: "config", Err: ErrInvalidConfig, Detail: "PLAIN username or password longer than 255 bytes"}
	}
	for _, p := range cfg.Properties {
		if !validPropertyName(p.Name) {
			return &Error{Op: "config", Err: ErrInvalidConfig, Detail: "property name " + quote(p.Name)}
		}
	}
	return nil
}

// validPropertyName follows rfc 37: name-char = ALPHA | DIGIT | "-" | "_" | "." | "+".
func validPropertyName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == '+':
		default:
			return false
		}
	}
	return true
}

// Start appends the first step of our greeting, its 10-byte signature (with NoGreeting the
// mechanism's first command instead), to out and arms the handshake timer. Write it at once: never
// wait for the peer first. Read appends the other steps as the peer's greeting arrives. Calls after
// the first append nothing. It appends nothing when the Config was invalid (see NewSession).
//
// The greeting goes out in steps so that a ZMTP 1.0 or 2.0 peer is refused by name
// (*codec.VersionError) rather than with an EOF. A 2.0 peer (libzmq 3.2, JeroMQ 0.3) reads a
// 12-byte greeting (signature, revision, socket type) and decodes what follows as 2.0 frames: sent
// whole, our 64 bytes make it hang up on garbage before its revision byte reaches us. So the rest
// of our greeting (minor version, mechanism, as-server) waits for the peer's major version, as rfc
// 23's version negotiation has it ("read the first eleven octets ..., and determine whether to
// downgrade or not").
//
// Our major version goes out when libzmq sends its own: once the peer's signature is in. Not with
// the signature, as rfc 23's "Detecting ZMTP 2.0 Peers" allows: libzmq would get our signature and
// major version together and answer with its major version and rest together; we would then send
// our rest and READY together, and libzmq, which reads the end of a greeting and the command after
// it in one go before it writes its own READY, would refuse an incompatible socket type by closing
// before we saw its READY (an EOF, not a clear refusal). For the same reason the accepting side
// (Config.Accepted), which usually has the dialler's signature already at Start, holds its major
// version back until the peer's has arrived and sends it with the rest: the peer then has our
// whole greeting before we have its, and writes its READY before it reads ours. Only one side may
// wait like that, or two zloop peers would wait for each other. A 3.x peer thus sees libzmq's
// steps, with one half round trip more when zloop accepts.
func (s *Session) Start(now time.Time, out []byte) []byte {
	if s.started || s.state == stFailed {
		return out
	}
	s.started = true
	if s.handshake > 0 {
		s.handshakeAt = now.Add(s.handshake)
	}
	if s.bare {
		s.peer.Major, s.peer.Minor, s.peer.Mechanism = 3, 1, MechanismNull
		s.state = stHandshake
		return s.wire.frame(out, 0, s.auth.identity)
	}
	if s.noGreeting {
		out, err := s.greeted(codec.Greeting{Major: 3, Minor: 1, Mechanism: s.mech.name()}, out)
		if err != nil {
			s.fail(err) // a ZAP check that answered at once and refused; Read reports it
		}
		return out
	}
	return s.sendGreeting(out, codec.SignatureSize)
}

// sendGreeting appends our greeting up to byte upTo, unless that much went out already.
func (s *Session) sendGreeting(out []byte, upTo int) []byte {
	if s.sent >= upTo {
		return out
	}
	g := codec.Greeting{Major: 3, Minor: 1, Mechanism: s.mech.name(), AsServer: s.asServer()}
	out = codec.AppendGreetingPart(out, g, s.sent, upTo)
	s.sent = upTo
	return out
}

// Read consumes as much of in as it can and returns how many bytes it consumed; the caller
// discards exactly those and offers the rest again, with newly arrived bytes appended, on the next
// call. A partial greeting, frame header or command stays unconsumed; message frame bodies are
// streamed to h as they arrive. Read appends to out what must be written (the rest of our greeting
// once the peer's head is in, the mechanism's commands once its whole greeting is in, PONGs, an
// ERROR) and returns the extended slice.
//
// If err != nil the session has failed for good: write outAfter (it may end with an ERROR
// command), then close the connection. A received ERROR command yields *PeerError. Calls after a
// failure return 0, out and the same error. A Read before Start calls Start first.
//
// h must not be nil. Slices passed to h alias in and are valid only during the h call; Read
// keeps no reference to in or out after it returns. Any byte offered beyond those left
// unconsumed by the previous Read counts as traffic for the heartbeat timers.
func (s *Session) Read(in []byte, now time.Time, out []byte, h Handler) (n int, outAfter []byte, err error) {
	if s.state == stFailed {
		return 0, out, s.err
	}
	if !s.started {
		out = s.Start(now, out)
	}
	if len(in) > s.leftover {
		// Like libzmq, traffic of any kind proves the peer alive.
		s.timeoutAt = time.Time{}
		s.ttlAt = time.Time{}
	}
	n, out, err = s.read(in, now, out, h)
	s.leftover = len(in) - n
	if err != nil {
		s.fail(err)
	}
	return n, out, err
}

func (s *Session) read(in []byte, now time.Time, out []byte, h Handler) (int, []byte, error) {
	n := 0
	for {
		if s.auth.waiting() {
			return n, out, nil // waiting for ZAP: the rest stays with the caller (Authorized)
		}
		b := in[n:]
		if s.state == stGreeting {
			if s.sent < codec.GreetingSize {
				// The peer's signature alone decides whether our major version goes out, so
				// that what we write does not depend on how its bytes arrive. ErrShort promises
				// a valid prefix: with SignatureSize bytes, a valid signature.
				sig := b[:min(len(b), codec.SignatureSize)]
				if _, err := codec.ParseGreetingHead(sig); !errors.Is(err, codec.ErrShort) {
					return n, out, err
				}
				if len(sig) == codec.SignatureSize && !s.accepted {
					out = s.sendGreeting(out, codec.GreetingHeadSize)
				}
				if _, err := codec.ParseGreetingHead(b); err != nil {
					if errors.Is(err, codec.ErrShort) {
						err = nil
					}
					return n, out, err
				}
				out = s.sendGreeting(out, codec.GreetingSize)
			}
			g, m, err := codec.ParseGreeting(b)
			if errors.Is(err, codec.ErrShort) {
				return n, out, nil
			}
			if err != nil {
				return n, out, err
			}
			n += m
			if out, err = s.greeted(g, out); err != nil {
				return n, out, err
			}
			continue
		}

		if s.holding == holdCommand {
			// A large CURVE MESSAGE, gathered across reads (see below).
			k := min(len(b), s.holdLeft)
			s.held = append(s.held, b[:k]...)
			s.holdLeft -= k
			n += k
			if s.holdLeft > 0 || len(b) == 0 {
				return n, out, nil
			}
			s.holding = holdNone
			out, err := s.heldCommand(now, out, h)
			if err != nil {
				return n, out, err
			}
			continue
		}

		if s.inFrame {
			if len(b) == 0 {
				return n, out, nil
			}
			k := len(b)
			if uint64(k) > s.bodyLeft {
				k = int(s.bodyLeft)
			}
			s.bodyLeft -= uint64(k)
			n += k
			last := s.bodyLeft == 0
			h.FrameData(b[:k:k], last)
			if last {
				s.endFrame()
			}
			continue
		}

		if len(b) == 0 {
			return n, out, nil
		}
		limit := s.maxMsg
		command := b[0]&codec.FlagCommand != 0
		if s.cipher != nil {
			// Only MESSAGE commands now, whatever the frame's COMMAND flag says (libzmq sends
			// them as data frames), bounded by what they carry rather than by the command
			// limit: MAXMSGSIZE (what is left of it) plus the box's overhead.
			if limit >= 0 {
				limit += int64(codec.CurveMessageOverhead) - s.msgTotal
			}
		} else if command {
			limit = int64(s.maxCmd)
		} else if limit >= 0 {
			limit -= s.msgTotal
		}
		hdr, m, err := codec.ParseFrameHeader(b, limit)
		if err != nil {
			if errors.Is(err, codec.ErrShort) {
				err = nil
			}
			return n, out, err
		}
		if limit >= 0 && hdr.Size > uint64(limit) || hdr.Size > math.MaxInt-uint64(m) {
			// ParseFrameHeader already enforces limit; this keeps the int conversions below safe
			// whatever it does.
			return n, out, &Error{Op: "frame", Err: ErrTooLarge}
		}
		size := int(hdr.Size)

		if hdr.Command() || s.cipher != nil {
			if len(b) < m+size {
				if s.cipher != nil && size >= curveGatherMin {
					// A MESSAGE opens only whole. Rather than wait until the caller's buffer holds
					// all of it (offered again and again as it grows), gather it here as it
					// arrives, once the Handler has room for what it may start: its box is opened
					// once.
					r, ok := h.(Roomer)
					if !ok {
						return n, out, nil
					}
					if !s.inMsg && !r.Room() {
						return n, out, nil
					}
					n += m
					s.hold(holdCommand, size)
					continue
				}
				return n, out, nil
			}
			n += m + size
			if out, err = s.command(b[m:m+size:m+size], now, out, h); err != nil {
				if err == errNotNow {
					return n - (m + size), out, nil // offered again when there is room
				}
				return n, out, err
			}
			continue
		}

		if s.bare && s.state == stHandshake {
			// The peer's routing id, whole, before anything else.
			if size > 255 || hdr.More() {
				return n, out, &Error{Op: "handshake", Err: ErrUnexpectedMessage, Detail: "bad routing id frame"}
			}
			if len(b) < m+size {
				return n, out, nil
			}
			s.peer.Identity = bytes.Clone(b[m : m+size])
			n += m + size
			if err := s.becomeReady(now, h); err != nil {
				return n, out, err
			}
			continue
		}
		if s.state != stReady {
			return n, out, &Error{Op: "frame", Err: ErrUnexpectedMessage}
		}
		if s.msgFrames >= s.maxFrames {
			return n, out, &Error{Op: "frame", Err: ErrTooManyFrames}
		}
		first := !s.inMsg
		if !h.Frame(size, hdr.More(), first) && first {
			return n, out, nil
		}
		n += m
		s.inMsg = true
		s.msgFrames++
		s.msgTotal += int64(size)
		s.frameMore = hdr.More()
		if len(b)-m >= size {
			// The whole body is here (always so for a 0-byte frame): one call, no streaming state.
			n += size
			h.FrameData(b[m:m+size:m+size], true)
			s.endFrame()
			continue
		}
		s.inFrame = true
		s.bodyLeft = uint64(size)
	}
}

// FrameStart begins a frame of a transport that delimits frames itself (ZWS 2.0; see
// Config.Framer): flags are ZMTP's (FlagMore, FlagCommand), size the body's length. It applies
// what Read applies to a ZMTP frame header: MAXMSGSIZE, the command and frame-count limits, and
// the handshake's rules, all before any byte of the body is taken. ok is false without an error
// when h refused the first frame of a message (its queue is full): offer the same frame again
// later. After a true ok, FrameBody passes the body. Start must have been called. An error fails
// the session for good, as with Read. Like every byte Read takes, a frame is traffic for the
// heartbeat timers.
func (s *Session) FrameStart(flags byte, size int, now time.Time, h Handler) (ok bool, err error) {
	if s.state == stFailed {
		return false, s.err
	}
	ok, err = s.frameStart(flags, size, h)
	if err != nil {
		return false, s.fail(err)
	}
	if ok {
		s.Alive()
	}
	return ok, nil
}

func (s *Session) frameStart(flags byte, size int, h Handler) (bool, error) {
	if s.auth.waiting() {
		return false, nil // waiting for ZAP: offer the frame again after Authorized
	}
	if s.inFrame || s.holding != holdNone {
		return false, &Error{Op: "frame", Err: codec.ErrMalformed, Detail: "a frame started inside another"}
	}
	if size < 0 {
		return false, &Error{Op: "frame", Err: codec.ErrMalformed, Detail: "negative frame size"}
	}
	if s.cipher != nil {
		// Every frame is a MESSAGE, with or without the COMMAND flag (see read).
		if s.maxMsg >= 0 && int64(size) > s.maxMsg-s.msgTotal+int64(codec.CurveMessageOverhead) {
			return false, &Error{Op: "frame", Err: ErrTooLarge}
		}
		if r, ok := h.(Roomer); ok && !s.inMsg && !r.Room() {
			return false, nil // the frame inside may start a message: not before there is room
		}
		s.hold(holdCommand, size)
		return true, nil
	}
	if flags&codec.FlagCommand != 0 {
		if size > s.maxCmd {
			return false, &Error{Op: "command", Err: ErrTooLarge, Detail: "command frame of " + strconv.Itoa(size) + " bytes"}
		}
		s.hold(holdCommand, size)
		return true, nil
	}
	more := flags&codec.FlagMore != 0
	if s.bare && s.state == stHandshake {
		if size > 255 || more {
			return false, &Error{Op: "handshake", Err: ErrUnexpectedMessage, Detail: "bad routing id frame"}
		}
		s.hold(holdID, size)
		return true, nil
	}
	if s.state != stReady {
		return false, &Error{Op: "frame", Err: ErrUnexpectedMessage}
	}
	if s.maxMsg >= 0 && int64(size) > s.maxMsg-s.msgTotal {
		return false, &Error{Op: "frame", Err: ErrTooLarge}
	}
	if s.msgFrames >= s.maxFrames {
		return false, &Error{Op: "frame", Err: ErrTooManyFrames}
	}
	first := !s.inMsg
	if !h.Frame(size, more, first) && first {
		return false, nil
	}
	s.inMsg = true
	s.msgFrames++
	s.msgTotal += int64(size)
	s.frameMore = more
	s.inFrame = true
	s.bodyLeft = uint64(size)
	return true, nil
}

// curveGatherMin: a CURVE MESSAGE at least this large that has not arrived whole is gathered in
// held as it arrives (see read).
const curveGatherMin = 64 << 10

// maxHeldReserve bounds what hold reserves up front: a size announced by the peer is only a claim
// (without MAXMSGSIZE nothing bounds it), so beyond this the buffer grows as the bytes come.
const maxHeldReserve = 16 << 20

func (s *Session) hold(k holdKind, size int) {
	s.holding, s.holdLeft = k, size
	if r := min(size, maxHeldReserve); cap(s.held) < r {
		s.held = make([]byte, 0, r)
	}
	s.held = s.held[:0]
}

// heldCommand acts on the command (or CURVE MESSAGE) gathered whole in held, then lets go of a
// held buffer above maxKeptBuffer, as of the other CURVE scratch buffers: a steady stream below it
// allocates nothing, and one large message does not stay with the connection for its life.
func (s *Session) heldCommand(now time.Time, out []byte, h Handler) ([]byte, error) {
	out, err := s.command(s.held, now, out, h)
	if cap(s.held) > maxKeptBuffer {
		s.held = nil
	}
	if err == errNotNow {
		err = errRoomLied // room was asked before the gathering began
	}
	return out, err
}

// errRoomLied: a Roomer said it had room and then refused the frame.
var errRoomLied = &Error{Op: "message", Err: ErrUnexpectedMessage, Detail: "a CURVE MESSAGE refused after Room said yes"}

// FrameBody passes body bytes of the frame FrameStart began, in order, possibly in several
// pieces; last marks the final piece (a 0-byte body gets one call with an empty p). The session
// counts the bytes itself: the piece that completes the body ends the frame, an empty piece
// changes nothing, and a piece beyond the body or a last piece short of it fails the session. A
// message frame's bytes stream to h.FrameData; a command is collected and handled at its end,
// appending what must be written (a PONG, an ERROR, the handshake's next command) to out. p is
// not kept.
func (s *Session) FrameBody(p []byte, last bool, now time.Time, out []byte, h Handler) ([]byte, error) {
	if s.state == stFailed {
		return out, s.err
	}
	out, err := s.frameBody(p, last, now, out, h)
	if err != nil {
		return out, s.fail(err)
	}
	return out, nil
}

var errBodySize = &Error{Op: "frame", Err: codec.ErrMalformed, Detail: "body does not match its frame's size"}

func (s *Session) frameBody(p []byte, last bool, now time.Time, out []byte, h Handler) ([]byte, error) {
	switch {
	case s.holding != holdNone:
		if len(p) > s.holdLeft || (last && len(p) != s.holdLeft) {
			return out, errBodySize
		}
		s.held = append(s.held, p...)
		s.holdLeft -= len(p)
		if s.holdLeft > 0 {
			return out, nil
		}
		k := s.holding
		s.holding = holdNone
		if k == holdID {
			s.peer.Identity = bytes.Clone(s.held)
			return out, s.becomeReady(now, h)
		}
		return s.heldCommand(now, out, h)
	case s.inFrame:
		if uint64(len(p)) > s.bodyLeft || (last && uint64(len(p)) != s.bodyLeft) {
			return out, errBodySize
		}
		if len(p) == 0 && s.bodyLeft > 0 {
			return out, nil
		}
		s.bodyLeft -= uint64(len(p))
		done := s.bodyLeft == 0
		h.FrameData(p, done)
		if done {
			s.endFrame()
		}
		return out, nil
	case len(p) == 0:
		return out, nil // the caller's closing piece of a body already complete
	}
	return out, errBodySize
}

func (s *Session) endFrame() {
	s.inFrame = false
	if !s.frameMore {
		s.inMsg = false
		s.msgFrames = 0
		s.msgTotal = 0
	}
}

func (s *Session) greeted(g codec.Greeting, out []byte) ([]byte, error) {
	s.peer.Major, s.peer.Minor, s.peer.Mechanism = g.Major, g.Minor, g.Mechanism
	if g.Mechanism != s.mech.name() {
		switch g.Mechanism {
		case MechanismNull, MechanismPlain, MechanismCurve:
			return out, &Error{Op: "greeting", Err: ErrMechanismMismatch,
				Detail: "we use " + s.mech.name() + ", peer uses " + g.Mechanism}
		}
		return out, &Error{Op: "greeting", Err: ErrUnsupportedMechanism, Detail: quote(g.Mechanism)}
	}
	s.state = stHandshake
	return s.mech.start(&s.wire, out)
}

// libzmqBadError is how libzmq 4.3 spells the ERROR it sends when ZAP refuses a client: its C
// literal "\x05ERROR" takes the E as a hex digit, which gives 0x5E, "RROR", then the reason.
var libzmqBadError = []byte{0x5E, 'R', 'R', 'O', 'R'}

// appendLibzmqPlainError appends the body of an ERROR as libzmq 4.3's PLAIN mechanism spells it,
// the only spelling its PLAIN client takes for an ERROR (plain_common.hpp's error_prefix).
func appendLibzmqPlainError(dst []byte, reason string) []byte {
	dst = append(dst, libzmqBadError...)
	dst = append(dst, byte(len(reason)))
	return append(dst, reason...)
}

func (s *Session) command(body []byte, now time.Time, out []byte, h Handler) ([]byte, error) {
	if s.cipher != nil && s.state == stReady {
		return s.curveMessage(body, now, out, h)
	}
	var c codec.Command
	if s.state == stHandshake && bytes.HasPrefix(body, libzmqBadError) {
		c = codec.Command{Name: []byte(codec.CmdError), Data: body[len(libzmqBadError):]} // read it as meant
	} else {
		var err error
		if c, err = codec.ParseCommand(body); err != nil {
			return out, err
		}
	}
	if c.Is(codec.CmdError) {
		reason, err := codec.ParseError(c.Data)
		if err != nil {
			return out, err
		}
		_, plain := s.mech.(*plainMechanism)
		// A PLAIN or CURVE client reads the server's ERROR as a refusal, and libzmq reports an
		// ERROR whose reason is a ZAP status code as an authentication failure whatever the
		// mechanism (mechanism_base_t::handle_error_reason).
		_, curve := s.mech.(*curveMechanism)
		refused := s.state == stHandshake && ((plain || curve) && !s.asServer() || zapStatusReason(string(reason)) != 0)
		return out, &PeerError{Reason: string(reason), Refused: refused}
	}
	if s.state == stHandshake {
		var err error
		if out, err = s.mech.command(&s.wire, c, out); err != nil {
			return out, err
		}
		if !s.mech.done() {
			return out, nil
		}
		return out, s.becomeReady(now, h)
	}
	return s.readyCommand(c, now, out, h)
}

// readyCommand handles a command after the handshake (for CURVE, one that came out of a MESSAGE).
func (s *Session) readyCommand(c codec.Command, now time.Time, out []byte, h Handler) ([]byte, error) {
	switch {
	case c.Is(codec.CmdPing):
		ttl, ctx, err := codec.ParsePing(c.Data)
		if err != nil {
			return out, err
		}
		out = s.wire.pong(out, ctx)
		if ttl > 0 {
			s.ttlAt = now.Add(time.Duration(ttl) * 100 * time.Millisecond)
		}
	case c.Is(codec.CmdPong):
	case c.Is(codec.CmdReady):
		return out, unexpectedCommand("command", c)
	default:
		h.Command(c)
	}
	return out, nil
}

// readyMetadata takes the peer's READY properties and checks its socket type.
func (s *Session) readyMetadata(data []byte, out []byte) ([]byte, error) {
	props, err := internProps(data)
	if err != nil {
		return out, err
	}
	// The last of the names that match, in the order they came, as when the map was filled.
	var typ, id []byte
	hasType := false
	_ = codec.ParseMetadata(data, func(name, _ []byte) error {
		switch {
		case strings.EqualFold(string(name), PropSocketType):
			typ, hasType = props[string(name)], true
		case strings.EqualFold(string(name), PropIdentity):
			id = props[string(name)]
		}
		return nil
	})
	if !hasType {
		return out, &Error{Op: "handshake", Err: ErrMissingSocketType}
	}
	s.peer.SocketType = string(typ)
	s.peer.Properties = props
	if len(id) > 0 {
		s.peer.Identity = id
	}
	if s.compatible != nil && !s.compatible(s.peer.SocketType) {
		out = s.wire.error(out, errorInvalidSocketType)
		return out, &IncompatibleError{Ours: s.socketType, Peer: s.peer.SocketType}
	}
	return out, nil
}

// Tick runs the timers; call it at NextDeadline (earlier or later is harmless). It fails with
// ErrHandshakeTimeout when the handshake is not done in time, and with ErrHeartbeatTimeout when
// nothing arrived for HeartbeatTimeout after one of our PINGs or for the TTL of the peer's last
// PING. After the handshake it appends a PING every HeartbeatIvl: whole command frames, which
// the caller must write between frames of its own outgoing messages, never inside one.
// On error, close the connection; later calls return the same error. Like Read, it only
// appends to out and keeps no reference to it.
func (s *Session) Tick(now time.Time, out []byte) ([]byte, error) {
	if s.state == stFailed {
		return out, s.err
	}
	switch {
	case due(s.handshakeAt, now):
		return out, s.fail(&Error{Op: "handshake", Err: ErrHandshakeTimeout})
	case due(s.ttlAt, now):
		return out, s.fail(&Error{Op: "heartbeat", Err: ErrHeartbeatTimeout, Detail: "peer's TTL expired"})
	case due(s.timeoutAt, now):
		return out, s.fail(&Error{Op: "heartbeat", Err: ErrHeartbeatTimeout, Detail: "no answer to PING"})
	}
	if due(s.pingAt, now) {
		out = s.wire.ping(out, s.hbTTL, nil)
		s.pingAt = now.Add(s.hbIvl)
		if s.timeoutAt.IsZero() && s.hbTimeout > 0 {
			s.timeoutAt = now.Add(s.hbTimeout)
		}
	}
	return out, nil
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// NextDeadline returns when Tick must run next; the zero time means no timer is armed.
func (s *Session) NextDeadline() time.Time {
	if s.state == stFailed {
		return time.Time{}
	}
	var d time.Time
	for _, t := range [...]time.Time{s.handshakeAt, s.ttlAt, s.timeoutAt, s.pingAt} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

func (s *Session) fail(err error) error {
	if s.state != stFailed {
		s.state, s.err = stFailed, err
	}
	return s.err
}

// Alive tells the session that the peer showed signs of life outside the ZMTP stream (a WebSocket
// pong or ping, which ZWS peers such as libzmq use as their heartbeats): it counts as traffic for
// the heartbeat timers, like any byte Read.
func (s *Session) Alive() {
	s.timeoutAt = time.Time{}
	s.ttlAt = time.Time{}
}

// Ready reports whether the handshake has completed (and the session has not failed since).
func (s *Session) Ready() bool { return s.state == stReady }

// Peer returns the peer's description once the handshake has completed, else nil. The Peer is
// owned by the session and does not change afterwards.
func (s *Session) Peer() *Peer {
	if !s.handshaken {
		return nil
	}
	return &s.peer
}

// plainServer reports whether we are a PLAIN server (announced as-server in our greeting).
func (s *Session) plainServer() bool {
	pm, ok := s.mech.(*plainMechanism)
	return ok && pm.server
}

// asServer reports whether we announce as-server in our greeting: a PLAIN or CURVE server.
func (s *Session) asServer() bool {
	cm, ok := s.mech.(*curveMechanism)
	return s.plainServer() || ok && cm.server
}

// becomeReady ends the handshake: messages flow from here, heartbeats start, and h learns the peer.
func (s *Session) becomeReady(now time.Time, h Handler) error {
	s.auth.grant(&s.peer)
	if cm, ok := s.mech.(*curveMechanism); ok {
		s.cipher = cm.cipher
		s.wire.seal = &CurveSealer{c: s.cipher}
	}
	if _, ok := s.mech.(*nullMechanism); ok {
		// Its READY and its callback are of no use any more; one finished NULL for all sessions.
		s.mech = nullFinished
	}
	s.state = stReady
	s.handshaken = true
	s.handshakeAt = time.Time{}
	if s.hbIvl > 0 {
		s.pingAt = now.Add(s.hbIvl)
	}
	return h.Ready(&s.peer)
}

// Sealer returns what boxes frames into CURVE MESSAGE commands once a CURVE handshake has
// completed, else nil. Everything sent on the connection after the handshake must go through it
// (the session's own PINGs and PONGs do), in wire order: the transport calls it from whichever
// goroutine writes, one at a time. It lives as long as the session.
func (s *Session) Sealer() *CurveSealer { return s.wire.seal } // set with cipher, in becomeReady

// InMessage reports whether a message has been partly delivered: its first frame was announced
// and its last frame's body has not been fully delivered.
func (s *Session) InMessage() bool { return s.inMsg }

// Err returns the error that failed the session, or nil.
func (s *Session) Err() error { return s.err }

// AuthRequest returns the ZAP request the session waits on, or nil. It is the same pointer from
// the moment Read (or FrameBody, Start) produced it until Authorized: an owner passes each new one
// on once (set Address first). While it is pending, Read consumes nothing and FrameStart refuses
// every frame without an error; the handshake timer (HandshakeTimeout) keeps running.
func (s *Session) AuthRequest() *ZAPRequest {
	if s.state == stFailed {
		return nil
	}
	return s.auth.pending
}

// Authorized answers the pending ZAP request and resumes the handshake: it appends what must be
// written (the mechanism's next command, or an ERROR with the status code) to out, and completes
// the handshake (calling h.Ready) when that was the last step. reply nil means there is no ZAP
// handler at all: NULL and CURVE admit the client unless ZAPEnforceDomain, PLAIN refuses it
// (ErrNoZAPHandler, no ERROR), as libzmq does. 400 and 500 fail with ERROR and *AuthError. A 300
// returns an *AuthError with Temporary set but does not fail the session: as libzmq 4.3 does, it
// sends nothing, consumes no more input (Silenced) and lets the handshake timer end the connection
// (report the refusal now, then wait for Tick's ErrHandshakeTimeout). a reply with a Version other than "" or "1.0", a
// non-nil RequestID other than the request's, or another status code fails with *ZAPError. Then
// offer the unconsumed input again (Read, or the frames FrameStart refused). An error fails the
// session for good, as with Read.
func (s *Session) Authorized(reply *ZAPReply, now time.Time, out []byte, h Handler) ([]byte, error) {
	if s.state == stFailed {
		return out, s.err
	}
	req := s.auth.pending
	if req == nil {
		return out, s.fail(&Error{Op: "handshake", Err: ErrUnexpectedReply})
	}
	if reply != nil {
		switch {
		case reply.Version != "" && reply.Version != ZAPVersion:
			return out, s.fail(zapErr("version " + quote(reply.Version)))
		case reply.RequestID != nil && !bytes.Equal(reply.RequestID, req.RequestID):
			return out, s.fail(zapErr("request id " + quote(string(reply.RequestID))))
		}
	}
	out, err := s.auth.answer(&s.wire, reply, out)
	if err == nil && s.auth.pending == nil && s.mech.done() {
		err = s.becomeReady(now, h)
	}
	if s.auth.silenced {
		return out, err
	}
	if err != nil {
		return out, s.fail(err)
	}
	return out, nil
}

// Silenced reports that a ZAP 300 left the session waiting, silent, for its handshake timer.
func (s *Session) Silenced() bool { return s.state != stFailed && s.auth.silenced }

// The property maps of the READY commands lately seen, by the command's metadata bytes. A server
// with many peers of one kind (thousands of DEALERs or SUBs that send the same READY) keeps one
// map for them all instead of one each: a Go map, even of one property, takes some 400 bytes, an
// eighth of what an idle connection costs. Only small metadata is kept, at most internMax
// entries, and the set starts over when it is full, so peers that all differ (each with its own
// Identity) cost a lookup and nothing more. The maps are never written once built (Peer.Properties
// is read-only; authorizer.grant copies before it adds ZAP's properties).
const (
	internMax     = 64
	internMaxData = 256
)

var interned struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
}

// internProps parses metadata into a map of its properties, values copied (an empty value is
// non-nil), or returns the map built before from the same bytes.
func internProps(data []byte) (map[string][]byte, error) {
	small := len(data) <= internMaxData
	if small {
		interned.mu.Lock()
		props, ok := interned.m[string(data)]
		interned.mu.Unlock()
		if ok {
			return props, nil
		}
	}
	props := make(map[string][]byte)
	err := codec.ParseMetadata(data, func(name, value []byte) error {
		v := bytes.Clone(value)
		if v == nil {
			v = []byte{}
		}
		props[string(name)] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	if small {
		interned.mu.Lock()
		if len(interned.m) >= internMax || interned.m == nil {
			interned.m = make(map[string]map[string][]byte, internMax)
		}
		interned.m[string(data)] = props
		interned.mu.Unlock()
	}
	return props, nil
}
