package reactor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/ws"
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

	// doneMu guards done and ended: done is made by the first goroutine that asks (doneChan),
	// most connections never being waited for, and closed by finish.
	doneMu sync.Mutex
	done   chan struct{}

	// Set once on the loop before any other goroutine can see c (through its pipe).
	loop *loop
	// sc are the socket's counters (Options.Counters), counted into besides the loop's.
	sc *Counters

	// lingerAsked is set (by any goroutine) before a lingering close is scheduled, so that an
	// unbind closing the listener's connections leaves this one to finish sending.
	lingerAsked atomic.Bool
	ended       bool // under doneMu: finish ran, and doneChan answers closedChan

	// loop-owned
	gc   gnet.Conn // nil while detached or after close
	sess *zmtp.Session
	pipe *Pipe
	life life  // handshake, ready, lingering, closed
	in   input // where the input is: in gnet, muted, detaching, detached, or gone
	// The flags are together, not by the fields they go with: a connection of a server with many
	// peers is mostly this struct, and a flag between two words costs a word.
	blocked      bool       // stopped encoding at sendBound until gnet's output drains (loop.block)
	paused       bool       // stopped parsing: the pipe's inbound queue is full (conn_pause.go)
	loopDrain    bool       // a LoopOwner's handler queued replies during this read: drain after it (Pipe.TrySendLoop)
	curMore      bool       // the frame of cur being received has MORE
	writing      bool       // the loop holds dw.mu for a write of its own
	silenced     bool       // ZAP said 300: reported, waiting for the handshake timer (zap.go)
	lastOutbound int        // gnet's outbound bytes at the last check while blocked
	carry        carry      // bytes gnet no longer holds (a detach, EOF while paused, the bytes that came with a client's WebSocket 101); parsed first
	framer       framer     // the wire format (framer.go); set before c is enrolled, never changed
	ws           *wsConn    // ZWS 2.0: the framer of a ws:// connection, nil for the others
	tls          *tlsStream // tls:// and wss://: the record layer under the framer (tls.go), nil for the others
	lingerEnd    time.Time  // zero: linger forever
	failErr      error      // why the connection is being closed by us
	cur          *pool.Msg  // message being received
	curLeft      int        // bytes of the current frame's body still to come
	room         int        // messages the pipe's inbound queue still takes
	batch        []*pool.Msg
	timerAt      int64            // key in the loop's timer heap (timerKey): at or before the session's next deadline
	timerIdx     int32            // index in the loop's timer heap, -1 when not in it
	dupFD        int32            // a duplicate of the socket while muted or detached, else -1
	auth         *ZAPCall         // the ZAP call the session waits on (zap.go)
	authReq      *zmtp.ZAPRequest // the session's last request passed on, so each goes once
	meta         *pool.Metadata   // the connection's metadata, built at Ready; every received message points at it

	dw directWriter // senders' direct writes (direct.go)

	// loop-owned: a large body the kernel took only part of (conn_write.go), and the output
	// watcher's registration of the socket (outwatch.go)
	part        partial
	afterPart   []byte        // what the loop wrote while a body was held: it follows the body
	partWritten atomic.Uint64 // bytes of held bodies written, for the poll's progress (the watcher writes too)
	watchedFD   int32
	// lowat is the socket's receive low-water mark while a large body comes in over TCP
	// (conn_read.go): 0 not yet known, -1 not used on this connection (not TCP, or the system
	// refused it), 1 the kernel's default, more while raised.
	lowat   int32
	watched bool
}

// A connection's state is two small machines, both loop-owned.
//
// life, the connection's course:
//
//	lifeHandshake --Ready----------------------------> lifeReady
//	lifeHandshake --Ready, its pipe already lingering--> lifeLingering
//	lifeReady     --lingerClose (its socket closed)----> lifeLingering
//	any           --finish-----------------------------> lifeClosed (for good)
//
// input, where the bytes the peer sends are while the reader is full (paused) and after:
//
//	inGnet      --pauseInput, poller available-----------> inMuted
//	inGnet      --pauseInput, no poller, gnet holds a lot--> inDetaching
//	inDetaching --OnClose (our own)-------------------------> inDetached
//	inDetached  --re-enrolled (opened)---------------------> inGnet
//	inMuted     --read after resume-------------------------> inGnet
//	inGnet, inMuted --OnClose while paused, data left-------> inGone, then finish once delivered
type (
	life  uint8
	input uint8
)

const (
	lifeHandshake life = iota // greeting and security handshake (or the ws upgrade) in progress
	lifeReady                 // attached to its pipe: messages flow both ways
	lifeLingering             // its socket closed: it writes what is queued, then closes (or at lingerEnd)
	lifeClosed                // finished: gnet let go of it and its pipe was told
)

const (
	inGnet      input = iota // gnet reads it (while paused, bytes stay in gnet until pauseInput)
	inMuted                  // registered for no events in the loop's poller; dupFD keeps the socket readable
	inDetaching              // leaving gnet while paused: the next OnClose is our own, not the end
	inDetached               // out of gnet while paused; dupFD holds the socket, carry what gnet had read
	inGone                   // the peer closed while the reader was full: carry holds the rest
)

// closed reports whether c finished for good.
func (c *conn) closed() bool { return c.life == lifeClosed }

// ready reports whether c completed its handshake and is not closed.
func (c *conn) ready() bool { return c.life == lifeReady || c.life == lifeLingering }

// lingering reports whether c writes its closed socket's last messages before closing.
func (c *conn) lingering() bool { return c.life == lifeLingering }

func newConn(r *Reactor, owner Owner, opts *Options, ep string) *conn {
	c := &conn{r: r, owner: owner, opts: opts, ep: ep, dupFD: -1, timerIdx: -1, sc: opts.Counters}
	if c.sc == nil {
		c.sc = new(Counters) // no socket asked: counted where nobody looks, without a branch per write
	}
	c.sess = zmtp.NewSession(&opts.Session)
	if opts.raw {
		c.framer = rawFramer{c}
	} else {
		c.framer = zmtpFramer{c}
		if opts.Session.Curve {
			c.framer = &curveFramer{inner: c.framer, c: c}
		}
	}
	return c
}

// doneChan returns a channel closed once c finished for good. Any goroutine. It is made on first
// use: a connection nobody waits for (most of a server's) carries no channel.
func (c *conn) doneChan() <-chan struct{} {
	c.doneMu.Lock()
	defer c.doneMu.Unlock()
	if c.done == nil {
		if c.ended {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// The tasks below are made when they are posted, rare events in a connection's life, rather than
// kept in every connection.

func (c *conn) closeTask(context.Context) error { c.closeNow(ErrClosed); return nil }

func (c *conn) expireTask(context.Context) error { c.expire(); return nil }

func (c *conn) unbindTask(context.Context) error {
	if !c.lingerAsked.Load() {
		c.closeNow(ErrClosed)
	}
	return nil
}

// scheduleDrain asks c's loop to write queued messages. Any goroutine; the pipe's scheduled flag
// makes sure a burst of sends costs one wake-up.
func (c *conn) scheduleDrain() { c.loop.w.post(c, taskDrain) }

// scheduleResume asks c's loop to read again after the reader made room. Any goroutine.
func (c *conn) scheduleResume() { c.loop.w.post(c, taskResume) }

// scheduleClose closes c on its loop at once, dropping what is unsent. Any goroutine. An error
// means the loop is gone (the reactor shut down), and gnet closed the connection itself.
func (c *conn) scheduleClose() {
	_ = c.loop.el.Execute(context.Background(), gnet.RunnableFunc(c.closeTask))
}

// scheduleUnbind closes c like scheduleClose unless its socket asked it to linger.
func (c *conn) scheduleUnbind() {
	_ = c.loop.el.Execute(context.Background(), gnet.RunnableFunc(c.unbindTask))
}

// opened runs in OnOpen: a new connection, or a paused one coming back.
func (c *conn) opened(gc gnet.Conn) (out []byte) {
	c.gc = gc
	if c.in == inDetached {
		c.in = inGnet
		c.read()
		if !c.closed() {
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
	if c.opts.raw {
		// No handshake: the peer is whatever connected. The pipe is live at once.
		if err := c.Ready(&zmtp.Peer{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, Properties: map[string][]byte{}}); err != nil {
			c.fail(err)
			return nil
		}
		c.drain()
		return nil
	}
	start := time.Now()
	if c.tls != nil {
		// HANDSHAKE_IVL bounds the TLS and the ZMTP handshake together. crypto/tls may have read
		// the peer's first bytes with its last handshake record: decrypt them now, gnet would
		// not report them.
		start = c.tls.start
		c.tlsHold()
		if err := c.tlsOpen(nil); err != nil {
			c.fail(err)
			return nil
		}
	}
	if c.ws != nil {
		c.ws.start(start)
		if c.askAuth() && c.failErr != nil {
			return nil // refused at once: OnOpen closes it
		}
		c.loop.watch(c)
		if c.carry.len() > 0 {
			// The server's READY may have come with its 101: the handshake can end right here,
			// and the pipe then expects us to drain (attach left it scheduled).
			c.read()
			c.drain()
		}
		return nil
	}
	out = c.sess.Start(start, c.loop.scratch[:0])
	c.loop.watch(c)
	if c.tls != nil {
		c.write(out) // encrypted; gnet's own write of out would not be
		out = nil
		if c.carry.len() > 0 {
			c.read()
			c.drain()
		}
	}
	return out
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
	c.meta = c.buildMetadata(peer)
	if !p.attach(c, peer) {
		return ErrClosed
	}
	c.life = lifeReady
	c.tlsRelease()
	c.room = p.inRoom()
	if end, ok := p.lingerUntil(); ok {
		// The socket closed while this connection was being made: deliver what it queued, then
		// close (Dialer.Close). The drain after this read starts it; tick applies the deadline.
		c.lingerAsked.Store(true)
		c.r.lingerOn(c)
		c.life, c.lingerEnd = lifeLingering, end
		c.loop.poll(c)
	}
	if c.dialer != nil {
		c.dialer.connected()
	}
	c.owner.Event(Event{Type: EventHandshakeSucceeded, Endpoint: c.ep, Remote: c.remote})
	return nil
}

// runTimers runs the session's timers (handshake timeout, heartbeats) on the loop.
func (c *conn) runTimers(now time.Time) {
	locked := c.opts.Session.Curve && c.lockWrites() // a CURVE PING takes a nonce: see curveFramer
	out, err := c.sess.Tick(now, c.loop.scratch[:0])
	c.writeOut(out)
	if locked {
		c.unlockWrites()
	}
	if err != nil && !c.closed() {
		c.fail(err)
		if c.gc != nil {
			_ = c.loop.el.Close(c.gc)
		}
		return
	}
	if !c.closed() {
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
	if c.closed() {
		return
	}
	if c.gc == nil || !c.ready() {
		if c.dialer != nil && c.gc != nil {
			if _, ok := c.dialer.pipe.lingerUntil(); ok {
				return // still in its handshake: it lingers from Ready on
			}
		}
		c.closeNow(ErrClosed)
		return
	}
	c.stopDirect()
	c.life, c.lingerEnd = lifeLingering, end
	c.drain()
	c.checkLinger(time.Now())
	if !c.closed() {
		c.loop.poll(c) // until flushed, or the linger ends
	}
}

func (c *conn) checkLinger(now time.Time) {
	if c.closed() {
		return
	}
	flushed := c.pipe == nil || (c.pipe.OutLen() == 0 && len(c.dw.pend) == 0 && !c.pending() && len(c.afterPart) == 0 &&
		(c.gc == nil || c.gc.OutboundBuffered() == 0))
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
	if c.closed() {
		return
	}
	msgs := 0
	if c.pipe != nil {
		msgs = c.pipe.OutLen()
	}
	c.closeNow(lingerExpired(msgs, len(c.dw.pend)+c.outbound()+c.partBytes()+len(c.afterPart)))
}

// scheduleExpire runs expire on c's loop. Any goroutine.
func (c *conn) scheduleExpire() {
	_ = c.loop.el.Execute(context.Background(), gnet.RunnableFunc(c.expireTask))
}

// closeNow closes c on its loop, whatever is pending.
func (c *conn) closeNow(err error) {
	if c.closed() {
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
	c.dropHeld()
	c.loop.ow.forget(c)
	if c.in == inDetaching {
		c.in = inDetached
		c.gc = nil
		return
	}
	muted := c.in == inMuted
	c.in = inGnet
	if c.tls != nil && err != nil {
		err = c.tlsWhy(err)
	}
	if c.failErr != nil {
		err = c.failErr
	} else if c.paused && c.ready() && !c.lingering() && !c.pipe.isClosed() {
		// The peer closed while its messages wait for our reader: keep what gnet holds and
		// deliver it when the reader makes room, then finish.
		if in, _ := c.gc.Peek(-1); len(in) > 0 {
			c.carryRaw(in)
		}
		if muted {
			if c.tls != nil {
				c.tlsReadAll(int(c.dupFD))
			} else {
				c.carry.readAll(c.loop, int(c.dupFD))
			}
		}
		c.closeDup()
		if c.carry.len() > 0 {
			c.in = inGone
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
		_ = closeFD(int(c.dupFD))
		c.dupFD = -1
	}
}

// finish ends the connection for good (on the loop).
func (c *conn) finish(err error) {
	if c.closed() {
		return
	}
	c.stopDirect()
	c.dropPart()
	c.dropAuth()
	wasReady := c.ready()
	c.life = lifeClosed
	c.gc = nil
	c.loop.forget(c)
	c.closeDup()
	c.tlsRelease()
	c.carry.reset(c.loop)
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
		c.curLeft = 0
	}
	for i, m := range c.batch {
		m.Release()
		c.batch[i] = nil
	}
	c.batch = c.batch[:0]
	ev := Event{Endpoint: c.ep, Remote: c.remote, Err: err}
	var te *TLSError
	switch {
	case wasReady:
		if zmtp.MessageRefused(err) && !c.silenced {
			// As libzmq's CURVE decoder, which reports its refusal where it happens.
			c.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: c.ep, Remote: c.remote, Err: err})
		}
		ev.Type = EventDisconnected
	case errors.As(err, &te):
		ev.Type = EventHandshakeFailedProtocol // libzmq has no TLS event; Err is the *TLSError
	case errors.Is(err, zmtp.ErrAuthentication):
		ev.Type = EventHandshakeFailedAuth
		ev.Value = zmtp.AuthStatus(err)
	case isProtocolError(err):
		ev.Type = EventHandshakeFailedProtocol
	default:
		ev.Type = EventHandshakeFailedNoDetail
	}
	if errors.Is(err, ErrClosed) && !wasReady || c.silenced {
		ev.Type = EventDisconnected // a silenced connection's refusal was reported already
	}
	if c.pipe != nil {
		c.pipe.detachConn(c)
	}
	c.owner.Event(ev)
	if c.ln != nil {
		c.ln.forget(c)
	}
	c.r.forget(c)
	c.doneMu.Lock()
	c.ended = true
	if c.done != nil {
		close(c.done)
	}
	c.doneMu.Unlock()
}

func isProtocolError(err error) bool {
	var pe *codec.ProtocolError
	var ve *codec.VersionError
	return errors.As(err, &pe) || errors.As(err, &ve) || errors.Is(err, zmtp.ErrIncompatible) ||
		errors.Is(err, zmtp.ErrMechanismMismatch) || errors.Is(err, zmtp.ErrTooLarge) || errors.Is(err, zmtp.ErrZAPReply) ||
		errors.Is(err, zmtp.ErrCryptographic) ||
		errors.Is(err, zmtp.ErrTooManyFrames) || errors.Is(err, zmtp.ErrUnexpectedCommand) ||
		errors.Is(err, ws.ErrProtocol) || errors.Is(err, ws.ErrHandshake) // as libzmq's ws engine
}
