package sockets

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// PUSH: load-balanced out, no input.
type push struct {
	o  *Options
	lb loadBalancer
}

func (t *push) attach(p *reactor.Pipe) { t.lb.add(p) }
func (t *push) detach(p *reactor.Pipe, final bool) {
	if final {
		t.lb.remove(p)
	}
}
func (t *push) readable(p *reactor.Pipe) {
	// A PULL peer has nothing to say; drop whatever it sends so its connection never stalls.
	for m := p.TryRecv(); m != nil; m = p.TryRecv() {
		m.Release()
	}
}
func (t *push) send(m *pool.Msg) (bool, error) { return lbSend(&t.lb, m, t.o.Conflate), nil }
func (t *push) recv() (*pool.Msg, error)       { return nil, ErrNotSupported }
func (t *push) canSend() bool                  { return t.o.Conflate || t.lb.canSend() }

// lbSend load-balances m; with conflate a message no pipe takes is dropped instead of waiting
// (ZMQ_CONFLATE never blocks), but only when there is a pipe at all, as libzmq.
func lbSend(lb *loadBalancer, m *pool.Msg, conflate bool) bool {
	if lb.send(m) != nil {
		return true
	}
	if conflate && len(lb.pipes) > 0 {
		// ZMQ_CONFLATE: the next peer's queued message gives way to the newest one.
		if lb.next >= len(lb.pipes) {
			lb.next = 0
		}
		p := lb.pipes[lb.next]
		lb.next++
		if !p.SendLatest(m) {
			m.Release()
		}
		return true
	}
	return false
}

// PULL: fair-queued in, no output.
type pull struct{ in inQueue }

func (t *pull) attach(*reactor.Pipe) {}
func (t *pull) detach(p *reactor.Pipe, final bool) {
	if final {
		t.in.forget(p)
	}
}
func (t *pull) readable(p *reactor.Pipe)     { t.in.readable(p) }
func (t *pull) send(*pool.Msg) (bool, error) { return false, ErrNotSupported }
func (t *pull) recv() (*pool.Msg, error)     { m, _ := t.in.recv(); return m, nil }
func (t *pull) canSend() bool                { return false }
func (t *pull) close()                       { t.in.release() }

// PAIR: exactly one peer; a second one is refused, as in libzmq. A peer that leaves takes nothing
// it sent with it: libzmq reads a terminated pipe up to its end, so what it sent stays readable,
// ahead of anything from the peer that comes next.
type pair struct {
	peer *reactor.Pipe
	gone []*reactor.Pipe // former peers with received messages not yet read, in the order they left
}

func (t *pair) attach(p *reactor.Pipe) {
	if t.peer != nil && t.peer != p {
		p.Close(0)
		return
	}
	// A dialed pipe with IMMEDIATE comes back as itself: one queue, read as the peer's from now on.
	t.gone = slices.DeleteFunc(t.gone, func(q *reactor.Pipe) bool { return q == p })
	t.peer = p
}
func (t *pair) detach(p *reactor.Pipe, final bool) {
	if final && t.peer == p {
		t.peer = nil
		if p.InLen() > 0 {
			t.gone = append(t.gone, p)
		}
	}
}
func (t *pair) readable(*reactor.Pipe) {}
func (t *pair) send(m *pool.Msg) (bool, error) {
	if t.peer == nil {
		return false, nil
	}
	return t.peer.TrySend(m), nil
}
func (t *pair) recv() (*pool.Msg, error) {
	for len(t.gone) > 0 {
		if m := t.gone[0].TryRecv(); m != nil {
			return m, nil
		}
		t.gone[0] = nil
		t.gone = t.gone[1:] // a pipe that has ended gets nothing more
	}
	if t.peer == nil {
		return nil, nil
	}
	return t.peer.TryRecv(), nil
}
func (t *pair) close() {
	for _, p := range t.gone {
		p.Drain()
	}
	t.gone = nil
}
func (t *pair) canSend() bool { return t.peer != nil && t.peer.CanSend() }

// REQ: send a request to one peer (load-balanced), then receive exactly one reply from that peer.
// On the wire a request is preceded by an empty delimiter frame, as libzmq does, and with
// ReqCorrelate by a 4-byte request id before it (libzmq copies a uint32 in host byte order; we
// write little-endian, what libzmq writes on every common host). The peer echoes both back.
type req struct {
	o       *Options
	lb      loadBalancer
	fq      fairQueue
	waiting bool          // a request is out, the reply not yet received
	replyTo *reactor.Pipe // where the reply must come from, even once that peer is gone (see detach)
	reqID   uint32        // id of the latest request (ReqCorrelate)
}

func newReq(o *Options) *req { return &req{o: o, reqID: rand.Uint32()} }

func (t *req) attach(p *reactor.Pipe) { t.lb.add(p) }
func (t *req) detach(p *reactor.Pipe, final bool) {
	// replyTo stays: a reply that arrived before the peer left is still the answer (libzmq reads a
	// terminated pipe up to its end). If none came, none will, and only ReqRelaxed moves on.
	if final {
		t.lb.remove(p)
	}
}
func (t *req) lazyReadable()            {}
func (t *req) readable(p *reactor.Pipe) { t.fq.add(p) }
func (t *req) canSend() bool            { return (!t.waiting || t.o.ReqRelaxed) && t.lb.canSend() }

func (t *req) send(m *pool.Msg) (bool, error) {
	if t.waiting && !t.o.ReqRelaxed {
		return false, ErrState
	}
	if !t.lb.canSend() {
		return false, nil
	}
	// Whatever arrived before this request is a stale reply: drop it now, as libzmq does, so an
	// old answer from a peer asked long ago can never pass for the answer to this request. This
	// must happen before the request goes out, or it could eat the fresh reply.
	for {
		old, _ := t.fq.recv()
		if old == nil {
			break
		}
		old.Release()
	}
	// The envelope goes in front of the caller's frames, which are not copied.
	id := t.reqID + 1
	m.PushFront(nil)
	if t.o.ReqCorrelate {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], id)
		m.PushFront(b[:])
	}
	p := t.lb.send(m)
	if p == nil {
		m.PopFront()
		if t.o.ReqCorrelate {
			m.PopFront()
		}
		return false, nil
	}
	t.reqID = id
	t.waiting, t.replyTo = true, p
	return true, nil
}

func (t *req) recv() (*pool.Msg, error) {
	if !t.waiting {
		return nil, ErrState
	}
	for {
		m, p := t.fq.recv()
		if m == nil {
			return nil, nil
		}
		// Anything but a well-formed reply from the peer we asked is stale: drop it (libzmq does).
		first := 0
		if t.o.ReqCorrelate {
			if m.Len() < 1 || len(m.Frame(0)) != 4 || binary.LittleEndian.Uint32(m.Frame(0)) != t.reqID {
				m.Release()
				continue
			}
			first = 1
		}
		if p != t.replyTo || m.Len() < first+2 || len(m.Frame(first)) != 0 {
			m.Release()
			continue
		}
		for i := 0; i <= first; i++ {
			m.PopFront() // the envelope; the body stays where it is
		}
		t.waiting, t.replyTo = false, nil
		return m, nil
	}
}

// REP: fair-queued requests; each reply goes back to the peer of the last request, behind the same
// envelope (every frame up to and including the empty delimiter).
type rep struct {
	fq       fairQueue
	replying bool
	replyTo  *reactor.Pipe
	envBuf   *pool.Msg // the envelope of the request being answered
}

func (t *rep) attach(*reactor.Pipe) {}
func (t *rep) close() {
	if t.envBuf != nil {
		t.envBuf.Release()
		t.envBuf = nil
	}
}
func (t *rep) detach(p *reactor.Pipe, final bool) {
	if final && t.replyTo == p {
		t.replyTo = nil // the reply will be dropped, as libzmq does
	}
}
func (t *rep) lazyReadable()            {}
func (t *rep) readable(p *reactor.Pipe) { t.fq.add(p) }
func (t *rep) canSend() bool            { return t.replying }

func (t *rep) recv() (*pool.Msg, error) {
	if t.replying {
		return nil, ErrState
	}
	for {
		m, p := t.fq.recv()
		if m == nil {
			return nil, nil
		}
		delim := -1
		for i := 0; i < m.Len(); i++ {
			if len(m.Frame(i)) == 0 {
				delim = i
				break
			}
		}
		if delim < 0 || delim == m.Len()-1 {
			m.Release() // no envelope or no body: not a request from a REQ or DEALER peer; drop it
			continue
		}
		if t.envBuf == nil {
			t.envBuf = pool.NewMsg()
		}
		t.envBuf.Reset()
		for i := 0; i <= delim; i++ {
			t.envBuf.AppendFrame(m.PopFront()) // the envelope is copied; the body stays in place
		}
		t.replying, t.replyTo = true, p
		return m, nil
	}
}

func (t *rep) send(m *pool.Msg) (bool, error) {
	if !t.replying {
		return false, ErrState
	}
	t.replying = false
	p := t.replyTo
	t.replyTo = nil
	if p == nil {
		m.Release()
		return true, nil
	}
	// The envelope goes back in front of the reply, into the room the request's envelope left when
	// the reply is the request's own message (an echo), without moving the body.
	for i := t.envBuf.Len() - 1; i >= 0; i-- {
		m.PushFront(t.envBuf.Frame(i))
	}
	if !p.TrySend(m) {
		m.Release() // the requester is over its HWM: libzmq drops the reply
	}
	return true, nil
}
