package reactor

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/ws"
	"github.com/zloop/zloop/zmtp"
)

// wsConn is the ZWS 2.0 framer: the connection's bytes are WebSocket frames, each holding one ZMTP
// frame (a ZWS flags byte, then the body), and there is no ZMTP greeting (the subprotocol names
// the mechanism). The decoder's frames go to the session's frame-level entry (FrameStart,
// FrameBody), so limits, the handshake and heartbeats stay the session's, and the session writes
// its commands through AppendFrame. Loop-owned, like its conn, but for appendFrame and mask.
type wsConn struct {
	c        *conn
	server   bool
	upgraded bool // server: the 101 went out; client: always
	cfg      ws.ServerConfig
	dec      *ws.Decoder
	// A client masks every frame with a fresh key from a ChaCha8 stream seeded per connection from
	// crypto/rand: RFC 6455 wants keys a server or proxy cannot predict. Under maskMu because a
	// sender writing directly frames messages too.
	maskMu  sync.Mutex
	maskRNG *rand.ChaCha8 // nil on the server side
	held    []byte        // the session's first output (READY), held until the 101 answer went out

	// Per Feed: what the session wants written, the first error, and the time (read once).
	out []byte
	err error
	now time.Time
}

// newWSConn: proto is the subprotocol a client negotiated (a server learns it from the request).
func newWSConn(c *conn, server bool, path, proto string) *wsConn {
	w := &wsConn{c: c, server: server, upgraded: !server}
	c.framer = w
	if c.opts.Session.Curve {
		c.framer = &curveFramer{inner: w, c: c} // ZWS2.0/CURVE: each MESSAGE one WebSocket message
	}
	w.useProtocol(proto)
	if server {
		w.cfg = ws.ServerConfig{Path: path, Protocols: wsProtocols(&c.opts.Session)}
	} else {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails on Linux (getrandom)
		w.maskRNG = rand.NewChaCha8(seed)
	}
	// The session checks each frame against its own limit (MAXMSGSIZE for messages, the command
	// cap for commands) before taking a byte of it; the decoder's bound is only a backstop, so it
	// must let through whichever of the two is larger.
	limit := c.opts.Session.MaxMsgSize
	if limit <= 0 {
		limit = -1 // no limit, as zmtp.Config has it; the decoder's 0 would allow only empty frames
	} else {
		cmd := int64(c.opts.Session.MaxCommandSize)
		if cmd <= 0 {
			cmd = zmtp.DefaultMaxCommandSize
		}
		limit = max(limit, cmd)
		if c.opts.Session.Curve {
			limit += int64(codec.CurveMessageOverhead) // a whole message in one MESSAGE's box
		}
	}
	w.dec = ws.NewDecoder(server, limit)
	return w
}

// useProtocol gives the connection the session its subprotocol needs: ZWS2.0/NULL runs the NULL
// handshake (READY), bare ZWS2.0 none (each side sends its routing id first, as libzmq does).
func (w *wsConn) useProtocol(proto string) {
	cfg := w.c.opts.Session
	cfg.NoGreeting = true // the subprotocol names the mechanism; no greeting inside ZWS
	cfg.NoHandshake = proto == ws.ProtoBare
	cfg.Framer = w
	w.c.sess = zmtp.NewSession(&cfg)
}

// start runs in OnOpen: the session starts (its handshake timer too), but a server holds the READY
// until the upgrade is done: nothing may precede the 101 answer.
func (w *wsConn) start(now time.Time) {
	out := w.c.sess.Start(now, w.c.loop.scratch[:0])
	if w.server {
		w.held = append(w.held[:0], out...)
		return
	}
	w.c.writeOut(out)
}

// parse consumes in: the upgrade request first (server), then WebSocket frames.
func (w *wsConn) parse(in []byte) (int, error) {
	n := 0
	if !w.upgraded {
		proto, m, resp, err := ws.Accept(in, &w.cfg, w.c.loop.wsBuf[:0])
		if errors.Is(err, ws.ErrShort) {
			return 0, nil
		}
		var rej *ws.RejectError
		if errors.As(err, &rej) {
			w.c.write(rej.Response)
			return 0, err
		}
		if err != nil {
			return 0, err
		}
		w.c.write(resp)
		w.upgraded = true
		if proto == ws.ProtoBare {
			w.useProtocol(proto)
			w.held = w.c.sess.Start(time.Now(), w.held[:0])
		}
		w.c.writeOut(w.held)
		w.held = nil
		n = m
	}
	w.out, w.err, w.now = w.c.loop.scratch[:0], nil, time.Now()
	m, err := w.dec.Feed(in[n:], w)
	n += m
	if len(w.out) > 0 {
		w.c.writeOut(w.out)
	}
	if w.err != nil {
		return n, w.err
	}
	return n, err
}

// ws.Handler.

// Frame starts a message or command frame in the session; a refusal (the pipe is full) stops the
// decoder before this WebSocket message.
func (w *wsConn) Frame(zws byte, size int) bool {
	if w.err != nil {
		return false
	}
	ok, err := w.c.sess.FrameStart(zmtpFlags(zws), size, w.now, w.c)
	if err != nil {
		w.err = err
	}
	return ok
}

// FrameData streams the body to the session.
func (w *wsConn) FrameData(p []byte, last bool) {
	if w.err != nil {
		return
	}
	w.out, w.err = w.c.sess.FrameBody(p, last, w.now, w.out, w.c)
}

// Control answers pings and closes; pings and pongs are the peer's heartbeat traffic.
func (w *wsConn) Control(op byte, payload []byte) {
	switch op {
	case ws.OpPong:
		w.c.sess.Alive()
	case ws.OpPing:
		w.c.sess.Alive()
		var k [4]byte
		w.c.write(ws.AppendControl(w.c.loop.wsBuf[:0], ws.OpPong, payload, w.mask(&k)))
	case ws.OpClose:
		var k [4]byte
		w.c.write(ws.AppendControl(w.c.loop.wsBuf[:0], ws.OpClose, payload, w.mask(&k)))
		if w.err == nil {
			w.err = errWSClosed
		}
	}
}

var errWSClosed = errors.New("zmq: ws: peer closed the WebSocket")

// AppendFrame implements zmtp.Framer for what the session sends: each frame in a WebSocket
// message, except PING, which goes as a WebSocket ping: libzmq's ws engine does not answer the
// ZMTP PING command, and answers a WebSocket ping with a pong.
func (w *wsConn) AppendFrame(dst []byte, flags byte, body []byte) []byte {
	var k [4]byte
	if flags&codec.FlagCommand != 0 && isPing(body) {
		return ws.AppendControl(dst, ws.OpPing, nil, w.mask(&k))
	}
	return ws.AppendFrame(dst, zwsFlags(flags), body, w.mask(&k))
}

// framer: what messages look like on a ws:// connection.

func (w *wsConn) appendFrame(dst []byte, flags byte, body []byte) []byte {
	var k [4]byte
	return ws.AppendFrame(dst, zwsFlags(flags), body, w.mask(&k))
}

// appendHeader: a server writes a large body straight from the message; a client must mask it,
// so it cannot.
func (w *wsConn) appendHeader(dst []byte, flags byte, size int) ([]byte, bool) {
	if w.maskRNG != nil {
		return dst, false
	}
	return ws.AppendFrameHeader(dst, zwsFlags(flags), size), true
}

// appendMaskedHeader: a client's large body is masked as it goes out, a chunk at a time (the key and
// the flags byte here, the body from payload offset 1 on).
func (w *wsConn) appendMaskedHeader(dst []byte, flags byte, size int) ([]byte, [4]byte, int, bool) {
	var k [4]byte
	if w.maskRNG == nil {
		return dst, k, 0, false
	}
	w.mask(&k)
	dst = ws.AppendHeader(dst, ws.Header{Fin: true, Op: ws.OpBinary, Len: uint64(size) + 1, Masked: true, Mask: k})
	return append(dst, zwsFlags(flags)^k[0]), k, 1, true
}

// overhead: a WebSocket header of up to 14 bytes (with a mask) and the ZWS flags byte.
func (w *wsConn) overhead() int { return 15 }

func (w *wsConn) subscriptionCommands(*zmtp.Peer) bool { return false }

// ZWS 2.0 numbers its flags differently from ZMTP: MORE is 0x01 in both, COMMAND is 0x02 (ZMTP's
// 0x04; ZWS needs no LONG flag, the WebSocket length carries the size).
func zwsFlags(zmtp byte) byte {
	f := zmtp & codec.FlagMore
	if zmtp&codec.FlagCommand != 0 {
		f |= ws.FlagCommand
	}
	return f
}

func zmtpFlags(zws byte) byte {
	f := zws & ws.FlagMore
	if zws&ws.FlagCommand != 0 {
		f |= codec.FlagCommand
	}
	return f
}

// mask fills k with the masking key of the next frame and returns it; nil (no masking) on the
// server side. Any goroutine.
func (w *wsConn) mask(k *[4]byte) *[4]byte {
	if w.maskRNG == nil {
		return nil
	}
	w.maskMu.Lock()
	binary.LittleEndian.PutUint32(k[:], uint32(w.maskRNG.Uint64()))
	w.maskMu.Unlock()
	return k
}

func isPing(body []byte) bool {
	c, err := codec.ParseCommand(body)
	return err == nil && c.Is(codec.CmdPing)
}
