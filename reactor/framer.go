package reactor

import (
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// framer is a connection's wire format: the one seam between the reactor and the bytes of a
// transport. ZMTP frames itself (tcp://, ipc://), ZWS 2.0 carries each frame in a WebSocket message
// (ws://, wsConn), and a STREAM socket's connection has no framing at all. The loop's batch and the
// senders' direct writes encode messages through it, the session writes its commands through it
// (a zmtp.Framer), and what arrives reaches the session (or, raw, the pipe) through its parse.
// tls:// and wss:// are byte streams under the same framers, not framers of their own (tls.go).
//
// A framer is loop-owned like its conn, except appendFrame and appendHeader, which a sender's direct
// write calls too (under the connection's write lock).
type framer interface {
	// parse consumes what arrived and returns how many bytes it took; the rest is offered again
	// with more bytes after it. Whatever must be written in answer it writes itself.
	parse(in []byte) (int, error)
	// appendFrame appends one message frame (ZMTP flags: FlagMore, FlagCommand) to dst.
	appendFrame(dst []byte, flags byte, body []byte) []byte
	// appendHeader appends the header of a frame whose body is written right after it from the
	// message itself (writev), or reports false when the body cannot go out as it is (a ws client
	// masks it) and must be copied through appendFrame.
	appendHeader(dst []byte, flags byte, size int) ([]byte, bool)
	// overhead is the most bytes appendFrame adds to a body.
	overhead() int
	// subscriptionCommands reports whether SUBSCRIBE and CANCEL go as commands (ZMTP 3.1) or as
	// 0x01/0x00 data frames (ZMTP 3.0 peers, and ZWS 2.0: libzmq's ws engine drops the command).
	subscriptionCommands(peer *zmtp.Peer) bool
}

// maskingFramer is a framer whose bodies must be masked on the wire (a ws client, RFC 6455): a large
// body goes out masked a chunk at a time as it is written (directWriter.nextMasked), never copied
// whole. appendMaskedHeader appends the header of a frame of a size-byte body, masked with the key
// it returns, whose masking goes on at payload offset pos; ok is false when the framer does not
// mask (a ws server). Called on the loop, under the connection's write lock.
type maskingFramer interface {
	appendMaskedHeader(dst []byte, flags byte, size int) (out []byte, key [4]byte, pos int, ok bool)
}

// zmtpFramer is ZMTP 3.x over a byte stream: the session parses the greeting and the frames.
type zmtpFramer struct{ c *conn }

func (f zmtpFramer) parse(in []byte) (int, error) {
	c := f.c
	n, out, err := c.sess.Read(in, time.Now(), c.loop.scratch[:0], c)
	c.writeOut(out)
	return n, err
}

func (zmtpFramer) appendFrame(dst []byte, flags byte, body []byte) []byte {
	return codec.AppendFrame(dst, flags, body)
}

func (zmtpFramer) appendHeader(dst []byte, flags byte, size int) ([]byte, bool) {
	return codec.AppendFrameHeader(dst, flags, size), true
}

func (zmtpFramer) overhead() int { return 9 }

func (zmtpFramer) subscriptionCommands(peer *zmtp.Peer) bool {
	return peer != nil && (peer.Major > 3 || peer.Minor >= 1)
}

// rawFramer is a STREAM socket's connection: no handshake, every chunk read is a one-frame
// message, every frame sent goes out as it is.
type rawFramer struct{ c *conn }

func (f rawFramer) parse(in []byte) (int, error) {
	c := f.c
	if c.room <= 0 {
		c.paused = true // the same HWM as any other pipe
		return 0, nil
	}
	c.room--
	m := pool.NewMsg()
	m.ReserveFront(c.opts.headroom)
	m.SetMetadata(c.meta)
	m.AppendFrame(in)
	c.batch = append(c.batch, m)
	return len(in), nil
}

func (rawFramer) appendFrame(dst []byte, _ byte, body []byte) []byte { return append(dst, body...) }

func (rawFramer) appendHeader(dst []byte, _ byte, _ int) ([]byte, bool) { return dst, true }

func (rawFramer) overhead() int { return 0 }

func (rawFramer) subscriptionCommands(*zmtp.Peer) bool { return false }

// curveFramer is CURVE (rfc 26) over another framer: once the handshake is done, every frame goes
// out boxed in a MESSAGE command (in a frame without the COMMAND flag, as libzmq sends it, and
// libzmq takes a MESSAGE in a command frame for a command), through the session's Sealer, which
// the session's own PINGs and PONGs use too, so that one nonce counter orders them all. Bodies are
// always copied (boxed): appendHeader refuses.
//
// The nonces must reach the wire in the order they are taken, and a sender's direct write takes
// one under the write lock: so the loop takes its own under the write lock too, or with direct
// writes withdrawn. Its batches are encoded while direct writes are withdrawn (takeOut); the
// session's answers (parse) and heartbeats (runTimers) are made under the write lock. Loop-owned,
// but for appendFrame, which a sender's direct write calls under the write lock.
type curveFramer struct {
	inner framer
	c     *conn
	msg   []byte // scratch for a MESSAGE body over ws; grows to the largest frame sent
}

// parse runs the session under the write lock: the PONGs (and over ws the handshake's commands,
// sealed ones only after it) that it writes take nonces.
func (f *curveFramer) parse(in []byte) (int, error) {
	locked := f.c.lockWrites()
	n, err := f.inner.parse(in)
	if locked {
		f.c.unlockWrites()
	}
	return n, err
}

func (f *curveFramer) appendFrame(dst []byte, flags byte, body []byte) []byte {
	s := f.c.sess.Sealer()
	if s == nil {
		return dst // not handshaken: the reactor sends nothing before Ready
	}
	if _, ok := f.inner.(zmtpFramer); ok {
		// ZMTP: the MESSAGE is sealed straight after its frame header.
		dst = codec.AppendFrameHeader(dst, 0, codec.CurveMessageOverhead+len(body))
		return s.AppendMessage(dst, flags, body)
	}
	f.msg = s.AppendMessage(f.msg[:0], flags, body)
	dst = f.inner.appendFrame(dst, 0, f.msg)
	if cap(f.msg) > 4<<20 {
		f.msg = nil // as the sealer's own scratch: a large frame's copy is not kept
	}
	return dst
}

func (*curveFramer) appendHeader(dst []byte, _ byte, _ int) ([]byte, bool) { return dst, false }

func (f *curveFramer) overhead() int { return f.inner.overhead() + codec.CurveMessageOverhead }

func (f *curveFramer) subscriptionCommands(peer *zmtp.Peer) bool {
	return f.inner.subscriptionCommands(peer) // boxed, as libzmq 4.3 sends its own
}
