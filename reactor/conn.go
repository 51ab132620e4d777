package reactor

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// conn is one ZMTP connection. It is pinned to one event loop for life (the detaching fallback of a
// pause re-enrolls it on the same loop), and every field below "loop-owned" is touched only on that
// loop.
type conn struct {
	r      *Reactor
	owner  Owner
	opts   *Options
	ep     string
	remote string
	dialer *Dialer   // nil for an accepted connection
	ln     *Listener // nil for a dialed connection
	done   chan struct{}

	// Set once on the loop before any other goroutine can see c (through its pipe).
	loop *loop
	// sc are the socket's counters (Options.Counters), counted into besides the loop's.
	sc *Counters

	closeTask, unbindTask, expireTask gnet.RunnableFunc
	// lingerAsked is set (by any goroutine) before a lingering close is scheduled, so that an
	// unbind closing the listener's connections leaves this one to finish sending.
	lingerAsked atomic.Bool

	// loop-owned
	gc           gnet.Conn // nil while detached or after close
	sess         *zmtp.Session
	pipe         *Pipe
	closed       bool
	handshaken   bool
	blocked      bool    // stopped encoding at sendBound until gnet's output drains (loop.block)
	lastOutbound int     // gnet's outbound bytes at the last check while blocked
	paused       bool    // stopped reading: the pipe's inbound queue is full
	muted        bool    // paused, and epoll reports no input for it (mute.go); dupFD holds the socket
	detaching    bool    // the next OnClose is our own pause, not the end
	detached     bool    // paused and out of epoll; dupFD keeps the socket open
	dupFD        int     // a duplicate of the socket while muted or detached, else -1
	carry        carry   // bytes gnet no longer holds (a detach, EOF while paused, after a 101); parsed first
	framer       framer  // the wire format (framer.go); set before c is enrolled, never changed
	ws           *wsConn // ZWS 2.0: the framer of a ws:// connection, nil for the others
	initial      []byte  // bytes that came with the connection (after a client's WebSocket 101)
	eof          bool    // the peer closed while we were paused: deliver carry, then finish
	lingering    bool
	lingerEnd    time.Time // zero: linger forever
	failErr      error     // why the connection is being closed by us
	cur          *pool.Msg // message being received
	curMore      bool
	room         int // messages the pipe's inbound queue still takes
	batch        []*pool.Msg
	writing      bool      // the loop holds dw.mu for a write of its own
	timerAt      time.Time // key in the loop's timer heap: at or before the session's next deadline
	timerIdx     int       // index in the loop's timer heap, -1 when not in it

	dw directWriter // senders' direct writes (direct.go)
}

func newConn(r *Reactor, owner Owner, opts *Options, ep string) *conn {
	c := &conn{r: r, owner: owner, opts: opts, ep: ep, done: make(chan struct{}), dupFD: -1, timerIdx: -1, sc: opts.Counters}
	if c.sc == nil {
		c.sc = new(Counters) // no socket asked: counted where nobody looks, without a branch per write
	}
	c.sess = zmtp.NewSession(&opts.Session)
	if opts.Raw {
		c.framer = rawFramer{c}
	} else {
		c.framer = zmtpFramer{c}
	}
	c.closeTask = func(context.Context) error { c.closeNow(ErrClosed); return nil }
	c.expireTask = func(context.Context) error { c.expire(); return nil }
	c.unbindTask = func(context.Context) error {
		if !c.lingerAsked.Load() {
			c.closeNow(ErrClosed)
		}
		return nil
	}
	return c
}

// scheduleDrain asks c's loop to write queued messages. Any goroutine; the pipe's scheduled flag
// makes sure a burst of sends costs one wake-up.
func (c *conn) scheduleDrain() { c.loop.w.post(c, taskDrain) }

// scheduleResume asks c's loop to read again after the reader made room. Any goroutine.
func (c *conn) scheduleResume() { c.loop.w.post(c, taskResume) }

// scheduleClose closes c on its loop at once, dropping what is unsent. Any goroutine. An error
// means the loop is gone (the reactor shut down), and gnet closed the connection itself.
func (c *conn) scheduleClose() { _ = c.loop.el.Execute(context.Background(), c.closeTask) }

// scheduleUnbind closes c like scheduleClose unless its socket asked it to linger.
func (c *conn) scheduleUnbind() { _ = c.loop.el.Execute(context.Background(), c.unbindTask) }

// opened runs in OnOpen: a new connection, or a paused one coming back.
func (c *conn) opened(gc gnet.Conn) (out []byte) {
	c.gc = gc
	if c.detached {
		c.detached = false
		c.read()
		if !c.closed {
			c.drain()
			c.loop.watch(c)
		}
		return nil
	}
	if c.remote == "" {
		if a := gc.RemoteAddr(); a != nil {
			c.remote = a.String()
		}
	}
	if len(c.initial) > 0 {
		c.carry.add(c.loop, c.initial)
		c.initial = nil
	}
	if c.opts.Raw {
		// No handshake: the peer is whatever connected. The pipe is live at once.
		if err := c.Ready(&zmtp.Peer{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, Properties: map[string][]byte{}}); err != nil {
			c.fail(err)
			return nil
		}
		c.drain()
		return nil
	}
	if c.ws != nil {
		c.ws.start(time.Now())
		c.loop.watch(c)
		if c.carry.len() > 0 {
			// The server's READY may have come with its 101: the handshake can end right here,
			// and the pipe then expects us to drain (attach left it scheduled).
			c.read()
			c.drain()
		}
		return nil
	}
	out = c.sess.Start(time.Now(), c.loop.scratch[:0])
	c.loop.watch(c)
	return out
}

// traffic runs in OnTraffic (also after gnet's Wake).
func (c *conn) traffic() gnet.Action {
	if c.muted {
		c.loop.mutedReads.Add(1) // gnet read while we had muted it: see mute
		c.sc.mutedReads.Add(1)
	}
	c.read()
	if c.closed {
		return gnet.None
	}
	if c.detaching || c.failErr != nil {
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
		if c.closed || c.failErr != nil || c.detaching || (c.gc == nil && c.carry.len() == 0) {
			return
		}
		if c.paused {
			c.pauseInput()
			return
		}
		if c.muted {
			c.muted = false
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
		if c.closed {
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
		if !c.muted {
			// A peer's close over ipc raises EPOLLHUP, which no mask hides, and on which gnet
			// closes without reading: the duplicate keeps what the kernel holds readable (onClose).
			fd, err := c.gc.Dup()
			if err != nil {
				return // gnet keeps reading; the next read tries again
			}
			c.dupFD = fd
		}
		if mute(ep, c.gc.Fd()) == nil && !c.muted {
			c.muted = true
			c.loop.pauses.Add(1)
			c.sc.pauses.Add(1)
		}
		if !c.muted {
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
	if c.gc.OutboundBuffered() > 0 || c.gc.InboundBuffered() < pauseSoftLimit {
		return
	}
	fd, err := c.gc.Dup()
	if err != nil {
		return // keep buffering; try again on the next read
	}
	in, _ := c.gc.Peek(-1)
	c.carry.add(c.loop, in)
	if len(in) > 0 {
		_, _ = c.gc.Discard(len(in)) // hands gnet's Peek copy back to its pool
	}
	c.dupFD = fd
	c.detaching = true
	c.loop.pauses.Add(1)
	c.loop.detaches.Add(1)
	c.sc.pauses.Add(1)
	c.sc.detaches.Add(1)
}

// flushMuted writes what gnet holds for a muted connection (no EPOLLOUT tells gnet to) and mutes
// it again at once: gnet re-arms reading when its buffer empties, and no epoll_wait may come first.
func (c *conn) flushMuted() {
	if !c.muted || c.gc == nil || c.gc.OutboundBuffered() == 0 {
		return
	}
	locked := c.lockWrites()
	_ = c.gc.Flush() // a write error closes c inside gnet
	if locked {
		c.unlockWrites()
	}
	// gnet re-arms reading only when Flush empties its buffer; after a partial flush the descriptor
	// is still muted and another epoll_ctl would be a wasted system call per poll.
	if c.muted && !c.closed && c.gc != nil && c.gc.OutboundBuffered() == 0 {
		_ = mute(c.loop.muteFD, c.gc.Fd())
	}
}

// resume runs on the loop when the reader made room.
func (c *conn) resume() {
	if c.closed {
		return
	}
	if c.eof {
		// The peer is gone; what it sent before closing is still delivered, as libzmq does.
		c.paused = false
		c.read()
		if !c.paused || c.failErr != nil {
			c.finish(io.EOF)
		}
		return
	}
	if c.detached {
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
		if !c.paused && !c.closed {
			c.reenroll()
		}
		return
	}
	c.paused = false
	if c.gc != nil {
		c.read()
		if c.closed {
			return
		}
		if c.failErr != nil || c.detaching {
			_ = c.loop.el.Close(c.gc)
			return
		}
		c.drain()
	}
}

// reenroll hands the paused socket back to the same loop. Enroll blocks until OnOpen has run, so it
// happens on a goroutine of its own.
func (c *conn) reenroll() {
	fd := c.dupFD
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

// writeOut writes what the session produced, already in the framer's wire form.
func (c *conn) writeOut(out []byte) {
	if len(out) > 0 {
		c.write(out)
	}
}

// zmtp.Handler, called by c.sess.Read on the loop.

// Ready attaches the connection to its pipe once the handshake completed.
func (c *conn) Ready(peer *zmtp.Peer) error {
	p := c.pipe
	if c.dialer != nil {
		p = c.dialer.pipe
	} else if p == nil {
		p = newPipe(c.r, c.owner, c.opts, false)
	}
	c.pipe = p
	if !p.attach(c, peer) {
		return ErrClosed
	}
	c.handshaken = true
	c.room = p.inRoom()
	if end, ok := p.lingerUntil(); ok {
		// The socket closed while this connection was being made: deliver what it queued, then
		// close (Dialer.Close). The drain after this read starts it; tick applies the deadline.
		c.lingerAsked.Store(true)
		c.r.lingerOn(c)
		c.lingering, c.lingerEnd = true, end
		c.loop.poll(c)
	}
	if c.dialer != nil {
		c.dialer.connected()
	}
	c.owner.Event(Event{Type: EventHandshakeSucceeded, Endpoint: c.ep, Remote: c.remote})
	return nil
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
		c.cur.ReserveFront(c.opts.Headroom)
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

// drain encodes queued messages into the loop's batch and writes them, until the queue is empty or
// gnet holds sendBound bytes that the kernel would not take. The batch carries over from one hand of
// messages to the next, so a backlog goes out in outBatch-sized writes.
func (c *conn) drain() {
	if c.closed || c.gc == nil || c.pipe == nil || c.blocked || !c.handshaken {
		return
	}
	if !c.dw.ok.Load() && c.lockWrites() {
		c.flushPending() // what a direct write left goes first
		c.unlockWrites()
		if c.closed || c.gc == nil {
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
			if !c.closed && c.gc != nil {
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
		if c.closed || c.gc == nil {
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
		for j := 0; j < nf && !c.closed; j++ {
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
		if c.closed {
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
	if c.closed {
		buf = buf[:0]
	}
	return done, buf
}

// write sends b at once when the kernel takes it; gnet copies what it does not take. b is not used
// after write returns. A write error closes the connection inside gnet (OnClose runs before write
// returns), so callers check c.closed afterwards.
func (c *conn) write(b []byte) { c.writev(b, nil) }

// writev is write of hdr followed by body (nil: none), in one system call, body straight from the
// message. Every write of the loop goes through here: under the write lock, after what a direct
// write left.
func (c *conn) writev(hdr, body []byte) {
	if c.closed || c.gc == nil {
		return
	}
	locked := c.lockWrites()
	c.flushPending()
	if !c.closed && c.gc != nil {
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
	if c.closed || c.gc == nil {
		return
	}
	q := n
	if before == 0 {
		q = c.gc.OutboundBuffered()
		if q > 0 {
			c.dw.ok.Store(false) // gnet flushes on its own, without our write lock
			if c.muted {
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

// runTimers runs the session's timers (handshake timeout, heartbeats) on the loop.
func (c *conn) runTimers(now time.Time) {
	out, err := c.sess.Tick(now, c.loop.scratch[:0])
	c.writeOut(out)
	if err != nil && !c.closed {
		c.fail(err)
		if c.gc != nil {
			_ = c.loop.el.Close(c.gc)
		}
		return
	}
	if !c.closed {
		c.loop.watch(c)
	}
}

// fail records why we close the connection; the caller makes gnet close it.
func (c *conn) fail(err error) {
	if c.failErr == nil {
		c.failErr = err
	}
}

// lingerClose closes c once everything queued has reached the kernel, or at end (zero: no limit).
func (c *conn) lingerClose(end time.Time) {
	if c.closed {
		return
	}
	if c.gc == nil || !c.handshaken {
		if c.dialer != nil && c.gc != nil {
			if _, ok := c.dialer.pipe.lingerUntil(); ok {
				return // still in its handshake: it lingers from Ready on
			}
		}
		c.closeNow(ErrClosed)
		return
	}
	c.stopDirect()
	c.lingering, c.lingerEnd = true, end
	c.drain()
	c.checkLinger(time.Now())
	if !c.closed && !c.blocked {
		c.loop.poll(c) // until flushed, or the linger ends
	}
}

func (c *conn) checkLinger(now time.Time) {
	if c.closed {
		return
	}
	flushed := c.pipe == nil || (c.pipe.OutLen() == 0 && len(c.dw.pend) == 0 && (c.gc == nil || c.gc.OutboundBuffered() == 0))
	switch {
	case flushed:
		c.closeNow(ErrClosed)
	case !c.lingerEnd.IsZero() && !now.Before(c.lingerEnd):
		c.expire()
	}
}

// expire closes c on its loop because its linger ran out, or Reactor.Shutdown stopped waiting:
// what it had not written is dropped, and the monitor's event says how much.
func (c *conn) expire() {
	if c.closed {
		return
	}
	msgs := 0
	if c.pipe != nil {
		msgs = c.pipe.OutLen()
	}
	c.closeNow(lingerExpired(msgs, len(c.dw.pend)+c.outbound()))
}

// scheduleExpire runs expire on c's loop. Any goroutine.
func (c *conn) scheduleExpire() { _ = c.loop.el.Execute(context.Background(), c.expireTask) }

// closeNow closes c on its loop, whatever is pending.
func (c *conn) closeNow(err error) {
	if c.closed {
		return
	}
	c.fail(err)
	if c.gc != nil {
		_ = c.loop.el.Close(c.gc)
		return
	}
	c.finish(err)
}

// onClose runs in OnClose. A detach is not an end: the session and pipe stay.
func (c *conn) onClose(err error) {
	c.stopDirect() // gnet closes or gives up the descriptor next
	muted := c.muted
	c.muted = false
	if c.detaching {
		c.detaching = false
		c.detached = true
		c.gc = nil
		return
	}
	if c.failErr != nil {
		err = c.failErr
	} else if c.paused && c.handshaken && !c.lingering && !c.pipe.isClosed() {
		// The peer closed while its messages wait for our reader: keep what gnet holds and
		// deliver it when the reader makes room, then finish.
		if in, _ := c.gc.Peek(-1); len(in) > 0 {
			c.carry.add(c.loop, in)
		}
		if muted {
			c.carry.readAll(c.loop, c.dupFD)
		}
		c.closeDup()
		if c.carry.len() > 0 {
			c.eof = true
			c.gc = nil
			c.loop.forget(c)
			return
		}
	}
	c.gc = nil
	c.finish(err)
}

func (c *conn) closeDup() {
	if c.dupFD >= 0 {
		_ = closeFD(c.dupFD)
		c.dupFD = -1
	}
}

// finish ends the connection for good (on the loop).
func (c *conn) finish(err error) {
	if c.closed {
		return
	}
	c.stopDirect()
	c.closed = true
	c.gc = nil
	c.loop.forget(c)
	c.closeDup()
	c.carry.reset(c.loop)
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	for i, m := range c.batch {
		m.Release()
		c.batch[i] = nil
	}
	c.batch = c.batch[:0]
	ev := Event{Endpoint: c.ep, Remote: c.remote, Err: err}
	switch {
	case c.handshaken:
		ev.Type = EventDisconnected
	case errors.Is(err, zmtp.ErrAuthentication):
		ev.Type = EventHandshakeFailedAuth
	case isProtocolError(err):
		ev.Type = EventHandshakeFailedProtocol
	default:
		ev.Type = EventHandshakeFailedNoDetail
	}
	if errors.Is(err, ErrClosed) && !c.handshaken {
		ev.Type = EventDisconnected
	}
	if c.pipe != nil {
		c.pipe.detachConn(c)
	}
	c.owner.Event(ev)
	if c.ln != nil {
		c.ln.forget(c)
	}
	c.r.forget(c)
	close(c.done)
}

func isProtocolError(err error) bool {
	var pe *codec.ProtocolError
	var ve *codec.VersionError
	return errors.As(err, &pe) || errors.As(err, &ve) || errors.Is(err, zmtp.ErrIncompatible) ||
		errors.Is(err, zmtp.ErrMechanismMismatch) || errors.Is(err, zmtp.ErrTooLarge) ||
		errors.Is(err, zmtp.ErrTooManyFrames) || errors.Is(err, zmtp.ErrUnexpectedCommand)
}
