package reactor

import (
	"context"
	"io"
	"net"
	"os"

	"github.com/panjf2000/gnet/v2"
)

// Pausing: a connection whose reader is full stops reading from the kernel so that TCP pushes back
// on the sender: muted in the loop's poller where that works (mute_*.go), else taken out of gnet
// (detached) and re-enrolled once the reader made room.

// pauseInput stops reading a paused connection from the kernel. It mutes it in the loop's poller
// (mute_*.go; with epoll no events at all, and the loop flushes gnet's output for it, see
// flushMuted), or where that is unavailable takes it out of gnet once gnet holds pauseSoftLimit bytes
// for it and no output (gnet drops output on close). Where neither is possible (Windows) gnet keeps
// reading it into its buffer. It runs again after every write that left output in gnet: gnet re-arms
// input when it queues output.
func (c *conn) pauseInput() {
	if c.gc == nil {
		return
	}
	if ep := c.loop.muter(); ep >= 0 {
		if c.in != inMuted {
			// A peer's close over ipc raises EPOLLHUP, which no mask hides, and on which gnet
			// closes without reading: the duplicate keeps what the kernel holds readable (onClose).
			fd, err := c.gc.Dup()
			if err != nil {
				return // gnet keeps reading; the next read tries again
			}
			c.dupFD = int32(fd) // a descriptor is a C int
		}
		if mute(ep, c.gc.Fd()) == nil && c.in != inMuted {
			c.in = inMuted
			c.loop.pauses.Add(1)
			c.sc.pauses.Add(1)
		}
		if c.in != inMuted {
			c.closeDup()
			return
		}
		if c.gc.OutboundBuffered() > 0 {
			c.loop.poll(c) // no EPOLLOUT while muted: the loop flushes gnet's output itself
		}
		return
	}
	if !detachable {
		return
	}
	if c.gc.OutboundBuffered() > 0 || c.pending() || c.gc.InboundBuffered() < pauseSoftLimit {
		return
	}
	fd, err := c.gc.Dup()
	if err != nil {
		return // keep buffering; try again on the next read
	}
	in, _ := c.gc.Peek(-1)
	c.carryRaw(in)
	if len(in) > 0 {
		_, _ = c.gc.Discard(len(in)) // hands gnet's Peek copy back to its pool
	}
	c.dupFD = int32(fd)
	c.in = inDetaching
	c.loop.pauses.Add(1)
	c.loop.detaches.Add(1)
	c.sc.pauses.Add(1)
	c.sc.detaches.Add(1)
}

// flushMuted writes what gnet holds for a muted connection (no EPOLLOUT tells gnet to) and mutes
// it again at once: gnet re-arms reading when its buffer empties, and no epoll_wait may come first.
func (c *conn) flushMuted() {
	if c.in != inMuted || c.gc == nil || c.gc.OutboundBuffered() == 0 {
		return
	}
	locked := c.lockWrites()
	_ = c.gc.Flush() // a write error closes c inside gnet
	if locked {
		c.unlockWrites()
	}
	// gnet re-arms reading only when Flush empties its buffer; after a partial flush the descriptor
	// is still muted and another epoll_ctl would be a wasted system call per poll.
	if c.in == inMuted && !c.closed() && c.gc != nil && c.gc.OutboundBuffered() == 0 {
		_ = mute(c.loop.muteFD, c.gc.Fd())
	}
}

// resume runs on the loop when the reader made room.
func (c *conn) resume() {
	if c.closed() {
		return
	}
	if c.in == inGone {
		// The peer is gone; what it sent before closing is still delivered, as libzmq does.
		c.paused = false
		c.read()
		if !c.paused || c.failErr != nil {
			c.finish(io.EOF)
		}
		return
	}
	if c.in == inDetached {
		if c.dupFD < 0 || !c.paused {
			return // already on its way back
		}
		// Parse what gnet had read first, and come back into epoll only once it is all delivered:
		// otherwise every stay in gnet would pile the kernel's buffer onto the carry.
		c.paused = false
		c.read()
		if c.failErr != nil {
			c.closeNow(c.failErr)
			return
		}
		if !c.paused && !c.closed() {
			c.reenroll()
		}
		return
	}
	c.paused = false
	if c.gc != nil {
		c.read()
		if c.closed() {
			return
		}
		if c.failErr != nil || c.in == inDetaching {
			_ = c.loop.el.Close(c.gc)
			return
		}
		c.drain()
	}
}

// reenroll hands the paused socket back to the same loop. Enroll blocks until OnOpen has run, so it
// happens on a goroutine of its own.
func (c *conn) reenroll() {
	fd := int(c.dupFD)
	c.dupFD = -1
	c.r.wg.Add(1)
	go func() {
		defer c.r.wg.Done()
		f := os.NewFile(uintptr(fd), "zloop")
		nc, err := net.FileConn(f)
		_ = f.Close()
		if err == nil {
			var ch <-chan gnet.RegisteredResult
			ch, err = c.loop.el.Enroll(gnet.NewContext(context.Background(), c), nc)
			if err == nil {
				res := <-ch
				err = res.Err
			} else {
				_ = nc.Close()
			}
		}
		if err != nil {
			_ = c.loop.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				c.finish(err)
				return nil
			}))
		}
	}()
}
