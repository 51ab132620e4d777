package reactor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/ws"
)

// Writing from the sender's goroutine. A message sent on an idle connection (nothing queued, nothing
// held by gnet, no other message in the last directGap) goes to the kernel from the goroutine that
// sends it, instead of waking the loop to write it: one system call instead of two (the wake-up and
// the write) and one goroutine hand-off fewer, which is much of a round trip on loopback. Messages
// that follow one another closely still go through the loop, so bursts keep their batches; so does
// everything sent while the connection's loop serves several peers (loop.serving), which it
// writes in the pass it is making anyway.
//
// Every write to the socket, the loop's and the senders', holds dw.mu; a sender only tries the
// lock and falls back to the loop when it is taken. The loop allows direct writes only while it has
// nothing of its own to write (gnet holds no output, no hand is being encoded) and the descriptor is
// open: it withdraws the permission under the lock before gnet may close the descriptor.

// directGap: a message sent sooner than this after the previous idle check is queued for the loop.
const directGap = 20 * time.Microsecond

// A loop that read a third connection after the last two sharedReads times within sharedWindow is
// serving several peers at once; then it writes what is sent to them (see trySend). A server
// answering a few peers now and then keeps the direct writes, which save it a wake-up per reply.
const (
	sharedWindow = time.Millisecond
	sharedReads  = 8
)

type directWriter struct {
	mu       sync.Mutex
	ok       atomic.Bool // direct writes allowed; set by the loop under mu, cleared by it under mu or under the pipe's lock (takeOut), which a direct writer holds too
	loopHeld bool        // held is of a frame of loopWriteMin bytes or more: only the loop writes it (outwatch.go); under mu
	fd       int         // the socket while ok
	buf      []byte      // the encoded message of a direct write (under mu)
	pend     []byte      // what the kernel did not take of a direct write; the loop writes it first (under mu)

	// held is the rest of a large body the connection holds (conn.part) once everything before it
	// is in the kernel: the loop or the output watcher writes it to heldFD, whichever holds mu (the
	// loop alone when loopHeld).
	// Cleared before the message is released and before gnet closes the descriptor.
	held   []byte
	heldFD int

	// A ws client's held body is masked on its way out (maskingFramer): held is then its current
	// chunk, and mask the rest. Made at the connection's first masked body and kept: few
	// connections ever have one, and every connection's size counts (TestPerConnectionSizes).
	mask *masking
}

// masking is a ws client's large body on its way out: its current chunk is masked into buf, and
// src is what of the body is not masked yet, at payload offset pos with the key key. buf is taken
// for the frame and released when it is out.
type masking struct {
	src []byte
	key [4]byte
	pos int
	buf *pool.Buffer
}

// maskChunk is how much of a ws client's large body is masked at a time: as much as TCP's send
// buffer grows to (net.ipv4.tcp_wmem), so that a chunk is one write. Measured with 16 MiB messages
// on loopback: 256 KiB chunks cost the sender a fifth more CPU time than masking a whole copy did
// and the rate an eighth (the writes, and the reader's reads, were a sixteenth the size); 1 and
// 4 MiB chunks matched the whole copy.
const maskChunk = 4 << 20

// startMask begins a masked body src (under mu): the chunks come from nextMasked.
func (w *directWriter) startMask(src []byte, key [4]byte, pos int) {
	if w.mask == nil {
		w.mask = new(masking)
	}
	m := w.mask
	if m.buf == nil {
		m.buf = pool.GetBuffer(min(len(src), maskChunk)) // a smaller body in one piece
	}
	m.src, m.key, m.pos = src, key, pos
}

// nextMasked masks the body's next chunk into the chunk buffer and returns it (under mu); valid
// until the next call. Empty when the body is all masked.
func (w *directWriter) nextMasked() []byte {
	m := w.mask
	n := min(len(m.src), len(m.buf.B))
	b := ws.AppendMasked(m.buf.B[:0], m.src[:n], m.key, m.pos)
	m.src = m.src[n:]
	m.pos += n
	return b
}

// endMask forgets a masked body and gives its chunk buffer back (under mu): when the frame is out,
// or withdrawn.
func (w *directWriter) endMask() {
	if m := w.mask; m != nil {
		m.src = nil
		if m.buf != nil {
			m.buf.Release()
			m.buf = nil
		}
	}
}

// maskLeft is what of a masked body is not masked yet (under mu).
func (w *directWriter) maskLeft() int {
	if w.mask == nil {
		return 0
	}
	return len(w.mask.src)
}

// heldLeft is what is left of the held body (under mu).
func (w *directWriter) heldLeft() int { return len(w.held) + w.maskLeft() }

// directWrite writes b, encoded by a direct writer, to the socket and counts it; what the kernel
// does not take goes to pend, for the loop to write before anything else. The caller holds dw.mu,
// with direct writes allowed.
func (c *conn) directWrite(b []byte) {
	w := &c.dw
	n, err := writeFD(w.fd, b)
	l, sc := c.loop, c.sc
	l.writes.Add(1)
	l.senderWrites.Add(1)
	sc.writes.Add(1)
	sc.senderWrites.Add(1)
	if n < 0 {
		n = 0
	}
	l.inline.Add(uint64(n))
	sc.inline.Add(uint64(n))
	if n == len(b) && err == nil {
		return
	}
	l.senderShort.Add(1)
	sc.senderShort.Add(1)
	// The kernel took part of it, or nothing, or failed: the loop writes the rest (or meets the
	// error and closes the connection), before anything else.
	w.pend = append(w.pend[:0], b[n:]...)
	w.ok.Store(false)
	l.w.post(c, taskDrain)
}

// tryDirect writes m in one write from the calling goroutine and reports whether it did; then the
// caller may release m (its bytes are in the kernel or in pend). The caller holds the pipe's lock
// with nothing of the pipe's queued or in the loop's hand, and while direct writes are allowed the
// loop holds no output of its own for c: nothing written before m is still unwritten.
func (c *conn) tryDirect(m *pool.Msg) bool {
	if m.Size()+c.framer.overhead()*m.Len() > directMax {
		return false
	}
	w := &c.dw
	if !w.mu.TryLock() {
		return false
	}
	defer w.mu.Unlock()
	if !w.ok.Load() {
		return false
	}
	w.buf = c.appendMsg(w.buf[:0], m)
	c.directWrite(w.buf)
	return true
}

// appendMsg appends m's frames to buf in the framer's wire form. It reads only what is fixed once
// c is handshaken.
func (c *conn) appendMsg(buf []byte, m *pool.Msg) []byte {
	nf, last := wireFrames(m)
	for j := 0; j < nf; j++ {
		flags := last
		if j < nf-1 {
			flags = codec.FlagMore
		}
		buf = c.framer.appendFrame(buf, flags, m.Frame(j))
	}
	return buf
}

// wireFrames is how many of m's frames go on the wire and the flags of the last of them: a command
// is its first frame alone, with COMMAND; the frames before the last carry MORE.
func wireFrames(m *pool.Msg) (n int, last byte) {
	if m.IsCommand() {
		return min(m.Len(), 1), codec.FlagCommand
	}
	return m.Len(), 0
}

// lockWrites takes the write lock on the loop, for a write of its own; it returns whether it took it
// (not when a write of the loop already holds it: gnet may call OnClose from inside a write).
func (c *conn) lockWrites() bool {
	if c.writing {
		return false
	}
	c.dw.mu.Lock()
	c.writing = true
	return true
}

func (c *conn) unlockWrites() {
	c.writing = false
	c.dw.mu.Unlock()
}

// flushPending writes what a direct write left, ahead of anything newer. The write lock is held.
func (c *conn) flushPending() {
	if len(c.dw.pend) == 0 || c.gc == nil {
		return
	}
	before := c.gc.OutboundBuffered()
	_, _ = c.gc.Write(c.dw.pend)
	c.account(len(c.dw.pend), before)
	c.dw.pend = c.dw.pend[:0]
}

// allowDirect lets senders write directly once the loop has nothing of its own to write (on the loop).
func (c *conn) allowDirect() {
	if !directWrites || c.tls != nil || c.dw.ok.Load() || !c.ready() || c.closed() || c.gc == nil || c.opts.raw ||
		c.lingering() || c.in == inDetaching || c.failErr != nil || c.gc.OutboundBuffered() > 0 || c.pending() {
		return
	}
	if !c.lockWrites() {
		return
	}
	if len(c.dw.pend) == 0 {
		c.dw.fd = c.gc.Fd()
		c.dw.ok.Store(true)
	}
	c.unlockWrites()
}

// stopDirect withdraws the permission (on the loop): before gnet closes or gives up the descriptor,
// and whenever the loop has output of its own.
func (c *conn) stopDirect() {
	if !c.dw.ok.Load() {
		return
	}
	if c.lockWrites() {
		c.dw.ok.Store(false)
		c.unlockWrites()
		return
	}
	c.dw.ok.Store(false) // inside a write of the loop: the lock is already ours
}
