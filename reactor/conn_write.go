package reactor

import (
	"os"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// Writing: the loop encodes queued messages into its batch through the framer and writes them; gnet
// writes inline when the kernel takes the bytes and keeps the rest, and past sendBound the
// connection stops encoding until the kernel drained it (loop.block). Senders' direct writes are in
// direct.go; every write holds the connection's write lock.
//
// A large body is never copied into gnet's buffer. It goes out with writev (batch, header, body)
// straight from the message, and when the kernel takes only part of it, the message itself stays
// with the connection (c.part) and the rest of the body is written from it as the socket drains:
// by the output watcher (outwatch.go) when the socket is writable, which wakes the loop once the
// frame is out. Nothing else is written meanwhile, so the wire keeps its order: whatever went before the body (a
// direct write's rest, gnet's buffer, the batch and the header) is in the kernel or in gnet's buffer
// first, and the body goes on only once gnet's buffer is empty. Small bytes are copied, large bodies
// are referenced: the design's "queue a pooled copy only when it would block", made precise.

// loopWriteMin is the frame size from which the output watcher (outwatch.go) leaves a held body to
// the loop instead of writing it itself. A frame that large takes many writability events, and the
// stream went to the kernel from two threads in turn, the loop starting each body and the watcher
// continuing it; written by the loop alone, the sender carried more for the same CPU (side by side,
// tcp, --hwm 4, 3 runs: 16 MiB 203 msg/s against 159, libzmq-c 166; 64 MiB 49.2 against 39.0;
// bench/results/2026-12-05-large-loopwrites.md). Below it the watcher still writes at once, which
// saves the loop a wake-up per event: at 1 MiB two runs with the loop writing every body disagreed
// (0.88x and 1.11x the watcher's rate), so that stays as it was. Where there is no watcher
// (refWrites false) nothing is held and this does not apply.
const loopWriteMin = 4 << 20

// partial is a large frame the kernel took only part of. What is left of its body is in body while
// gnet's buffer still holds bytes that go before it; once that is empty, the rest moves to
// c.dw.held, under the write lock, where the output watcher writes it the moment the socket has
// room (outwatch.go) and the loop when it is woken: the loop comes in only when the frame is
// out, to go on with the message.
type partial struct {
	m     *pool.Msg    // the message, owned by the connection from then on: released when written, or at finish
	frame int          // the frame being written; m's frames after it follow
	body  []byte       // what is left of it while gnet's buffer is not empty: a view of m's frame, or of copy
	copy  *pool.Buffer // the frame's copy when it had to be copied whole (CURVE); nil otherwise
}

// pending reports whether c holds a partly written frame.
func (c *conn) pending() bool { return c.part.m != nil }

// dropPart releases a partly written frame that will never be finished (on the loop).
func (c *conn) dropPart() {
	if c.part.copy != nil {
		c.part.copy.Release()
	}
	if c.part.m != nil {
		c.part.m.Release()
	}
	c.part = partial{}
	c.afterPart = c.afterPart[:0]
	c.dropHeld()
}

// dropHeld withdraws the held body from the output watcher (on the loop): before the message is
// released, and before gnet closes the descriptor.
func (c *conn) dropHeld() {
	locked := c.lockWrites()
	c.dw.held = nil
	c.dw.endMask()
	if locked {
		c.unlockWrites()
	}
}

// maxAfterPart bounds the buffer kept for what waits behind a held body (a few commands).
const maxAfterPart = 4 << 10

// partBytes is what is left to write of the partly written message (on the loop).
func (c *conn) partBytes() int {
	if !c.pending() {
		return 0
	}
	locked := c.lockWrites()
	n := len(c.part.body) + c.dw.heldLeft()
	if locked {
		c.unlockWrites()
	}
	for j := c.part.frame + 1; j < c.part.m.Len(); j++ {
		n += len(c.part.m.Frame(j))
	}
	return n
}

// writeOut writes what the session produced, already in the framer's wire form.
func (c *conn) writeOut(out []byte) {
	if len(out) > 0 {
		c.write(out)
	}
}

// drain encodes queued messages into the loop's batch and writes them, until the queue is empty or
// gnet holds sendBound bytes that the kernel would not take. The batch carries over from one hand of
// messages to the next, so a backlog goes out in outBatch-sized writes.
func (c *conn) drain() {
	if c.closed() || c.gc == nil || c.pipe == nil || c.blocked || !c.ready() {
		return
	}
	if !c.dw.ok.Load() && c.lockWrites() {
		c.flushPending() // what a direct write left goes first
		c.unlockWrites()
		if c.closed() || c.gc == nil {
			return
		}
	}
	p := c.pipe
	buf := c.loop.scratch[:0]
	start := c.loop.written()
	for {
		if c.loop.written()-start >= turnBudget {
			// The rest waits for the loop's next turn, after it polled: the other connections'
			// input (a new peer's handshake) gets its turn meanwhile.
			if len(buf) > 0 {
				c.write(buf)
			}
			if !c.closed() && c.gc != nil {
				p.mu.Lock()
				p.scheduled = true // a producer that comes meanwhile need not post again
				p.mu.Unlock()
				c.scheduleDrain()
			}
			c.loop.yieldToEnroller()
			return
		}
		if c.pending() {
			// A large body waits for room (the batch went out before it): nothing may follow it yet.
			c.waitPart()
			return
		}
		if c.gc.OutboundBuffered() >= sendBound {
			// The kernel is not taking what gnet holds: stop here (with the batch written, so
			// nothing is held back) and let the loop's poll resume us when there is room.
			if len(buf) > 0 {
				c.write(buf)
			}
			if !c.closed() && c.gc != nil {
				c.blocked = true
				c.loop.block(c)
			}
			return
		}
		hand := p.takeOut(handMax)
		if len(hand) == 0 {
			break
		}
		var n int
		n, buf = c.encode(hand, buf)
		p.encoded(n)
		if c.closed() || c.gc == nil {
			return
		}
	}
	if len(buf) > 0 {
		c.write(buf)
	}
	c.allowDirect()
}

// encode appends the messages of hand, in order, to the batch buf in the framer's wire form,
// writing whenever it is full, and returns how many messages it took (each one whole; it releases
// them, but for one whose large body the kernel took only part of, which c keeps: c.part) and the
// batch still unwritten.
func (c *conn) encode(hand []*pool.Msg, buf []byte) (int, []byte) {
	done := 0
	for i, m := range hand {
		var held bool
		buf, held = c.encodeFrames(m, 0, buf)
		done++
		if held {
			hand[i] = nil // c.part has it
			break
		}
		if c.closed() {
			break
		}
		if c.gc.OutboundBuffered() >= sendBound {
			break // drain flushes the batch and blocks
		}
	}
	for i := 0; i < done; i++ {
		if hand[i] != nil {
			hand[i].Release()
			hand[i] = nil
		}
	}
	if c.closed() {
		buf = buf[:0]
	}
	return done, buf
}

// encodeFrames appends m's frames from from on to buf. Small frames are copied into the batch;
// large bodies go out with writev straight from the message where the framer allows it (a ws
// client masks them a chunk at a time on the way, writeMasked; CURVE copies them whole), and one the
// kernel takes only part of becomes c.part:
// then it returns held, and m belongs to c.
func (c *conn) encodeFrames(m *pool.Msg, from int, buf []byte) (_ []byte, held bool) {
	fr := c.framer
	nf, last := wireFrames(m)
	for j := from; j < nf && !c.closed(); j++ {
		f := m.Frame(j)
		flags := last
		if j < nf-1 {
			flags = codec.FlagMore
		}
		if len(f) < largeFrame {
			if len(buf) > 0 && len(buf)+fr.overhead()+len(f) > outBatch {
				c.write(buf)
				buf = buf[:0]
			}
			buf = fr.appendFrame(buf, flags, f)
			continue
		}
		hdr, ok := fr.appendHeader(buf, flags, len(f))
		if mf, masking := fr.(maskingFramer); !ok && masking {
			// A ws client: the body is masked a chunk at a time as it goes out, never copied whole.
			if h, key, pos, ok := mf.appendMaskedHeader(buf, flags, len(f)); ok {
				buf = buf[:0]
				if c.writeMasked(m, j, h, f, key, pos) {
					return buf, true
				}
				continue
			}
		}
		var masked *pool.Buffer
		if !ok {
			// The body must be copied (CURVE boxes it): into a pooled buffer of its size,
			// written after the batch like a body of its own.
			masked = pool.GetBuffer(len(f) + fr.overhead())
			masked.B = fr.appendFrame(masked.B[:0], flags, f)
			hdr, f = buf, masked.B
		}
		buf = buf[:0]
		if c.tls != nil {
			if c.tlsLarge(m, j, hdr, f, masked) {
				return buf, true
			}
			continue
		}
		if refWrites && c.loop.outWatch() != nil {
			if c.writeLarge(m, j, hdr, f, masked) {
				return buf, true
			}
			continue
		}
		c.writev(hdr, f)
		if masked != nil {
			masked.Release()
		}
	}
	return buf, false
}

// writeLarge writes hdr (the batch and a frame's header) and then body, frame j of m, straight
// from where they are, and reports held when the kernel did not take the body whole: then c.part
// keeps m (and masked, body's copy if any) until the rest is written. What precedes the body in
// the connection's output (a direct write's rest, gnet's buffer) goes first; hdr goes to gnet's
// buffer after it when there is any (a small copy), and the body then waits for gnet to be empty.
func (c *conn) writeLarge(m *pool.Msg, j int, hdr, body []byte, masked *pool.Buffer) (held bool) {
	if c.closed() || c.gc == nil {
		if masked != nil {
			masked.Release()
		}
		return false
	}
	if locked := c.lockWrites(); locked {
		defer c.unlockWrites()
	}
	c.flushPending()
	n := 0
	if !c.closed() && c.gc != nil && c.gc.OutboundBuffered() == 0 {
		var err error
		n, err = writevFD(c.gc.Fd(), hdr, body)
		n = c.wroteInline("writev", n, err)
		if n < len(hdr) {
			hdr = hdr[n:]
			n = 0
		} else {
			n -= len(hdr)
			hdr = nil
		}
		// A masked body goes on a chunk at a time while the kernel takes each whole.
		for n == len(body) && c.dw.maskLeft() > 0 && err == nil && !c.closed() && c.gc != nil {
			body = c.dw.nextMasked()
			n, err = writeFD(c.gc.Fd(), body)
			n = c.wroteInline("write", n, err)
		}
	}
	if len(hdr) > 0 && !c.closed() && c.gc != nil {
		before := c.gc.OutboundBuffered()
		_, _ = c.gc.Write(hdr)
		c.account(len(hdr), before)
	}
	if c.closed() || c.gc == nil || (n == len(body) && c.dw.maskLeft() == 0) {
		if masked != nil {
			masked.Release()
		}
		c.dw.endMask()
		return false
	}
	c.part = partial{m: m, frame: j, body: body[n:], copy: masked}
	if c.gc.OutboundBuffered() == 0 {
		c.holdRest() // nothing before it is left
	}
	c.loop.heldBodies.Add(1)
	c.sc.heldBodies.Add(1)
	return true
}

// holdRest moves the rest of the partly written body to c.dw.held, once gnet's buffer is empty; the
// write lock is held. Whether the loop alone writes it goes by the frame's size, not by what is left
// of it: a ws client's body is then a chunk (maskChunk), a CURVE body a copy with its box.
func (c *conn) holdRest() {
	c.dw.held, c.dw.heldFD, c.part.body = c.part.body, c.gc.Fd(), nil
	c.dw.loopHeld = len(c.part.m.Frame(c.part.frame)) >= loopWriteMin
}

// writeMasked writes hdr (the batch and a ws client's frame header) and then body, frame j of m,
// masked with key from payload offset pos a chunk at a time (directWriter.nextMasked), and reports
// held as writeLarge does: then the rest is masked as the socket drains. Over TLS (wss) the chunks
// are sealed as tlsLarge seals any body. Without the output watcher the chunks go through gnet,
// which copies what the kernel refuses, as it does any body there.
func (c *conn) writeMasked(m *pool.Msg, j int, hdr, body []byte, key [4]byte, pos int) (held bool) {
	if c.closed() || c.gc == nil {
		return false
	}
	if locked := c.lockWrites(); locked {
		defer c.unlockWrites()
	}
	c.dw.startMask(body, key, pos)
	if c.tls != nil {
		return c.tlsLarge(m, j, hdr, nil, nil)
	}
	if refWrites && c.loop.outWatch() != nil {
		return c.writeLarge(m, j, hdr, c.dw.nextMasked(), nil)
	}
	c.writev(hdr, c.dw.nextMasked())
	for c.dw.maskLeft() > 0 && !c.closed() && c.gc != nil {
		c.writev(c.dw.nextMasked(), nil)
	}
	c.dw.endMask()
	return false
}

// wroteInline counts one system call of c's own that wrote n bytes (n < 0 on an error), closes c
// if err is not EAGAIN, and returns the bytes written (never below zero). The write lock is held.
func (c *conn) wroteInline(op string, n int, err error) int {
	c.loop.writes.Add(1)
	c.sc.writes.Add(1)
	if err != nil && !wouldBlock(err) {
		c.writeFailed(op, err)
	}
	n = max(n, 0)
	c.loop.inline.Add(uint64(n))
	c.sc.inline.Add(uint64(n))
	return n
}

// writeFailed closes c after a write of its own to the descriptor failed, as gnet does when its
// write fails: OnClose runs before it returns. The write lock is held.
func (c *conn) writeFailed(op string, err error) {
	c.fail(os.NewSyscallError(op, err))
	if c.gc != nil {
		_ = c.loop.el.Close(c.gc)
	}
}

// waitPart has c woken when its socket has room for the rest of c.part: by the output watcher, or
// where there is none by the loop's poll.
func (c *conn) waitPart() {
	c.blocked = true
	if c.gc == nil || c.closed() {
		return
	}
	if w := c.loop.outWatch(); w != nil && w.arm(c) {
		return
	}
	c.loop.block(c)
}

// continuePart writes what it can of c.part, and once its body is written, the rest of its
// message, and reports whether nothing is left held (on the loop; c.blocked is the caller's).
func (c *conn) continuePart() bool {
	for c.pending() {
		if c.closed() || c.gc == nil {
			return false
		}
		c.flushMuted() // gnet's buffer first; a muted connection has it flushed and stays muted
		locked := c.lockWrites()
		c.flushPending()
		if !c.closed() && c.gc != nil && c.gc.OutboundBuffered() > 0 && c.in != inMuted {
			_ = c.gc.Flush() // a write error closes c inside gnet
		}
		room := 0 // a plain held body goes on only from an empty gnet buffer (the watcher writes it)
		if c.tls != nil {
			room = tlsHold - 1 // records queue behind gnet's bytes in order: below tlsHold, encrypt on
		}
		if c.closed() || c.gc == nil || c.gc.OutboundBuffered() > room {
			if locked {
				c.unlockWrites()
			}
			if !c.closed() && c.gc != nil {
				c.waitPart()
			}
			return false
		}
		var left int
		if c.tls != nil {
			left = c.tlsContinue() // the next records of the body, encrypted as gnet drains
		} else {
			if len(c.part.body) > 0 {
				// gnet's buffer is empty: the rest is the watcher's to write too.
				c.holdRest()
			}
			if c.dw.heldLeft() > 0 {
				_ = c.writeHeld(true)
			}
			left = c.dw.heldLeft()
		}
		if left == 0 {
			c.dw.endMask()
		}
		if locked {
			c.unlockWrites()
		}
		if c.closed() {
			return false
		}
		if left > 0 {
			c.waitPart()
			return false
		}
		// The frame is out: what the loop wrote meanwhile follows (at a frame boundary, where a
		// command may go), then m's frames after it, which may hold c again.
		m, j := c.part.m, c.part.frame
		if c.part.copy != nil {
			c.part.copy.Release()
		}
		c.part = partial{}
		if len(c.afterPart) > 0 {
			c.write(c.afterPart)
			if cap(c.afterPart) > maxAfterPart {
				c.afterPart = nil
			} else {
				c.afterPart = c.afterPart[:0]
			}
			if c.closed() {
				m.Release()
				return false
			}
		}
		buf, held := c.encodeFrames(m, j+1, c.loop.scratch[:0])
		if !held {
			m.Release()
			if len(buf) > 0 {
				c.write(buf)
			}
		}
	}
	return !c.closed()
}

// writeHeld writes what it can of the held body (a masked one chunk after chunk); the write lock is
// held, by the loop (onLoop) or by the output watcher. An error other than EAGAIN closes the
// connection on the loop, as gnet's write would; the watcher leaves it to the loop, whose next
// write meets it again. What is left is in held unless nothing is.
func (c *conn) writeHeld(onLoop bool) (err error) {
	w := &c.dw
	for {
		if len(w.held) == 0 {
			if w.maskLeft() == 0 {
				return nil
			}
			w.held = w.nextMasked()
		}
		n, err := writeFD(w.heldFD, w.held)
		c.loop.writes.Add(1)
		c.sc.writes.Add(1)
		if n > 0 {
			w.held = w.held[n:]
			c.loop.inline.Add(uint64(n))
			c.sc.inline.Add(uint64(n))
			c.partWritten.Add(uint64(n))
		}
		if err != nil && !wouldBlock(err) {
			if onLoop {
				c.writeFailed("write", err)
			}
			return err
		}
		if len(w.held) > 0 || err != nil {
			return nil // the kernel is full: the socket's next writability event
		}
	}
}

// writable runs when the output watcher found c's socket writable: the held body goes on, and
// once it is written, what is queued behind it.
func (c *conn) writable() {
	if c.closed() || c.gc == nil || !c.pending() {
		return
	}
	if !c.continuePart() {
		return
	}
	if c.outbound() >= sendBound {
		c.loop.block(c) // what followed the body filled gnet's buffer: polled until it drains
		return
	}
	c.blocked = false
	c.drain()
	if c.lingering() {
		c.checkLinger(time.Now()) // the loop's poll applies the deadline, but need not wait to close
	}
}

// write sends b at once when the kernel takes it; gnet copies what it does not take. b is not used
// after write returns. A write error closes the connection inside gnet (OnClose runs before write
// returns), so callers check c.closed() afterwards.
func (c *conn) write(b []byte) { c.writev(b, nil) }

// writev is write of hdr followed by body (nil: none), in one system call, body straight from the
// message. Every write of the loop goes through here: under the write lock, after what a direct
// write left. While a large body is held, what the loop writes (the session's PINGs and PONGs, a
// ws pong) waits behind it, in c.afterPart, and goes out as soon as the body is written.
func (c *conn) writev(hdr, body []byte) {
	if c.closed() || c.gc == nil {
		return
	}
	if c.pending() {
		c.afterPart = append(append(c.afterPart, hdr...), body...)
		return
	}
	locked := c.lockWrites()
	c.flushPending()
	if c.tls != nil {
		if !c.closed() && c.gc != nil {
			c.tlsSeal(hdr, body)
		}
	} else if !c.closed() && c.gc != nil {
		before := c.gc.OutboundBuffered()
		if body == nil {
			_, _ = c.gc.Write(hdr)
		} else {
			iov := c.loop.iov[:]
			iov[0], iov[1] = hdr, body
			_, _ = c.gc.Writev(iov)
			iov[0], iov[1] = nil, nil
		}
		c.account(len(hdr)+len(body), before)
	}
	if locked {
		c.unlockWrites()
	}
}

func (c *conn) account(n, before int) {
	l, sc := c.loop, c.sc
	l.writes.Add(1)
	sc.writes.Add(1)
	if c.closed() || c.gc == nil {
		return
	}
	q := n
	if before == 0 {
		q = c.gc.OutboundBuffered()
		if q > 0 {
			c.dw.ok.Store(false) // gnet flushes on its own, without our write lock
			if c.in == inMuted {
				c.pauseInput() // gnet has just registered the descriptor for reading and writing
			}
		}
	}
	l.inline.Add(uint64(n - q))
	l.queued.Add(uint64(q))
	sc.inline.Add(uint64(n - q))
	sc.queued.Add(uint64(q))
}

// outbound returns what gnet holds for the kernel (0 without a gnet connection).
func (c *conn) outbound() int {
	if c.gc == nil {
		return 0
	}
	return c.gc.OutboundBuffered()
}
