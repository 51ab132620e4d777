package zmtp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/zloop/zloop/codec"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// CURVE (rfc 26 over ZMTP): the client proves it knows the server's long-term key S in HELLO, the
// server answers WELCOME with a transient key S' and a cookie that holds its own per-connection
// state (sealed with a cookie key that never leaves the server), the client sends INITIATE with the
// cookie, its long-term key C and a vouch (C' and S boxed from C to S'), and the server READY. From
// then on every frame, commands included, travels boxed in a MESSAGE between the transient keys.
//
// Nonces as libzmq: 24 bytes, a 16-byte prefix naming the command and the 8-byte big-endian short
// nonce, which starts at 1 on each side and strictly increases over the connection (HELLO 1,
// INITIATE 2, the client's messages from 3; READY 1, the server's messages from 2). Long nonces
// (WELCOME, cookie, vouch) are an 8-byte prefix and 16 random bytes.

const (
	noncePrefixHello    = "CurveZMQHELLO---"
	noncePrefixWelcome  = "WELCOME-"
	noncePrefixInitiate = "CurveZMQINITIATE"
	noncePrefixReady    = "CurveZMQREADY---"
	noncePrefixMessageC = "CurveZMQMESSAGEC" // what the client sends
	noncePrefixMessageS = "CurveZMQMESSAGES" // what the server sends
	noncePrefixVouch    = "VOUCH---"
	noncePrefixCookie   = "COOKIE--"
)

// curveMechanism is both sides of CURVE's handshake; cipher takes over once it is done.
type curveMechanism struct {
	server    bool
	public    CurveKey // C or S
	secret    CurveKey // c or s
	serverKey CurveKey // client: S
	// auth (server) asks ZAP about a client once INITIATE has proven it holds the secret of its
	// long-term key (zap.go; without a handler every client is admitted, as in libzmq).
	auth     *authorizer
	props    []codec.Property
	metadata metadataFunc

	tPublic, tSecret CurveKey // our transient key pair, erased at the end
	peerT            CurveKey // the peer's transient key
	cookieKey        [32]byte // server: this connection's cookie key, erased at the end
	cookie           [codec.CurveCookieSize]byte
	cipher           *curveCipher // set once the transient keys are known
	step             int
	finished         bool
	peerKey          CurveKey // server: C, once INITIATE proved it
	scratch          []byte
}

func (m *curveMechanism) name() string { return MechanismCurve }

func newCurveCipher(server bool, peerT, ourSecret *CurveKey) *curveCipher {
	c := &curveCipher{next: 1}
	box.Precompute(&c.shared, (*[32]byte)(peerT), (*[32]byte)(ourSecret))
	if server {
		c.send, c.recv = noncePrefixMessageS, noncePrefixMessageC
	} else {
		c.send, c.recv = noncePrefixMessageC, noncePrefixMessageS
	}
	return c
}

func shortNonce(prefix string, n uint64) *[24]byte {
	var nonce [24]byte
	copy(nonce[:], prefix)
	binary.BigEndian.PutUint64(nonce[16:], n)
	return &nonce
}

func longNonce(prefix string, random []byte) *[24]byte {
	var nonce [24]byte
	copy(nonce[:], prefix)
	copy(nonce[8:], random)
	return &nonce
}

func randomLong() (r [16]byte) {
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails (Go 1.24+: it crashes the program instead)
	return r
}

func cryptoError(detail string) error {
	return &Error{Op: "handshake", Err: ErrCryptographic, Detail: detail}
}

func (m *curveMechanism) start(w *wire, out []byte) ([]byte, error) {
	if m.server {
		return out, nil
	}
	pub, sec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return out, err // crypto/rand does not fail; should it, the handshake does
	}
	m.tPublic, m.tSecret = *pub, *sec
	clear(sec[:]) // the one copy left is m.tSecret, erased at the end

	m.cipher = newCurveCipher(false, &m.serverKey, &m.tSecret) // C' to S, for HELLO only
	h := codec.CurveHello{Major: 1, Minor: 0, Transient: m.tPublic, Nonce: m.cipher.next}
	var zero [64]byte
	box.SealAfterPrecomputation(h.Box[:0], zero[:], shortNonce(noncePrefixHello, m.cipher.next), &m.cipher.shared)
	m.cipher.next++
	m.scratch = codec.AppendCurveHello(m.scratch[:0], &h)
	return w.frame(out, codec.FlagCommand, m.scratch), nil
}

func (m *curveMechanism) command(w *wire, c codec.Command, out []byte) ([]byte, error) {
	if m.server {
		return m.serverCommand(w, c, out)
	}
	return m.clientCommand(w, c, out)
}

func (m *curveMechanism) clientCommand(w *wire, c codec.Command, out []byte) ([]byte, error) {
	switch {
	case m.step == 0 && c.Is(codec.CmdWelcome):
		wel, err := codec.ParseCurveWelcome(c.Data)
		if err != nil {
			return out, err
		}
		var plain [32 + codec.CurveCookieSize]byte
		if _, ok := box.Open(plain[:0], wel.Box[:], longNonce(noncePrefixWelcome, wel.Nonce[:]),
			(*[32]byte)(&m.serverKey), (*[32]byte)(&m.tSecret)); !ok {
			return out, cryptoError("WELCOME does not open")
		}
		copy(m.peerT[:], plain[:32])
		copy(m.cookie[:], plain[32:])
		next := m.cipher.next
		m.cipher = newCurveCipher(false, &m.peerT, &m.tSecret)
		m.cipher.next = next
		m.step++
		return m.initiate(w, out), nil
	case m.step == 1 && c.Is(codec.CmdReady):
		r, err := codec.ParseCurveReady(c.Data)
		if err != nil {
			return out, err
		}
		if r.Nonce <= m.cipher.last {
			return out, cryptoError("READY nonce not increasing")
		}
		plain, ok := box.OpenAfterPrecomputation(m.scratch[:0], r.Box, shortNonce(noncePrefixReady, r.Nonce), &m.cipher.shared)
		if !ok {
			return out, cryptoError("READY does not open")
		}
		m.scratch = plain
		m.cipher.last = r.Nonce
		if out, err = m.metadata(plain, out); err != nil {
			return out, err
		}
		m.step++
		m.finish()
		return out, nil
	}
	return out, unexpectedCommand("handshake", c)
}

// initiate appends the client's INITIATE: the cookie as received, and boxed from C' to S' our
// long-term key, the vouch and our metadata.
func (m *curveMechanism) initiate(w *wire, out []byte) []byte {
	vn := randomLong()
	var vouchPlain [64]byte
	copy(vouchPlain[:32], m.tPublic[:])
	copy(vouchPlain[32:], m.serverKey[:])
	plain := make([]byte, 0, 32+codec.CurveVouchSize+codec.MetadataLen(m.props...))
	plain = append(plain, m.public[:]...)
	plain = append(plain, vn[:]...)
	plain = box.Seal(plain, vouchPlain[:], longNonce(noncePrefixVouch, vn[:]), (*[32]byte)(&m.peerT), (*[32]byte)(&m.secret))
	plain = codec.AppendMetadata(plain, m.props...)
	in := codec.CurveInitiate{Cookie: m.cookie, Nonce: m.cipher.next}
	in.Box = box.SealAfterPrecomputation(nil, plain, shortNonce(noncePrefixInitiate, m.cipher.next), &m.cipher.shared)
	m.cipher.next++
	m.scratch = codec.AppendCurveInitiate(m.scratch[:0], &in)
	return w.frame(out, codec.FlagCommand, m.scratch)
}

func (m *curveMechanism) serverCommand(w *wire, c codec.Command, out []byte) ([]byte, error) {
	switch {
	case m.step == 0 && c.Is(codec.CmdHello):
		h, err := codec.ParseCurveHello(c.Data)
		if err != nil {
			return out, err
		}
		if h.Major != 1 || h.Minor != 0 {
			return out, &Error{Op: "handshake", Err: codec.ErrMalformed, Detail: "CURVE HELLO version is not 1.0"}
		}
		var zero [64]byte
		if _, ok := box.Open(zero[:0], h.Box[:], shortNonce(noncePrefixHello, h.Nonce),
			(*[32]byte)(&h.Transient), (*[32]byte)(&m.secret)); !ok {
			return out, cryptoError("HELLO does not open (the client has another server key)")
		}
		m.peerT = h.Transient
		m.cipher = &curveCipher{last: h.Nonce}
		out = m.welcome(w, out)
		m.step++
		return out, nil
	case m.step == 1 && c.Is(codec.CmdInitiate):
		return m.ready(w, c, out)
	}
	return out, unexpectedCommand("handshake", c)
}

// welcome appends WELCOME: a fresh transient key pair, whose secret half goes into the cookie
// (sealed with this connection's cookie key) rather than staying in the mechanism.
func (m *curveMechanism) welcome(w *wire, out []byte) []byte {
	pub, sec, _ := box.GenerateKey(rand.Reader)
	_, _ = rand.Read(m.cookieKey[:])
	var cookiePlain [64]byte
	copy(cookiePlain[:32], m.peerT[:])
	copy(cookiePlain[32:], sec[:])
	clear(sec[:])
	cn := randomLong()
	copy(m.cookie[:16], cn[:])
	secretbox.Seal(m.cookie[16:16], cookiePlain[:], longNonce(noncePrefixCookie, cn[:]), &m.cookieKey)
	clear(cookiePlain[:])

	var plain [32 + codec.CurveCookieSize]byte
	copy(plain[:32], pub[:])
	copy(plain[32:], m.cookie[:])
	wn := randomLong()
	wel := codec.CurveWelcome{Nonce: wn}
	box.Seal(wel.Box[:0], plain[:], longNonce(noncePrefixWelcome, wn[:]), (*[32]byte)(&m.peerT), (*[32]byte)(&m.secret))
	m.scratch = codec.AppendCurveWelcome(m.scratch[:0], &wel)
	return w.frame(out, codec.FlagCommand, m.scratch)
}

// ready checks INITIATE (cookie, box, vouch), asks authorize, takes the client's metadata and
// appends READY with ours.
func (m *curveMechanism) ready(w *wire, c codec.Command, out []byte) ([]byte, error) {
	in, err := codec.ParseCurveInitiate(c.Data)
	if err != nil {
		return out, err
	}
	var cookiePlain [64]byte
	if _, ok := secretbox.Open(cookiePlain[:0], in.Cookie[16:], longNonce(noncePrefixCookie, in.Cookie[:16]), &m.cookieKey); !ok {
		return out, cryptoError("INITIATE's cookie does not open")
	}
	defer clear(cookiePlain[:])
	if !bytes.Equal(cookiePlain[:32], m.peerT[:]) {
		return out, cryptoError("INITIATE's cookie is for another client key")
	}
	if in.Nonce <= m.cipher.last {
		return out, cryptoError("INITIATE nonce not increasing")
	}
	var tSecret CurveKey
	copy(tSecret[:], cookiePlain[32:])
	cipher := newCurveCipher(true, &m.peerT, &tSecret)
	clear(tSecret[:])
	plain, ok := box.OpenAfterPrecomputation(nil, in.Box, shortNonce(noncePrefixInitiate, in.Nonce), &cipher.shared)
	if !ok {
		return out, cryptoError("INITIATE does not open")
	}
	if len(plain) < 32+codec.CurveVouchSize {
		return out, &Error{Op: "handshake", Err: codec.ErrMalformed, Detail: "CURVE INITIATE box too short"}
	}
	var clientKey, serverT CurveKey
	copy(clientKey[:], plain[:32])
	copy(serverT[:], cookiePlain[32:]) // s', for the vouch
	var vouch [64]byte
	_, ok = box.Open(vouch[:0], plain[48:32+codec.CurveVouchSize], longNonce(noncePrefixVouch, plain[32:48]),
		(*[32]byte)(&clientKey), (*[32]byte)(&serverT))
	clear(serverT[:])
	if !ok {
		return out, cryptoError("INITIATE's vouch does not open")
	}
	if !bytes.Equal(vouch[:32], m.peerT[:]) || !bytes.Equal(vouch[32:], m.public[:]) {
		return out, cryptoError("INITIATE's vouch is for other keys")
	}
	cipher.last = in.Nonce
	m.cipher = cipher
	m.peerKey = clientKey
	metadata := plain[32+codec.CurveVouchSize:]
	return m.auth.ask(w, zapCurve, MechanismCurve, [][]byte{clientKey[:]}, out, func(w *wire, out []byte) ([]byte, error) {
		out, err := m.metadata(metadata, out)
		if err != nil {
			return out, err
		}
		meta := codec.AppendMetadata(m.scratch[:0], m.props...)
		r := codec.CurveBoxed{Nonce: m.cipher.next}
		r.Box = box.SealAfterPrecomputation(nil, meta, shortNonce(noncePrefixReady, m.cipher.next), &m.cipher.shared)
		m.cipher.next++
		m.scratch = codec.AppendCurveReady(meta[:0], &r)
		out = w.frame(out, codec.FlagCommand, m.scratch)
		m.step++
		m.finish()
		return out, nil
	})
}

// finish erases what the handshake no longer needs: transient secrets, the cookie key, the cookie.
// The cipher keeps only the shared key of the transient pair.
func (m *curveMechanism) finish() {
	clear(m.tSecret[:])
	clear(m.cookieKey[:])
	clear(m.cookie[:])
	m.scratch = nil
	m.finished = true
}

func (m *curveMechanism) done() bool { return m.finished }

// curveCipher boxes and opens MESSAGE commands between the transient keys once the handshake is
// done. Its sending half (next, sealBuf) is used by whoever writes the connection's bytes, in
// wire order, one at a time; its receiving half (last, plain) by the session's goroutine.
type curveCipher struct {
	shared     [32]byte // box.Precompute of the peer's transient public key and our transient secret
	send, recv string   // nonce prefixes
	next       uint64   // the short nonce of our next command
	last       uint64   // the peer's last short nonce
	sealBuf    []byte   // flags and body, for Seal; grows to the largest frame sent
	plain      []byte   // the last opened MESSAGE's plaintext; grows to the largest received
}

// curveFlags maps a MESSAGE's flags byte (rfc 26: bit 0 MORE, bit 1 COMMAND) to ZMTP's frame
// flags (FlagMore, FlagCommand), dropping every other bit.
func curveFlags(b byte) byte {
	var f byte
	if b&0x01 != 0 {
		f |= codec.FlagMore
	}
	if b&0x02 != 0 {
		f |= codec.FlagCommand
	}
	return f
}

// CurveSealer boxes frames into CURVE MESSAGE commands after the handshake (see Session.Sealer).
type CurveSealer struct{ c *curveCipher }

// AppendMessage appends a MESSAGE command body that carries one frame (ZMTP flags FlagMore,
// FlagCommand, and body) to dst: codec.CurveMessageOverhead bytes more than body. Each call takes
// the next short nonce, so the MESSAGEs must reach the wire in the order they were made; the peer
// closes the connection on any other. Not safe for concurrent use: the connection's writer calls
// it, one at a time (a happens-before edge between callers, such as a lock, is enough). No
// allocation once its scratch buffer has grown to the largest frame.
func (s *CurveSealer) AppendMessage(dst []byte, flags byte, body []byte) []byte {
	c := s.c
	var cf byte
	if flags&codec.FlagMore != 0 {
		cf |= 0x01
	}
	if flags&codec.FlagCommand != 0 {
		cf |= 0x02
	}
	c.sealBuf = append(append(c.sealBuf[:0], cf), body...)
	dst = codec.AppendCurveMessageHead(dst, c.next)
	var nonce [24]byte
	copy(nonce[:], c.send)
	binary.BigEndian.PutUint64(nonce[16:], c.next)
	c.next++
	dst = box.SealAfterPrecomputation(dst, c.sealBuf, &nonce, &c.shared)
	if cap(c.sealBuf) > maxKeptBuffer {
		c.sealBuf = nil
	}
	return dst
}

// open opens a MESSAGE's data into c.plain and returns the inner frame's flags and body (valid
// until the next open).
func (c *curveCipher) open(data []byte) (flags byte, body []byte, err error) {
	m, err := codec.ParseCurveMessage(data)
	if err != nil {
		return 0, nil, &Error{Op: opMessage, Err: err}
	}
	if m.Nonce <= c.last {
		return 0, nil, &Error{Op: opMessage, Err: ErrCryptographic, Detail: "MESSAGE nonce not increasing (replayed or reordered)"}
	}
	var nonce [24]byte
	copy(nonce[:], c.recv)
	binary.BigEndian.PutUint64(nonce[16:], m.Nonce)
	plain, ok := box.OpenAfterPrecomputation(c.plain[:0], m.Box, &nonce, &c.shared)
	if !ok {
		return 0, nil, &Error{Op: opMessage, Err: ErrCryptographic, Detail: "MESSAGE does not open"}
	}
	c.plain = plain
	c.last = m.Nonce
	// Only MORE (bit 0) and COMMAND (bit 1) count; the other bits are ignored, as libzmq ignores
	// them, and libzmq 4.3 leaves its own message flags there (a subscription's, for one).
	return curveFlags(plain[0]), plain[1:], nil
}

// Roomer is implemented by a Handler that can tell, before a frame is announced, whether it
// would take a new message (its queue has room). A CURVE session asks it before it takes a
// MESSAGE whose frame may start a message from a transport that delimits frames itself (ZWS):
// the frame inside is known only once the box is opened, and a box is opened once. Without it a
// Handler is assumed to have room.
type Roomer interface {
	// Room reports whether a new message would be taken now; false means the caller stops and
	// offers the frame again later, as when Frame refuses.
	Room() bool
}

// errNotNow: the frame inside a MESSAGE starts a message the Handler has no room for; Read offers
// the same bytes again later (and the session delivers what it opened then).
var errNotNow = &Error{Op: "message", Err: ErrUnexpectedMessage, Detail: "not now"}

// curveMessage opens a MESSAGE and delivers the frame inside it like a frame of its own.
func (s *Session) curveMessage(body []byte, now time.Time, out []byte, h Handler) ([]byte, error) {
	if !codec.IsCurveMessage(body) {
		c, err := codec.ParseCommand(body)
		if err != nil {
			return out, &Error{Op: opMessage, Err: err}
		}
		if c.Is(codec.CmdError) {
			reason, _ := codec.ParseError(c.Data)
			return out, &PeerError{Reason: string(reason)}
		}
		return out, &Error{Op: opMessage, Err: ErrUnexpectedCommand, Detail: quote(string(c.Name)) + " outside MESSAGE on a CURVE connection"}
	}
	var flags byte
	var inner []byte
	if s.reopened && len(body) >= codec.CurveMessageHead && binary.BigEndian.Uint64(body[8:]) == s.reopen {
		flags, inner = curveFlags(s.cipher.plain[0]), s.cipher.plain[1:]
	} else {
		var err error
		if flags, inner, err = s.cipher.open(body[8:]); err != nil {
			return out, err
		}
	}
	s.reopened = false
	if flags&codec.FlagCommand != 0 {
		c, err := codec.ParseCommand(inner)
		if err != nil {
			return out, err
		}
		if c.Is(codec.CmdError) {
			reason, err := codec.ParseError(c.Data)
			if err != nil {
				return out, err
			}
			return out, &PeerError{Reason: string(reason)}
		}
		return s.readyCommand(c, now, out, h)
	}
	if s.msgFrames >= s.maxFrames {
		return out, &Error{Op: "frame", Err: ErrTooManyFrames}
	}
	if s.maxMsg >= 0 && int64(len(inner)) > s.maxMsg-s.msgTotal {
		return out, &Error{Op: "frame", Err: ErrTooLarge}
	}
	more := flags&codec.FlagMore != 0
	first := !s.inMsg
	if !h.Frame(len(inner), more, first) && first {
		s.reopen, s.reopened = s.cipher.last, true
		return out, errNotNow
	}
	s.inMsg = true
	s.msgFrames++
	s.msgTotal += int64(len(inner))
	s.frameMore = more
	h.FrameData(inner, true)
	s.endFrame()
	if cap(s.cipher.plain) > maxKeptBuffer {
		s.cipher.plain = nil // one large message does not stay with the connection
	}
	return out, nil
}

// maxKeptBuffer: the CURVE scratch buffers (plaintext in and out, a ws MESSAGE) are kept between
// frames up to this size, so that a steady stream of frames up to it allocates nothing; a larger
// one is let go once used.
const maxKeptBuffer = 4 << 20
