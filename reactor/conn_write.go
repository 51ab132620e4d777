package reactor

import (
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// Writing: the loop encodes queued messages into its batch through the framer and writes them; gnet
// writes inline when the kernel takes the bytes and keeps the rest, and past sendBound the
// connection stops encoding until the kernel drained it (loop.block). Senders' direct writes are in
// direct.go; every write holds the connection's write lock.

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
	for {
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
// them) and the batch still unwritten. Small frames are copied into the batch; large bodies go out
// with writev straight from the message where the framer allows it.
func (c *conn) encode(hand []*pool.Msg, buf []byte) (int, []byte) {
	fr := c.framer
	done := 0
	for _, m := range hand {
		nf, last := wireFrames(m)
		for j := 0; j < nf && !c.closed(); j++ {
			f := m.Frame(j)
			flags := last
			if j < nf-1 {
				flags = codec.FlagMore
			}
			if len(f) >= largeFrame {
				if hdr, ok := fr.appendHeader(buf, flags, len(f)); ok {
					c.writev(hdr, f)
					buf = buf[:0]
					continue
				}
				// The body must be copied (a ws client masks it): its own buffer, one write.
				if len(buf) > 0 {
					c.write(buf)
					buf = buf[:0]
				}
				tmp := fr.appendFrame(c.loop.big[:0], flags, f)
				c.write(tmp)
				c.loop.big = tmp[:0]
				continue
			}
			if len(buf) > 0 && len(buf)+fr.overhead()+len(f) > outBatch {
				c.write(buf)
				buf = buf[:0]
			}
			buf = fr.appendFrame(buf, flags, f)
		}
		done++
		if c.closed() {
			break
		}
		if c.gc.OutboundBuffered() >= sendBound {
			break // drain flushes the batch and blocks
		}
	}
	for i := 0; i < done; i++ {
		hand[i].Release()
		hand[i] = nil
	}
	if c.closed() {
		buf = buf[:0]
	}
	return done, buf
}

// write sends b at once when the kernel takes it; gnet copies what it does not take. b is not used
// after write returns. A write error closes the connection inside gnet (OnClose runs before write
// returns), so callers check c.closed() afterwards.
func (c *conn) write(b []byte) { c.writev(b, nil) }

// writev is write of hdr followed by body (nil: none), in one system call, body straight from the
// message. Every write of the loop goes through here: under the write lock, after what a direct
// write left.
func (c *conn) writev(hdr, body []byte) {
	if c.closed() || c.gc == nil {
		return
	}
	locked := c.lockWrites()
	c.flushPending()
	if !c.closed() && c.gc != nil {
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
