package reactor

import (
	"github.com/panjf2000/gnet/v2"
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// Reading: what gnet delivers is parsed by the framer and handed to the pipe in batches; a full
// pipe stops the parse (and the input, conn_pause.go).

// traffic runs in OnTraffic (also after gnet's Wake).
func (c *conn) traffic() gnet.Action {
	if c.in == inMuted {
		c.loop.mutedReads.Add(1) // gnet read while we had muted it: see mute
		c.sc.mutedReads.Add(1)
	}
	c.read()
	if c.closed() {
		return gnet.None
	}
	if c.in == inDetaching || c.failErr != nil {
		return gnet.Close
	}
	c.drain()
	if c.failErr != nil {
		return gnet.Close
	}
	return gnet.None
}

// read parses what has arrived. It stops when the pipe's inbound queue is full, and then stops the
// input (pauseInput) so that the kernel pushes back.
func (c *conn) read() {
	for {
		if c.closed() || c.failErr != nil || c.in == inDetaching || (c.gc == nil && c.carry.len() == 0) {
			return
		}
		if c.paused {
			c.pauseInput()
			return
		}
		if c.in == inMuted {
			c.in = inGnet
			c.closeDup()
			if err := unmute(c.loop.muteFD, c.gc.Fd(), c.gc.OutboundBuffered() > 0); err != nil {
				c.fail(err) // the connection would never be read again
				return
			}
		}
		if c.pipe != nil {
			c.room = c.pipe.inRoom()
			if c.cur != nil {
				c.room-- // the message being received took its place when it began
			}
			if c.room <= 0 && !c.sess.InMessage() {
				// Full before we start: do not even Peek (gnet copies its buffers together for a
				// Peek and only takes the copy back on a Discard of more than 0 bytes).
				c.paused = true
				if c.settle() {
					return
				}
				continue
			}
		}
		var in []byte
		if c.gc != nil {
			in, _ = c.gc.Peek(-1)
		}
		if c.carry.len() > 0 {
			c.carry.add(c.loop, in)
			if len(in) > 0 {
				_, _ = c.gc.Discard(len(in))
			}
			in = c.carry.bytes()
		}
		if len(in) == 0 {
			return
		}
		n, err := c.framer.parse(in)
		if c.closed() {
			return // a write of the framer's failed and gnet closed c
		}
		if c.carry.len() > 0 {
			c.carry.consume(c.loop, n)
		} else if n > 0 && c.gc != nil {
			_, _ = c.gc.Discard(n)
		}
		stop := c.settle()
		if err != nil {
			c.fail(err)
			return
		}
		if c.gc != nil {
			c.loop.watch(c)
		}
		if stop {
			return
		}
	}
}

// settle hands the messages parsed so far to the pipe and reports whether reading stops here: it
// goes on only when the parse paused on a full queue that the reader has drained meanwhile. A
// connection that stays paused stops reading from the kernel (pauseInput).
func (c *conn) settle() (stop bool) {
	if len(c.batch) == 0 && !c.paused {
		return true
	}
	stillPaused := c.pipe.deliver(c.batch, c.paused)
	clear(c.batch)
	c.batch = c.batch[:0]
	if !c.paused {
		return true
	}
	if stillPaused {
		c.pauseInput()
		return true
	}
	c.paused = false
	return false
}

// Frame starts a message frame; at a message boundary it refuses when the inbound queue is full.
func (c *conn) Frame(size int, more, first bool) bool {
	if first {
		if c.room <= 0 {
			c.paused = true
			return false
		}
		c.room--
		c.cur = pool.NewMsg()
		c.cur.ReserveFront(c.opts.headroom)
	}
	c.cur.AddFrame(size)
	c.curMore = more
	return true
}

// FrameData streams a frame's body into the message being received.
func (c *conn) FrameData(p []byte, last bool) {
	c.cur.Extend(p)
	if last && !c.curMore {
		c.batch = append(c.batch, c.cur)
		c.cur = nil
	}
}

// Command passes SUBSCRIBE, CANCEL and unknown commands up to the socket.
func (c *conn) Command(cmd codec.Command) {
	if c.pipe != nil {
		c.owner.PipeCommand(c.pipe, cmd)
	}
}
