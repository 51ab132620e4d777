package sockets

import (
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// The strategies below are libzmq's lb_t and fq_t: the building blocks socket types are made of.
// Their methods run with the socket's mutex held.

// loadBalancer sends each message to the next pipe, round-robin, skipping pipes whose queue is full.
type loadBalancer struct {
	pipes []*reactor.Pipe
	next  int
}

func (lb *loadBalancer) add(p *reactor.Pipe) {
	for _, q := range lb.pipes {
		if q == p {
			return
		}
	}
	lb.pipes = append(lb.pipes, p)
}

func (lb *loadBalancer) remove(p *reactor.Pipe) {
	for i, q := range lb.pipes {
		if q == p {
			lb.pipes = append(lb.pipes[:i], lb.pipes[i+1:]...)
			clear(lb.pipes[len(lb.pipes):cap(lb.pipes)])
			if lb.next > i {
				lb.next--
			}
			if lb.next >= len(lb.pipes) {
				lb.next = 0
			}
			return
		}
	}
}

// send hands m to the next pipe with room and returns it, or nil (m not taken) when every pipe is full.
func (lb *loadBalancer) send(m *pool.Msg) *reactor.Pipe {
	n := len(lb.pipes)
	for i := 0; i < n; i++ {
		if lb.next >= n {
			lb.next = 0
		}
		p := lb.pipes[lb.next]
		lb.next++
		if p.TrySend(m) {
			return p
		}
	}
	return nil
}

func (lb *loadBalancer) canSend() bool {
	for _, p := range lb.pipes {
		if p.CanSend() {
			return true
		}
	}
	return false
}

// fairQueue receives from readable pipes in turn, so that no peer starves another. A ROUTER with
// a thousand busy peers adds and drops pipes here all the time (a pipe leaves when found empty and
// comes back with its next message), so neither may cost a walk over the queue: membership is a
// set once the queue is large, and a dropped pipe leaves a hole (nil) that the turn skips and a
// compaction, once holes outnumber pipes, removes. The turn order is that of a plain list.
type fairQueue struct {
	pipes []*reactor.Pipe // pipes that reported readable and were not yet found empty, in turn order; nil: dropped
	live  int             // the non-nil entries of pipes
	next  int
	// member holds the entries of pipes once there are more than fqIndexAt of them; below,
	// a look through pipes is cheaper than a map.
	member map[*reactor.Pipe]struct{}
}

const fqIndexAt = 16

func (fq *fairQueue) has(p *reactor.Pipe) bool {
	if fq.member != nil {
		_, ok := fq.member[p]
		return ok
	}
	for _, q := range fq.pipes {
		if q == p {
			return true
		}
	}
	return false
}

func (fq *fairQueue) add(p *reactor.Pipe) {
	if fq.has(p) {
		return
	}
	fq.pipes = append(fq.pipes, p)
	fq.live++
	switch {
	case fq.member != nil:
		fq.member[p] = struct{}{}
	case len(fq.pipes) > fqIndexAt:
		fq.member = make(map[*reactor.Pipe]struct{}, len(fq.pipes))
		for _, q := range fq.pipes {
			if q != nil {
				fq.member[q] = struct{}{}
			}
		}
	}
}

// current returns the pipe whose turn it is and its index, or nil when no pipe is queued.
func (fq *fairQueue) current() (*reactor.Pipe, int) {
	for fq.live > 0 {
		if fq.next >= len(fq.pipes) {
			fq.next = 0
		}
		if p := fq.pipes[fq.next]; p != nil {
			return p, fq.next
		}
		fq.next++
	}
	return nil, 0
}

// remove drops the pipe at i (found empty); the turn goes on with the pipe after it.
func (fq *fairQueue) remove(i int) {
	if fq.member != nil {
		delete(fq.member, fq.pipes[i])
	}
	fq.pipes[i] = nil
	fq.live--
	switch {
	case fq.live == 0:
		clear(fq.pipes)
		fq.pipes, fq.next = fq.pipes[:0], 0
	case len(fq.pipes) >= 2*fq.live+fqIndexAt:
		fq.compact()
	}
}

// compact closes the holes, keeping the order and whose turn it is.
func (fq *fairQueue) compact() {
	j, next := 0, -1
	for i, p := range fq.pipes {
		if i == fq.next {
			next = j
		}
		if p != nil {
			fq.pipes[j] = p
			j++
		}
	}
	if next < 0 {
		next = j
	}
	clear(fq.pipes[j:])
	fq.pipes, fq.next = fq.pipes[:j], next
}

// recv returns the next message and the pipe it came from, or nil when no pipe has one.
func (fq *fairQueue) recv() (*pool.Msg, *reactor.Pipe) {
	for {
		p, i := fq.current()
		if p == nil {
			return nil, nil
		}
		if m := p.TryRecv(); m != nil {
			fq.next = i + 1
			return m, p
		}
		// Empty: drop it; PipeReadable adds it back when a message arrives (the pipe reports the
		// empty-to-non-empty transition under its own lock, so none is missed).
		fq.remove(i)
	}
}

// inQueue is the fair queue of a socket type that may conflate (ZMQ_CONFLATE): then each peer's
// newest message is kept aside, the older ones released as soon as they arrive, so a slow reader
// always gets the latest state and the peer's connection never stalls.
type inQueue struct {
	fq     fairQueue
	conf   *bool // the socket's Conflate option; nil: never
	latest map[*reactor.Pipe]*pool.Msg
}

func (q *inQueue) conflate() bool { return q.conf != nil && *q.conf }

func (q *inQueue) readable(p *reactor.Pipe) {
	if q.conflate() {
		q.keepLatest(p)
	}
	q.fq.add(p)
}

// keepLatest drains p into its latest slot. PipeReadable comes on every empty-to-non-empty
// transition, so draining there keeps the reactor's queue at most a batch deep.
func (q *inQueue) keepLatest(p *reactor.Pipe) {
	for m := p.TryRecv(); m != nil; m = p.TryRecv() {
		if q.latest == nil {
			q.latest = make(map[*reactor.Pipe]*pool.Msg)
		}
		if old := q.latest[p]; old != nil {
			old.Release()
		}
		q.latest[p] = m
	}
}

func (q *inQueue) recv() (*pool.Msg, *reactor.Pipe) {
	conflate := q.conflate()
	if !conflate && len(q.latest) == 0 {
		return q.fq.recv()
	}
	fq := &q.fq
	for {
		p, i := fq.current()
		if p == nil {
			return nil, nil
		}
		if conflate {
			q.keepLatest(p)
		}
		m := q.latest[p]
		if m == nil && !conflate {
			m = p.TryRecv()
		}
		if m != nil {
			delete(q.latest, p)
			fq.next = i + 1
			return m, p
		}
		fq.remove(i)
	}
}

// forget releases what is kept aside for p (a pipe that ended).
func (q *inQueue) forget(p *reactor.Pipe) {
	if m := q.latest[p]; m != nil {
		m.Release()
		delete(q.latest, p)
	}
}

// release drops everything kept aside (the socket is closing).
func (q *inQueue) release() {
	for p, m := range q.latest {
		m.Release()
		delete(q.latest, p)
	}
}

// fanOut is libzmq's dist_t: it queues m for every pipe of to and never blocks; a pipe at its
// SNDHWM misses the message, so a slow peer does not hold back the others (with latest, ZMQ_CONFLATE,
// the message replaces what that pipe still holds instead). m is taken in every case. With more
// than one pipe, f hands every pipe the same message (reactor.FanOut) and the loops write, in
// parallel and batched, rather than the sender making a system call per peer; one pipe may get a
// direct write (TrySend). Each pipe under latest needs a message of its own (a message has one
// owner): each but the last gets a share of m's body (pool.Msg.Share, no copy), and a share a full
// pipe refused goes to the next.
func fanOut(f *reactor.FanOut, m *pool.Msg, to []*reactor.Pipe, latest bool) {
	if !latest {
		if len(to) > 0 {
			f.Send(m, to)
		} else {
			m.Release()
		}
		return
	}
	var spare *pool.Msg
	for i, p := range to {
		if i == len(to)-1 {
			if !p.SendLatest(m) {
				m.Release()
			}
			m = nil
			break
		}
		if spare == nil {
			spare = m.Share()
		}
		if p.SendLatest(spare) {
			spare = nil
		}
	}
	if spare != nil {
		spare.Release()
	}
	if m != nil {
		m.Release()
	}
}
