package reactor

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

const (
	// outBatch is libzmq's out_batch_size, larger: small messages are encoded into one buffer of
	// about this size and written with one syscall. libzmq's 8 KiB made a fan-out to 1000 peers
	// cost a write per 115 messages; 32 KiB, one per 300, and 1.5-2.5 times the deliveries/s. The
	// buffer is the loop's, not the connection's: its size costs nothing per connection.
	outBatch = 32 << 10
	// directMax bounds a sender's direct write (direct.go), whose buffer is the connection's own.
	directMax = 8 << 10
	// largeFrame: bodies of at least this size are written with writev straight from the message,
	// never copied into the batch.
	largeFrame = 8 << 10
	// sendBound caps what a connection may leave in gnet's outbound buffer (which gnet never bounds).
	// Past it the connection stops encoding and waits for the kernel to take the data.
	sendBound = 256 << 10
	// pauseSoftLimit: bytes gnet may hold for a connection whose reader is full before the
	// connection is detached from gnet so that TCP pushes back on the sender. Detaching is costly
	// and only the fallback for muting (mute.go), which happens at once.
	pauseSoftLimit = 256 << 10
	// handMax is how many messages the loop takes from a pipe under one lock.
	handMax = 256
	// turnBudget bounds what the loop writes between two polls of its descriptors: one drain
	// stops past it and goes on in the loop's next turn (a task posted to the waker), and the
	// waker's run leaves the tasks after it for the next turn. Without it a publisher that keeps
	// every subscriber's queue full made one turn drain them all (N x SNDHWM messages), and a
	// drain of a queue refilled as fast as it empties never ended: a new connection's accept and
	// handshake, which need a turn each, waited behind it. libzmq's I/O thread writes one batch
	// per connection per poll. Eight of our batches keep the extra wake-up and poll per turn
	// (three small system calls) a few per cent of the turn's writes.
	turnBudget = 8 * outBatch
	// pollMin/pollMax bound the interval at which a loop checks connections blocked on output.
	pollMin = 20 * time.Microsecond
	pollMax = 2 * time.Millisecond
)

// Stats are counters of a write path (a reactor's, or one socket's), for tests and benchmarks.
type Stats struct {
	Writes      uint64 // write and writev calls made on connections
	BytesInline uint64 // bytes the kernel took at once
	BytesQueued uint64 // bytes gnet had to copy into its outbound buffer (the kernel would block)
	Pauses      uint64 // times a connection with a full reader stopped reading from the kernel
	// MutedReads counts reads gnet made for a connection while it was muted; each adds up to one
	// read buffer (64 KiB) to what a full reader's connection holds. It should stay 0.
	MutedReads uint64
	Detaches   uint64 // those of Pauses that took the connection out of gnet (the fallback to muting)
	Blocks     uint64 // times a connection stopped encoding because gnet held sendBound bytes
	// SenderWrites counts the writes of Writes made by a sending goroutine on an idle connection
	// (direct.go); SenderShort those the kernel did not take whole, whose rest the loop wrote.
	SenderWrites, SenderShort uint64
	// DirectReads counts reads of a large frame's body straight from the socket into its message
	// (over tls:// and wss://, decryptions straight into it).
	DirectReads uint64
	// LowWaterWaits counts the times a large body's TCP socket was left to wake its loop only once
	// a bulk of the body had arrived (its receive low-water mark raised, conn_read.go).
	LowWaterWaits uint64
	// HeldBodies counts large bodies the kernel took only part of, whose rest was written from the
	// message as the socket drained (conn.part) instead of being copied into gnet's buffer.
	HeldBodies uint64
	// PassedTurns counts the times a loop serving several peers let the descriptors ready at its
	// waker's turn go before the tasks posted to it (waker.run). Loops only: a socket's are 0.
	PassedTurns uint64
}

// Counters are write-path counters updated by the loops: every loop has its own (summed by
// Reactor.Stats), and a socket shares one among its connections (Options.Counters) for its own
// Stats. The zero value is ready to use; it must not be copied once in use.
type Counters struct {
	// The padding keeps the counters, which loops and sending goroutines update, off the cache
	// lines of whatever surrounds them (a socket's mutex, a loop's fields).
	_                                                               [64]byte
	writes, inline, queued, pauses, detaches, blocks, mutedReads    atomic.Uint64
	senderWrites, senderShort, directReads, heldBodies, passedTurns atomic.Uint64
	lowWaterWaits                                                   atomic.Uint64
	_                                                               [64]byte
}

// Stats reads the counters. Any goroutine.
func (c *Counters) Stats() Stats {
	return Stats{Writes: c.writes.Load(), BytesInline: c.inline.Load(), BytesQueued: c.queued.Load(),
		Pauses: c.pauses.Load(), Detaches: c.detaches.Load(), MutedReads: c.mutedReads.Load(),
		SenderWrites: c.senderWrites.Load(), SenderShort: c.senderShort.Load(), Blocks: c.blocks.Load(),
		DirectReads: c.directReads.Load(), HeldBodies: c.heldBodies.Load(), PassedTurns: c.passedTurns.Load(),
		LowWaterWaits: c.lowWaterWaits.Load()}
}

// loop is zloop's state for one gnet event loop. Everything but the counters, switchAt (read by
// senders) and tickTask's timer callback is touched only on that loop's goroutine.
type loop struct {
	r       *Reactor
	el      gnet.EventLoop
	scratch []byte    // the out batch: valid until the next encode on this loop
	spare   []byte    // a carry buffer kept between pauses (see carry)
	wsBuf   []byte    // WebSocket upgrade answers and control frames
	iov     [2][]byte // header and body of a large frame for writev, without a slice allocated per write

	blocked map[*conn]struct{} // waiting for gnet's outbound buffer to drain (or lingering)
	timers  timerHeap          // sessions with a deadline (handshake, heartbeats), earliest first
	epoch   time.Time          // the timer keys' zero (timerKey)

	w       *waker
	timer   *time.Timer
	armedAt time.Time // when the timer fires; zero when not armed
	pollIvl time.Duration

	muteFD int // epoll set or kqueue for muting (mute_*.go); unprobed until needed, -1 if none

	// enrolled: a connection was opened since the loop last yielded its P (waker.later); the
	// goroutine that enrolled it waits to go on.
	enrolled bool

	ow      *outWatcher // the reactor's output watcher (outwatch.go), once asked for
	owAsked bool

	Counters // the loop's share of Reactor.Stats

	// lastRead and prevRead are the last two different connections the loop read, and thirds how
	// many times since thirdsFrom (UnixNano) it read a third one (on the loop). switchAt is when it
	// last found itself serving several peers, which senders on other goroutines read (serving).
	lastRead, prevRead *conn
	thirds             int
	thirdsFrom         int64
	switchAt           atomic.Int64
}

func newLoop(r *Reactor, el gnet.EventLoop, w *waker) *loop {
	l := &loop{
		r:       r,
		el:      el,
		w:       w,
		scratch: make([]byte, 0, outBatch+largeFrame+16),
		blocked: make(map[*conn]struct{}),
		pollIvl: pollMin,
		muteFD:  unprobed,
		epoch:   time.Now(),
	}
	w.l = l
	l.timer = time.AfterFunc(time.Hour, func() { w.post(nil, taskTick) })
	l.timer.Stop()
	return l
}

// noteRead records that the loop reads c (on the loop, from OnTraffic). Going back and forth
// between two connections (a REQ and its REP on one loop) is not serving many peers; reading a
// third, sharedReads times within sharedWindow, is. The clock is read twice per sharedReads reads
// of a third connection, at the first and the last, and switchAt, which senders on other
// goroutines read, is written at most once per sharedReads: a loop reading a thousand peers reads
// a third connection at nearly every read.
func (l *loop) noteRead(c *conn) {
	if c == l.lastRead {
		return
	}
	if c != l.prevRead && l.prevRead != nil {
		if l.thirds == 0 {
			l.thirdsFrom = time.Now().UnixNano()
		}
		if l.thirds++; l.thirds == sharedReads {
			if now := time.Now().UnixNano(); now-l.thirdsFrom < int64(sharedWindow) {
				l.switchAt.Store(now)
			}
			l.thirds = 0
		}
	}
	l.prevRead, l.lastRead = l.lastRead, c
}

// serving reports whether the loop found itself serving several peers at once within
// sharedWindow before now. Any goroutine.
func (l *loop) serving(now int64) bool { return now-l.switchAt.Load() < int64(sharedWindow) }

// arm makes sure tick runs no later than at (on the loop). The timer posts through the waker, never
// a task that re-queues itself at once, because gnet runs its task queue dry before polling.
func (l *loop) arm(at time.Time) {
	if !l.armedAt.IsZero() && !at.Before(l.armedAt) {
		return
	}
	l.armedAt = at
	l.timer.Reset(time.Until(at))
}

const unprobed = -2

// yieldToEnroller yields the loop's P if a connection was opened since it last did, at the end of a
// turn cut short (turnBudget). The goroutine that enrolled the connection (a listener's, which
// hands the loop its new connections one at a time and waits for each OnOpen) is runnable, but
// the loop is busy and does not block in epoll_wait: with a sender keeping the other P it would
// wait for the scheduler's preemption, 10 ms. Once per connection, not per turn, so that a
// fan-out with no newcomers does not let its readers' goroutines in between every turn.
func (l *loop) yieldToEnroller() {
	if l.enrolled {
		l.enrolled = false
		runtime.Gosched()
	}
}

// written is what the loop's writes have handed to the kernel or to gnet so far: the clock of
// turnBudget. Counted by the loop's own writes (and the output watcher's of held bodies).
func (l *loop) written() uint64 { return l.inline.Load() + l.queued.Load() }

// outWatch returns the reactor's output watcher, or nil where there is none.
func (l *loop) outWatch() *outWatcher {
	if !l.owAsked {
		l.owAsked = true
		l.ow = l.r.outWatch()
	}
	return l.ow
}

// muter returns the loop's epoll or kqueue descriptor for muting, or -1 to detach instead. It probes
// on first use, when gnet has certainly registered the waker.
func (l *loop) muter() int {
	if l.muteFD == unprobed {
		l.muteFD = -1
		if !l.r.portable {
			l.muteFD = muterOf(l.el, l.w.gfd)
		}
	}
	return l.muteFD
}

// poll has tick look at c until it is closed or nothing keeps it there (see tick): a muted
// connection with output to flush, or a lingering one.
func (l *loop) poll(c *conn) {
	if _, ok := l.blocked[c]; ok {
		return
	}
	l.blocked[c] = struct{}{}
	l.pollIvl = pollMin
	l.arm(time.Now().Add(l.pollIvl))
}

func (l *loop) block(c *conn) {
	l.blocks.Add(1)
	c.sc.blocks.Add(1)
	c.lastOutbound = c.outbound()
	delete(l.blocked, c) // so that poll restarts the interval from pollMin
	l.poll(c)
}

func (l *loop) forget(c *conn) {
	delete(l.blocked, c)
	if c.timerIdx >= 0 {
		l.timers.remove(int(c.timerIdx))
	}
}

// tick runs on the loop: it resumes connections whose output drained, finishes lingering ones and
// runs session timers, then re-arms the timer for what is left.
func (l *loop) tick() {
	l.armedAt = time.Time{}
	now := time.Now()
	progressed := false
	for c := range l.blocked {
		if c.closed() {
			delete(l.blocked, c)
			continue
		}
		c.flushMuted()
		if c.closed() {
			delete(l.blocked, c)
			continue
		}
		if c.pending() {
			// A held body: written here where there is no output watcher (or it failed), and in
			// any case for a connection polled anyway (lingering, muted).
			before := c.partWritten.Load()
			c.continuePart()
			if c.closed() {
				delete(l.blocked, c)
				continue
			}
			if c.partWritten.Load() != before {
				progressed = true
			}
		}
		ob := c.outbound()
		if ob < c.lastOutbound {
			progressed = true
		}
		c.lastOutbound = ob
		switch {
		case !c.pending() && ob < sendBound:
			// Top up as soon as there is room, so the kernel never runs dry while we wait.
			delete(l.blocked, c)
			c.blocked = false
			c.drain()
		case c.pending() && c.watched:
			delete(l.blocked, c) // the output watcher wakes it
		}
		if c.lingering() {
			c.checkLinger(now)
		}
		// Stay polled while muted with output (nothing else flushes it) or lingering (nothing
		// else applies the deadline); drain above may not have blocked it again.
		if !c.closed() && (c.lingering() || (c.in == inMuted && c.outbound() > 0)) {
			l.blocked[c] = struct{}{}
		}
	}
	next := l.runDue(now)
	if len(l.blocked) > 0 {
		if progressed {
			l.pollIvl = pollMin
		} else if l.pollIvl < pollMax {
			l.pollIvl *= 2
		}
		if poll := now.Add(l.pollIvl); next.IsZero() || poll.Before(next) {
			next = poll
		}
	}
	if !next.IsZero() {
		l.arm(next)
	}
}
