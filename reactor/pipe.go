package reactor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// Owner is the socket side of a pipe: the reactor tells it what happens to its pipes. Its methods are
// called on an event loop, on a dialer or listener goroutine, on the goroutine that calls Listen,
// Connect or Close (Event, and inproc's PipeAttached), or on an inproc linger's timer (Event); never
// with a pipe's lock or another socket's lock held by the reactor (inproc readiness and PipeDetached
// go through a loop for that reason). They must return quickly without blocking. Pipe methods are
// safe to call from an Owner callback.
type Owner interface {
	// PipeAttached: a handshake completed and p now has a connected peer (p.Peer() is set).
	// For a dialed pipe it is called after every successful (re)connection.
	PipeAttached(p *Pipe)
	// PipeDetached: p's connection is gone. final is true when p will never be attached again
	// (an accepted connection closed, or the pipe was closed); messages already received stay
	// readable with TryRecv.
	PipeDetached(p *Pipe, final bool)
	// PipeReadable: p's inbound queue went from empty to non-empty.
	PipeReadable(p *Pipe)
	// PipeWritable: p's outbound queue has room again after a TrySend found it full.
	PipeWritable(p *Pipe)
	// PipeCommand: the peer sent a command the session does not handle itself (SUBSCRIBE, CANCEL,
	// unknown ones). c aliases the read buffer: valid only during the call.
	PipeCommand(p *Pipe, c codec.Command)
	// Event reports a connection life-cycle event for monitoring.
	Event(e Event)
}

// LoopOwner is an Owner that handles what it receives on the loop itself, inside PipeReadable
// (sockets.Serve). For such an owner, while PipeReadable runs on the loop of p's connection,
// p.TrySendLoop queues into that loop's batch without a wake-up: the loop writes it when it is done
// reading, one write for every reply of the batch.
type LoopOwner interface {
	Owner
	// HandlesOnLoop marks the owner; it is never called.
	HandlesOnLoop()
}

// Pipe is one peer of a socket: a bounded queue of messages toward the peer (SNDHWM) and a bounded
// queue of complete messages received from it (RCVHWM). A dialed pipe exists from Connect on and
// outlives reconnections, as in libzmq, so messages can be queued before the peer is up; an accepted
// pipe lives as long as its connection.
//
// TrySend, TryRecv and the accessors are safe for concurrent use by any goroutine.
type Pipe struct {
	r     *Reactor
	owner Owner
	opts  *Options
	// inproc: twin is the other end of the pair (nil until both sides exist); twinFull says the
	// twin found our inbound queue full and waits for PipeWritable.
	twin *Pipe // written once: it sits with the read-mostly fields, before fanFull
	// fanFull: a fan-out found the queue at SNDHWM, and nothing made room since. FanOut reads it
	// without the lock and skips the pipe (libzmq's dist_t keeps a full pipe out of its active
	// set), so that a send when most subscribers are full costs a load per pipe, not a lock, a
	// refusal and a release. Set under mu by a fan-out's refusal (refuseLocked); cleared under mu
	// wherever outCount goes down (roomLocked), so a pipe with room is never skipped. It sits among
	// the fields written once, away from those the loop writes as it drains (mu, the queues), so
	// that a publisher reading it for every message does not keep taking their cache line from the
	// loop.
	fanFull atomic.Bool

	// data belongs to the socket layer (routing ids, subscriptions), which reaches it through
	// internal/plumb; the reactor never reads it.
	data any

	mu       sync.Mutex
	out      ring
	outCount int // accepted by TrySend and not yet encoded (out plus the loop's hand)
	in       ring
	conn     *conn // attached connection, nil while there is none
	peer     *zmtp.Peer
	tlsPeer  *TLSPeer // the current (or last) connection's TLS peer; nil without TLS
	// subCommands: the connection carries subscriptions as commands, not data frames (framer.go)
	subCommands bool
	// scheduled: a drain task is pending (or running) on conn's loop, so producers need not wake it.
	scheduled bool
	sawFull   bool // a TrySend failed on a full queue: report PipeWritable when room frees
	inPaused  bool // the connection stopped reading because in was full
	closed    bool
	// lingering: closed to senders, but a dialed pipe that still delivers what its closed socket
	// queued, until lingerEnd (nil: no limit); it keeps attaching connections meanwhile.
	lingering bool
	// Flags that belong with fields further down sit with these: a flag among words costs a word,
	// and a server keeps a pipe per peer. dial: the pipe is a dialer's; inproc, twinFull: see twin;
	// loopOwner, loopQueued: see reading.
	dial, inproc bool
	lingerEnd    *time.Time // nil: no limit; a pointer, as few pipes ever linger and a Time is three words
	// hand holds messages the loop took from out but could not encode yet (the kernel and gnet's
	// buffer were full). Owned by whichever loop the pipe is attached to; while busy (between
	// takeOut and encoded) only that loop touches it, even if the pipe is closed meanwhile (a
	// failed write closes the connection inside gnet, in the middle of encoding).
	hand []*pool.Msg
	busy bool
	// staleHand: the hand was dropped while busy (its connection ended mid-write); the loop
	// releases what is left of it in encoded instead of keeping it for the next connection.
	staleHand bool
	// handoff: a loop found the hand busy with another loop (a connection made while the one
	// before was still in its last write); encoded schedules the new connection's drain.
	handoff bool

	twinFull, loopOwner, loopQueued bool
	// idleAt is when TrySend last found the pipe idle (nothing queued, the loop not woken): a send
	// within directGap of it is part of a burst and goes through the loop, batched.
	idleAt int64

	// loopOwner: the owner is a LoopOwner. reading is the connection whose loop is in the owner's
	// PipeReadable (deliver), nil otherwise; loopQueued says a TrySendLoop meanwhile set scheduled
	// without waking anybody, so that loop must drain when the read is over.
	reading *conn
}

func newPipe(r *Reactor, owner Owner, opts *Options, dial bool) *Pipe {
	_, lo := owner.(LoopOwner)
	return &Pipe{r: r, owner: owner, opts: opts, dial: dial, loopOwner: lo}
}

// unpluggedLocked reports a dialed pipe with IMMEDIATE between connections; p.mu is held. It takes
// nothing then: libzmq's session terminates the pipe with its connection, and a message the socket
// gets in before it hears of that is dropped with the pipe, never kept for the next peer.
func (p *Pipe) unpluggedLocked() bool {
	return p.dial && p.opts.Immediate && !p.inproc && p.conn == nil
}

// isClosed reports whether p was closed (nobody will read it again).
func (p *Pipe) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Options returns the settings p was created with (read-only, for p's life). Any goroutine.
func (p *Pipe) Options() *Options { return p.opts }

// Dialed reports whether p belongs to a Connect (it survives reconnections). Any goroutine.
func (p *Pipe) Dialed() bool { return p.dial }

// Peer returns the metadata of the peer of the current (or last) connection; nil before the first
// handshake. The returned value is immutable. Any goroutine.
func (p *Pipe) Peer() *zmtp.Peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peer
}

// TLS returns what the TLS handshake of the current (or last) connection established about the
// peer (its verified certificate's subject and fingerprint): nil before the first handshake and for
// transports without TLS. Any goroutine; the value is immutable. It is set before the owner hears
// of the attachment (PipeAttached), so message metadata and ZAP can take it from there.
func (p *Pipe) TLS() *TLSPeer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tlsPeer
}

// Connected reports whether a connection with a completed handshake is attached. Any goroutine.
func (p *Pipe) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inproc {
		return p.twin != nil && !p.closed
	}
	return p.conn != nil
}

// TrySend queues m for the peer and returns true, or returns false without taking m when the queue
// is at SNDHWM or the pipe is closed. On success m belongs to the pipe: the caller must not touch it
// again. The owning loop is woken once per burst, not once per message; on an idle connection the
// calling goroutine may write m to the kernel itself (direct.go). Any goroutine.
func (p *Pipe) TrySend(m *pool.Msg) bool { return p.trySend(m, sendDirect, true) }

// TrySendLoop is TrySend for a LoopOwner's handler: called while the owner's PipeReadable runs on
// the loop of p's connection, it queues m in p and leaves it for that loop, which writes every such
// message in one batch when its read is over (no lock of the loop's, no wake-up, no system call of
// the caller's). Called at any other time, from any goroutine, it queues m for the loop and wakes
// it, never writing from the caller's goroutine. It takes m unless it returns false (at SNDHWM, or
// p closed).
func (p *Pipe) TrySendLoop(m *pool.Msg) bool { return p.trySend(m, sendLoop, true) }

// sendMode is who writes a message trySend queues.
type sendMode uint8

const (
	sendDirect sendMode = iota // the caller, on an idle connection; else the loop, woken
	sendLoop                   // the loop: without a wake-up when the caller is its reading handler
)

// trySend is TrySend and TrySendLoop; ask says a refusal at the limit asks for PipeWritable (or
// the inproc twin's taskWritable). A fan-out, which drops and has nobody waiting, does not ask: the
// owner's handler would take the socket's lock on the loop, against a publisher that holds it.
func (p *Pipe) trySend(m *pool.Msg, mode sendMode, ask bool) bool {
	p.mu.Lock()
	if p.inproc && p.twin != nil && !p.closed {
		q := p.twin
		p.mu.Unlock()
		return p.sendInproc(q, m, ask)
	}
	if p.refuseLocked(ask) {
		p.mu.Unlock()
		return false
	}
	c := p.conn
	// On an idle connection the caller writes m itself (direct.go), unless the loop is serving
	// several other peers: it is awake and writes the queue on this pass anyway, and replies written
	// from here, beside the loop's, reached some of a ROUTER's 1,000 DEALERs at once and left the
	// rest later (round trips' p99 1.3x libzmq's). A reply to a peer whose next requests already
	// wait goes through the loop too, which writes a pipelining peer's replies together.
	if mode == sendDirect && c != nil && p.outCount == 0 && !p.scheduled && p.in.len() == 0 && c.dw.ok.Load() {
		now := time.Now().UnixNano()
		direct := now-p.idleAt >= int64(directGap) && !c.loop.serving(now)
		p.idleAt = now
		if direct && c.tryDirect(m) {
			p.mu.Unlock()
			m.Release()
			return true
		}
	}
	p.out.push(m)
	p.outCount++
	wake := c != nil && !p.scheduled
	if wake {
		p.scheduled = true
		if mode == sendLoop && p.reading != nil && p.reading == c {
			// The loop reading c runs this handler: it drains after the read (conn.read).
			p.loopQueued, wake = true, false
		}
	}
	p.mu.Unlock()
	if wake {
		c.scheduleDrain()
	}
	return true
}

// refuseLocked reports whether p takes no message now (closed, IMMEDIATE between connections, or
// at SNDHWM); p.mu is held. At SNDHWM it records who hears of room: the owner's PipeWritable if ask,
// else (a fan-out, which drops and has nobody waiting) the fan-outs that skip p meanwhile
// (fanFull). roomLocked undoes the second, encoded the first.
func (p *Pipe) refuseLocked(ask bool) bool {
	if p.closed || p.unpluggedLocked() {
		return true
	}
	if p.opts.SndHWM <= 0 || p.outCount < p.opts.SndHWM {
		return false
	}
	if ask {
		p.sawFull = true
	} else if !p.inproc { // FanOut reads fanFull of network pipes only
		p.fanFull.Store(true)
	}
	return true
}

// SendLatest queues m in place of whatever is still queued and not yet taken by the loop, so the
// peer gets the newest message (ZMQ_CONFLATE on the sending side). It takes m unless the pipe is
// closed. Safe for any goroutine.
func (p *Pipe) SendLatest(m *pool.Msg) bool {
	p.mu.Lock()
	if p.closed || p.unpluggedLocked() {
		p.mu.Unlock()
		return false
	}
	if p.inproc && p.twin != nil {
		q := p.twin
		p.mu.Unlock()
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return false
		}
		q.in.releaseAll()
		q.in.push(m)
		q.mu.Unlock()
		q.notify(taskReadable)
		return true
	}
	n := p.out.len()
	p.out.releaseAll()
	p.outCount -= n
	p.out.push(m)
	p.outCount++
	p.roomLocked()
	c := p.conn
	wake := c != nil && !p.scheduled
	if wake {
		p.scheduled = true
	}
	p.mu.Unlock()
	if wake {
		c.scheduleDrain()
	}
	return true
}

// CanSend reports whether TrySend would accept a message now; when it would not for want of room,
// the owner's PipeWritable follows once there is some. Any goroutine.
func (p *Pipe) CanSend() bool {
	p.mu.Lock()
	if p.inproc && p.twin != nil && !p.closed {
		q := p.twin
		p.mu.Unlock()
		limit := inprocLimit(p, q)
		q.mu.Lock()
		defer q.mu.Unlock()
		ok := !q.closed && (limit <= 0 || q.in.len() < limit)
		if !ok && !q.closed {
			q.twinFull = true
		}
		return ok
	}
	defer p.mu.Unlock()
	return !p.refuseLocked(true)
}

// TryRecv returns the next received message, or nil when there is none. The message belongs to the
// caller, who must Release it. Any goroutine.
func (p *Pipe) TryRecv() *pool.Msg {
	p.mu.Lock()
	m := p.in.pop()
	p.unlockAfterRecv(m != nil)
	return m
}

// unlockAfterRecv releases p.mu, which the caller holds after taking messages from in (took: at
// least one), and lets the sender go on if that made room: an inproc twin that found in full hears
// it has room (taskWritable), a network connection paused on a full in resumes reading once in is
// down to the low water mark. Both are posted after the unlock: they take a loop's waker lock.
func (p *Pipe) unlockAfterRecv(took bool) {
	if p.inproc {
		var wake *Pipe
		if took && p.twinFull && p.twin != nil {
			if limit := inprocLimit(p.twin, p); limit <= 0 || p.in.len() < limit {
				p.twinFull, wake = false, p.twin
			}
		}
		p.mu.Unlock()
		if wake != nil {
			wake.notify(taskWritable)
		}
		return
	}
	var resume *conn
	if took && p.inPaused && p.in.len() <= lowWater(p.opts.RcvHWM) {
		p.inPaused = false
		resume = p.conn
	}
	p.mu.Unlock()
	if resume != nil {
		resume.scheduleResume()
	}
}

// TryRecvBatch appends up to cap(dst)-len(dst) received messages to dst, under one lock, and
// returns it; they belong to the caller, who must Release each. It is TryRecv for a reader that
// takes what is there in one go (a LoopOwner's PipeReadable). Any goroutine.
func (p *Pipe) TryRecvBatch(dst []*pool.Msg) []*pool.Msg {
	p.mu.Lock()
	n := len(dst)
	dst = p.in.popInto(dst)
	p.unlockAfterRecv(len(dst) > n)
	return dst
}

// InLen returns the number of received messages waiting in the pipe. Any goroutine.
func (p *Pipe) InLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.in.len()
}

// OutLen returns the number of messages queued toward the peer and not yet written. Any goroutine.
func (p *Pipe) OutLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.outCount
}

// lowWater is where a paused connection resumes reading: half the HWM, as libzmq, and always below
// it (with an HWM of 1 the half is the HWM itself, and a full queue would never count as paused).
func lowWater(hwm int) int {
	if hwm <= 0 {
		return 1 << 30
	}
	return min((hwm+1)/2, hwm-1)
}

// inRoom returns how many more messages the inbound queue takes (a large number without a limit).
func (p *Pipe) inRoom() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.RcvHWM <= 0 {
		return 1 << 30
	}
	return p.opts.RcvHWM - p.in.len()
}

// deliver appends received messages (on c's loop) and reports readability on an empty-to-non-empty
// transition. paused says the connection stopped reading because the queue was full; deliver returns
// whether it must stay paused (false when the reader drained the queue meanwhile).
func (p *Pipe) deliver(c *conn, batch []*pool.Msg, paused bool) bool {
	p.mu.Lock()
	wasEmpty := p.in.len() == 0
	for _, m := range batch {
		p.in.push(m)
	}
	if paused {
		// Recheck under the lock: a reader that drained below the low-water mark before this point
		// saw inPaused false and will not resume us, so keep reading instead.
		if p.opts.RcvHWM > 0 && p.in.len() > lowWater(p.opts.RcvHWM) {
			p.inPaused = true
		} else {
			paused = false
		}
	}
	call := wasEmpty && len(batch) > 0
	if call && p.loopOwner {
		p.reading = c
	}
	p.mu.Unlock()
	if !call {
		return paused
	}
	p.owner.PipeReadable(p)
	if p.loopOwner {
		p.mu.Lock()
		p.reading = nil
		if p.loopQueued {
			p.loopQueued = false
			c.loopDrain = true // read drains when it returns (flushLoop)
		}
		p.mu.Unlock()
	}
	return paused
}

// takeOut moves queued messages into the loop's hand (on the loop). It returns the hand.
func (p *Pipe) takeOut(max int) []*pool.Msg {
	p.mu.Lock()
	if p.busy {
		// The loop of the connection before is still encoding the hand (that connection ended in
		// the middle of a write, and this one was made meanwhile): the hand is its until encoded.
		p.scheduled = false
		p.handoff = true
		p.mu.Unlock()
		return nil
	}
	if len(p.hand) == 0 && p.out.len() == 0 {
		p.scheduled = false
		p.mu.Unlock()
		return nil
	}
	if cap(p.hand) < max {
		h := make([]*pool.Msg, len(p.hand), max)
		copy(h, p.hand)
		p.hand = h
	}
	p.hand = p.out.popInto(p.hand)
	h := p.hand
	p.busy = true
	if p.conn != nil {
		p.conn.dw.ok.Store(false) // the loop has output of its own until drain ends
	}
	p.mu.Unlock()
	return h
}

// encoded records that the loop wrote (and released) n messages from the front of the hand.
func (p *Pipe) encoded(n int) {
	p.mu.Lock()
	p.busy = false
	rest := copy(p.hand, p.hand[n:])
	clear(p.hand[rest:])
	p.hand = p.hand[:rest]
	p.outCount -= n
	if p.staleHand {
		// Dropped while we were encoding (closed, or IMMEDIATE and the connection ended): what is
		// left will never be sent.
		p.staleHand = false
		for i, m := range p.hand {
			m.Release()
			p.hand[i] = nil
		}
		p.outCount -= len(p.hand)
		p.hand = p.hand[:0]
	}
	var wake *conn
	if p.handoff {
		p.handoff = false
		if p.conn != nil && !p.scheduled {
			p.scheduled, wake = true, p.conn
		}
	}
	p.roomLocked()
	notify := p.sawFull && (p.opts.SndHWM <= 0 || p.outCount < p.opts.SndHWM)
	if notify {
		p.sawFull = false
	}
	p.mu.Unlock()
	if wake != nil {
		wake.scheduleDrain()
	}
	if notify {
		p.owner.PipeWritable(p)
	}
}

// attach connects c to p after its handshake (on c's loop).
func (p *Pipe) attach(c *conn, peer *zmtp.Peer) bool {
	p.mu.Lock()
	if p.closed && !p.lingering {
		p.mu.Unlock()
		return false
	}
	p.conn, p.peer, p.subCommands = c, peer, c.framer.subscriptionCommands(peer)
	p.tlsPeer = nil
	if c.tls != nil {
		p.tlsPeer = c.tls.peer
	}
	p.scheduled = true // the caller drains right away
	p.mu.Unlock()
	p.owner.PipeAttached(p)
	return true
}

// detachConn unhooks c (on c's loop, from OnClose). An accepted pipe ends with its connection.
func (p *Pipe) detachConn(c *conn) {
	p.mu.Lock()
	if p.conn != c {
		p.mu.Unlock()
		return
	}
	p.conn = nil
	p.scheduled = false
	p.inPaused = false
	// A dialed pipe ends with its connection when it is closed (unless it lingers) or will not
	// reconnect (RECONNECT_IVL < 0: its dialer stops).
	final := !p.dial || (!p.lingering && (p.closed || p.opts.ReconnectIvl < 0))
	if final {
		p.closed = true
	}
	if final || p.opts.Immediate {
		// With IMMEDIATE what was queued for this peer goes with its connection, as libzmq's
		// session terminates the pipe: the socket learns of the end only after this, and nothing
		// it sent meanwhile may reach the next peer (unpluggedLocked refuses from here on).
		p.dropOutLocked()
	}
	p.mu.Unlock()
	p.owner.PipeDetached(p, final)
}

// lingerUntil reports whether p is lingering (see Dialer.Close), and until when (zero: no limit).
func (p *Pipe) lingerUntil() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lingerEnd == nil {
		return time.Time{}, p.lingering
	}
	return *p.lingerEnd, p.lingering
}

// lingerDone reports whether p lingers with nothing left to send: its dialer may stop.
func (p *Pipe) lingerDone() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lingering && p.outCount == 0
}

// dropOutLocked releases every unsent message; p.mu is held. A hand being encoded is left to the
// loop, which drops it in encoded.
func (p *Pipe) dropOutLocked() {
	p.out.releaseAll()
	if p.busy {
		p.outCount = len(p.hand)
		p.staleHand = true
		p.roomLocked()
		return
	}
	for i, m := range p.hand {
		m.Release()
		p.hand[i] = nil
	}
	p.hand = p.hand[:0]
	p.outCount = 0
	p.roomLocked()
}

// roomLocked follows outCount down; p.mu is held. Every place that lowers outCount of a network
// pipe calls it (inproc pipes never go through pushShared). Below SNDHWM fan-outs are let back in.
func (p *Pipe) roomLocked() {
	if p.opts.SndHWM <= 0 || p.outCount < p.opts.SndHWM {
		if p.fanFull.Load() {
			p.fanFull.Store(false)
		}
	}
}

// Drain releases every message still queued in the pipe in either direction, except what a
// lingering pipe still delivers.
// Safe for any goroutine; used by the socket after a pipe ended.
func (p *Pipe) Drain() {
	p.mu.Lock()
	p.in.releaseAll()
	if p.conn == nil && !p.lingering {
		p.dropOutLocked()
	}
	p.mu.Unlock()
}
