package sockets

import (
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// PUSH: load-balanced out, no input.
type push struct{ lb loadBalancer }

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
func (t *push) send(m *pool.Msg) (bool, error) { return t.lb.send(m) != nil, nil }
func (t *push) recv() (*pool.Msg, error)       { return nil, ErrNotSupported }

// PULL: fair-queued in, no output.
type pull struct{ fq fairQueue }

func (t *pull) attach(*reactor.Pipe)         {}
func (t *pull) detach(*reactor.Pipe, bool)   {}
func (t *pull) readable(p *reactor.Pipe)     { t.fq.add(p) }
func (t *pull) send(*pool.Msg) (bool, error) { return false, ErrNotSupported }
func (t *pull) recv() (*pool.Msg, error)     { m, _ := t.fq.recv(); return m, nil }

// PAIR: exactly one peer; a second one is refused, as in libzmq.
type pair struct {
	peer *reactor.Pipe
}

func (t *pair) attach(p *reactor.Pipe) {
	if t.peer != nil && t.peer != p {
		p.Close(0)
		return
	}
	t.peer = p
}
func (t *pair) detach(p *reactor.Pipe, final bool) {
	if final && t.peer == p {
		t.peer = nil
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
	if t.peer == nil {
		return nil, nil
	}
	return t.peer.TryRecv(), nil
}

// REQ: send a request to one peer (load-balanced), then receive exactly one reply from that peer.
// On the wire a request is preceded by an empty delimiter frame, as libzmq does.
type req struct {
	lb      loadBalancer
	fq      fairQueue
	waiting bool          // a request is out, the reply not yet received
	replyTo *reactor.Pipe // where the reply must come from
}

func (t *req) attach(p *reactor.Pipe) { t.lb.add(p) }
func (t *req) detach(p *reactor.Pipe, final bool) {
	if final {
		t.lb.remove(p)
	}
}
func (t *req) readable(p *reactor.Pipe) { t.fq.add(p) }

func (t *req) send(m *pool.Msg) (bool, error) {
	if t.waiting {
		return false, ErrState
	}
	if !t.lb.canSend() {
		return false, nil
	}
	wire := pool.NewMsg()
	wire.AppendFrame(nil)
	for i := 0; i < m.Len(); i++ {
		wire.AppendFrame(m.Frame(i))
	}
	p := t.lb.send(wire)
	if p == nil {
		wire.Release()
		return false, nil
	}
	m.Release()
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
		if p != t.replyTo || m.Len() < 1 || len(m.Frame(0)) != 0 {
			m.Release()
			continue
		}
		reply := pool.NewMsg()
		for i := 1; i < m.Len(); i++ {
			reply.AppendFrame(m.Frame(i))
		}
		m.Release()
		t.waiting, t.replyTo = false, nil
		return reply, nil
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
func (t *rep) detach(p *reactor.Pipe, final bool) {
	if final && t.replyTo == p {
		t.replyTo = nil // the reply will be dropped, as libzmq does
	}
}
func (t *rep) readable(p *reactor.Pipe) { t.fq.add(p) }

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
			t.envBuf.AppendFrame(m.Frame(i))
		}
		body := pool.NewMsg()
		for i := delim + 1; i < m.Len(); i++ {
			body.AppendFrame(m.Frame(i))
		}
		m.Release()
		t.replying, t.replyTo = true, p
		return body, nil
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
	wire := pool.NewMsg()
	for i := 0; i < t.envBuf.Len(); i++ {
		wire.AppendFrame(t.envBuf.Frame(i))
	}
	for i := 0; i < m.Len(); i++ {
		wire.AppendFrame(m.Frame(i))
	}
	if !p.TrySend(wire) {
		wire.Release() // the requester is over its HWM: libzmq drops the reply
	}
	m.Release()
	return true, nil
}
