package reactor

import (
	"net"
	"os"

	"github.com/panjf2000/gnet/v2"
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
)

// Reading: what gnet delivers is parsed by the framer and handed to the pipe in batches; a full
// pipe stops the parse (and the input, conn_pause.go).
//
// A large frame is received into its final buffer. Once the session has parsed its header and
// checked its size against MAXMSGSIZE, Frame reserves the body at its final size (pool's
// ReserveFrame: one allocation, or none from the size classes), and the bytes go straight into it:
// what gnet already read is copied out of gnet's buffer once, and the rest is read from the socket
// into the body itself (readBody), so the bulk of a large frame is never copied at all.
//
// How much a frame's announced size may reserve, since the size comes from the peer: with
// MAXMSGSIZE set, the session has checked it, and the frame is reserved whole, as libzmq does. With
// no limit (the default), a frame of up to trustedFrame is reserved whole too. A larger one has to
// show its bytes first: it starts with a first part of 1/commitRatio of its size (at most
// trustedFrame), and once that is filled, the frame is allocated once at its full size, which is
// then at most commitRatio times what arrived; the first part's bytes are copied over, and its
// buffer goes back to its size class (growFrame). So an honest frame of any size above trustedFrame is
// allocated twice, the first time a pooled sixteenth of it, and copies a sixteenth of itself;
// within the largest size class (64 MiB) a steady stream of them allocates nothing. Its cost to a
// peer is what bounds it: a peer that announces 2^60 bytes and sends a few costs trustedFrame at
// most, and one that sends B bytes of a huge frame makes us hold at most commitRatio x B (Go takes
// fresh pages from the kernel untouched, so what is resident stays near B until the runtime reuses
// freed memory). The limit is the honest fix: set MAXMSGSIZE and every frame within it is reserved
// exactly once, before its first byte.

const (
	// trustedFrame is the most an unchecked frame size reserves up front (see above).
	trustedFrame = 16 << 20
	// commitRatio bounds what a frame without a limit may hold against what arrived of it.
	commitRatio = 16
	// directMin: a frame with at least this much of its body still to come is read from the socket
	// into the message; a smaller rest comes with gnet's next read (64 KiB) anyway.
	directMin = 32 << 10
	// directBudget bounds what one readiness event reads straight into a body, so that a connection
	// streaming a huge frame leaves its loop's other connections their turn (gnet reads 64 KiB per
	// event).
	directBudget = 2 << 20
)

// traffic runs in OnTraffic (also after gnet's Wake).
func (c *conn) traffic() gnet.Action {
	if c.in == inMuted {
		c.loop.mutedReads.Add(1) // gnet read while we had muted it: see mute
		c.sc.mutedReads.Add(1)
	}
	c.loop.noteRead(c)
	drained := c.read()
	if c.closed() {
		return gnet.None
	}
	if c.in == inDetaching || c.failErr != nil {
		return gnet.Close
	}
	if c.tls != nil && c.tls.eof {
		// close_notify: the peer's end, as its FIN would be (stunnel waits for ours before it
		// closes the socket). What came before it is parsed; a paused reader still gets the rest
		// (onClose keeps the carry).
		return gnet.Close
	}
	if !drained {
		c.drain()
	}
	if c.failErr != nil {
		return gnet.Close
	}
	return gnet.None
}

// read parses what has arrived. It stops when the pipe's inbound queue is full, and then stops the
// input (pauseInput) so that the kernel pushes back. What a LoopOwner's handler queued meanwhile
// (TrySendLoop) is written before it returns; drained says so (the queue was drained after the
// last message was read, so a caller about to drain need not: a send since then has woken the loop).
func (c *conn) read() (drained bool) {
	c.readIn()
	c.settleLowWater()
	if c.loopDrain {
		c.loopDrain = false
		if !c.closed() && c.failErr == nil && c.in != inDetaching {
			c.drain()
			return true
		}
	}
	return false
}

func (c *conn) readIn() {
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
		if c.tls != nil {
			// The record layer: the rest of a large body is decrypted straight into the message
			// (tlsBody), anything else into the carry and parsed from there.
			if c.carry.len() == 0 && c.cur != nil && c.curLeft >= directMin {
				if err := c.tlsBody(); err != nil {
					c.fail(err)
					return
				}
				if c.closed() {
					return
				}
			}
			if err := c.tlsDecrypt(); err != nil {
				c.fail(err)
				return
			}
			if c.closed() {
				return
			}
			in = c.carry.bytes()
		} else if c.gc != nil {
			in, _ = c.gc.Peek(-1)
		}
		if c.tls == nil && c.carry.len() > 0 {
			c.carry.add(c.loop, in)
			if len(in) > 0 {
				_, _ = c.gc.Discard(len(in))
			}
			in = c.carry.bytes()
		}
		if len(in) == 0 {
			if len(c.batch) > 0 && !c.settle() { // tlsBody completed a message
				continue
			}
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
		if err == nil && c.askAuth() {
			continue // answered at once (no ZAP handler): parse what waited
		}
		if err == nil && (c.auth != nil || c.sess.Silenced()) && len(in)-n > c.authInputMax() {
			// Nothing is consumed while ZAP decides, and a client waiting for our answer has
			// nothing more to say: libzmq fails a command there.
			err = errAuthInput
		}
		if err == nil && c.curLeft >= directMin {
			err = c.readBody()
			if c.closed() {
				return
			}
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
	stillPaused := c.pipe.deliver(c, c.batch, c.paused)
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

// Room reports whether the inbound queue has room for another message, and pauses reading when it
// has none. It implements zmtp.Roomer: a CURVE MESSAGE over ws is taken only when the message it
// may start has room, since its box is opened once. On c's loop.
func (c *conn) Room() bool {
	if c.room <= 0 {
		c.paused = true
		return false
	}
	return true
}

// Frame starts a message frame; at a message boundary it refuses when the inbound queue is full
// (Room). The session has checked size against MAXMSGSIZE. On c's loop.
func (c *conn) Frame(size int, more, first bool) bool {
	if first {
		if !c.Room() {
			return false
		}
		c.room--
		c.cur = pool.NewMsg()
		c.cur.ReserveFront(c.opts.headroom)
		c.cur.SetMetadata(c.meta)
	}
	reserve := size
	if size > trustedFrame && c.opts.Session.MaxMsgSize <= 0 {
		// No limit vouches for the size: a first part, then the whole once the part is filled.
		reserve = min(trustedFrame, (size+commitRatio-1)/commitRatio)
	}
	c.cur.ReserveFrame(reserve)
	c.curMore = more
	c.curLeft = size
	return true
}

// FrameData streams a frame's body into the message being received: p is copied out of gnet's
// buffer, or was read into the message by readBody and is taken in place.
func (c *conn) FrameData(p []byte, last bool) {
	if len(p) > 0 {
		if len(c.cur.Spare()) < len(p) {
			c.growFrame(len(p))
		}
		c.cur.Extend(p)
		c.curLeft -= len(p)
	}
	if last && !c.curMore {
		c.batch = append(c.batch, c.cur)
		c.cur = nil
	}
}

// growFrame makes room for at least n more bytes (p, in hand) of a frame that was not reserved
// whole: the frame's whole rest when that keeps it within commitRatio times what has arrived of it
// (p included), as it does once its first part is filled, else up to that.
func (c *conn) growFrame(n int) {
	got := len(c.cur.Frame(c.cur.Len()-1)) + n
	c.cur.Grow(min(max(n, commitRatio*got-got+n), c.curLeft))
}

// readBody reads the rest of a large frame's body from the socket straight into the message and
// hands it to the framer, which takes it in place. It stops at the end of the frame (what follows is
// a header: gnet reads it), when the kernel has no more (level-triggered epoll reports the rest),
// or at directBudget. It requires that gnet hold none of the connection's bytes, so that the
// descriptor's next bytes are the body's: everything gnet had is parsed by now. An error of the
// descriptor fails the connection as gnet's read would; at EOF gnet's next read finds it. A byte
// stream under the framer (tls://, wss://) turns this off: the socket's bytes are not the body's.
func (c *conn) readBody() error {
	if !directReads || c.tls != nil || c.gc == nil || c.cur == nil || c.in != inGnet || c.carry.len() > 0 ||
		c.failErr != nil || c.gc.InboundBuffered() > 0 {
		return nil
	}
	fd := c.gc.Fd()
	for budget := directBudget; budget > 0 && c.curLeft > 0 && c.cur != nil; {
		sp := c.cur.Spare()
		if len(sp) == 0 {
			return nil // grown as bytes arrive (FrameData), never ahead of them
		}
		want := min(len(sp), c.curLeft, budget)
		n, err := readFD(fd, sp[:want])
		if err != nil {
			if !wouldBlock(err) {
				c.fail(os.NewSyscallError("read", err))
				return nil
			}
			c.raiseLowWater(fd)
			return nil
		}
		if n <= 0 {
			return nil // EOF: gnet's next read closes the connection
		}
		budget -= n
		c.loop.directReads.Add(1)
		c.sc.directReads.Add(1)
		k, err := c.framer.parse(sp[:n])
		if err != nil || c.closed() {
			return err
		}
		if k < n {
			// Never so (a body's bytes are taken whole), but the stream must stay intact.
			c.carry.add(c.loop, sp[k:n])
			return nil
		}
		if n < want {
			c.raiseLowWater(fd)
			return nil // the kernel had no more: wait for the next readiness
		}
	}
	return nil
}

// Command passes SUBSCRIBE, CANCEL and unknown commands up to the socket.
func (c *conn) Command(cmd codec.Command) {
	if c.pipe != nil {
		c.owner.PipeCommand(c.pipe, cmd)
	}
}

// A large body over TCP wakes its loop in bulk. When readBody finds the kernel empty in the middle of
// a body, the socket's receive low-water mark (SO_RCVLOWAT) is raised to what is left of the body,
// at most lowWaterMax, and epoll reports the socket readable only once that much has arrived (or the
// peer closed, or the kernel needs the reader to open its window). A wake then reads the bulk in one
// go, where otherwise the loop woke for every few segments, each wake starting with gnet's 64 KiB
// read and its copy into the body. The mark never exceeds what the peer still owes of the frame,
// all of it still to come from the socket (none of it in gnet's buffer or the carry), so it cannot
// hold back bytes that are due; settleLowWater puts it back to 1 after every read that ended
// otherwise. A connection with a heartbeat deadline (ours or the peer's TTL) is left alone: its
// session must see the body's bytes as they come, or a slow body would look like a silent peer.
// Measured side by side on loopback (bench/results/2026-12-05-lowwater.md, 11 runs): the receiver's
// CPU time a fifth lower over tcp at 1 and 16 MiB and a tenth over ws, at the same rate or a higher
// one; on loopback part of it moves to the sender, whose side then queues the segments that the
// reader, inside its read, would have taken from the socket's backlog. A unix socket's poll ignores
// the mark, and tls streams are not read this way: ipc:// and tls:// are left as they were.
const (
	lowWaterMin = 128 << 10 // a smaller rest comes in a wake or two anyway
	lowWaterMax = 1 << 20
)

// raiseLowWater raises the mark for the rest of the current body, read so far straight from fd
// (readBody, when the kernel had no more). On the loop.
func (c *conn) raiseLowWater(fd int) {
	if c.lowat < 0 || c.cur == nil || c.curLeft < lowWaterMin || !c.sess.NextDeadline().IsZero() {
		return // a heartbeat's deadline needs the peer's bytes as they come, not in bulks
	}
	if c.lowat == 0 {
		if _, tcp := c.gc.LocalAddr().(*net.TCPAddr); !tcp {
			c.lowat = -1
			return
		}
		c.lowat = 1
	}
	v := int32(min(c.curLeft, lowWaterMax))
	if v == c.lowat {
		return
	}
	if err := setRcvLowat(fd, int(v)); err != nil {
		if c.lowat == 1 {
			c.lowat = -1 // unsupported here: the loop wakes as it did
		}
		return // a raised mark stays within the body (settleLowWater lowers it)
	}
	if c.lowat == 1 {
		c.loop.lowWaterWaits.Add(1)
		c.sc.lowWaterWaits.Add(1)
	}
	c.lowat = v
}

// settleLowWater puts a raised mark back to 1 unless the peer still owes the current frame at least
// that much, all of it still in the socket (after every read, on the loop). A connection detaching
// passes here before its descriptor leaves gnet.
func (c *conn) settleLowWater() {
	if c.lowat <= 1 || c.gc == nil || c.failErr != nil {
		return // a failing connection reads no more: its mark does not matter
	}
	if (c.in == inGnet || c.in == inMuted) && c.cur != nil && c.curLeft >= int(c.lowat) &&
		c.carry.len() == 0 && c.gc.InboundBuffered() == 0 {
		return
	}
	if err := setRcvLowat(c.gc.Fd(), 1); err != nil {
		c.fail(os.NewSyscallError("setsockopt", err)) // the raised mark could hold back what is due
		return
	}
	c.lowat = 1
}
