package sockets

import (
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// STREAM talks raw TCP to peers that are not ZeroMQ (libzmq's stream_t): every connection gets a
// 5-byte routing id; a received chunk arrives as [id, bytes]; a connection's start and end arrive as
// [id, empty] (unless StreamNotify is off); sending [id, bytes...] writes the bytes to that peer, and [id, empty] closes it.
type stream struct {
	o  *Options
	fq fairQueue
	routingIDs
	notices []*pool.Msg // connect and disconnect notifications, before any data
}

// streamPeer is what a STREAM keeps for a pipe (peerState).
type streamPeer struct{ id []byte }

func newStream(o *Options) *stream {
	return &stream{o: o, routingIDs: newRoutingIDs()}
}

// notice queues [id, empty] for the reader, unless StreamNotify is off.
func (t *stream) notice(id []byte) {
	if !t.o.StreamNotify {
		return
	}
	m := pool.NewMsg()
	m.AppendFrame(id)
	m.AppendFrame(nil)
	t.notices = append(t.notices, m)
}

func (t *stream) attach(p *reactor.Pipe) {
	if !p.Connected() {
		return // a Connect offers its pipe early; it gets an id when the connection is up
	}
	if sp, ok := peerState(p).(*streamPeer); ok && t.ids[string(sp.id)] == p {
		return
	}
	id := t.generateID()
	setPeerState(p, &streamPeer{id: id})
	t.ids[string(id)] = p
	t.notice(id)
}

func (t *stream) detach(p *reactor.Pipe, final bool) {
	sp, ok := peerState(p).(*streamPeer)
	if !ok || t.ids[string(sp.id)] != p {
		return
	}
	delete(t.ids, string(sp.id))
	t.notice(sp.id)
}

func (t *stream) lazyReadable()            {}
func (t *stream) readable(p *reactor.Pipe) { t.fq.add(p) }

func (t *stream) recv() (*pool.Msg, error) {
	if len(t.notices) > 0 {
		m := t.notices[0]
		t.notices[0] = nil
		t.notices = t.notices[1:]
		return m, nil
	}
	for {
		m, p := t.fq.recv()
		if m == nil {
			return nil, nil
		}
		sp, ok := peerState(p).(*streamPeer)
		if !ok {
			m.Release()
			continue
		}
		m.PushFront(sp.id) // into the room the connection reserved, as a ROUTER does
		return m, nil
	}
}

func (t *stream) send(m *pool.Msg) (bool, error) {
	if m.Len() < 2 {
		return false, ErrInvalid
	}
	p := t.ids[string(m.Frame(0))]
	if p == nil {
		return false, ErrHostUnreachable
	}
	if m.Size() == len(m.Frame(0)) {
		p.Close(0) // [id, empty] closes the connection
		m.Release()
		return true, nil
	}
	id := m.PopFront() // the data goes out as it is, not copied
	if !p.TrySend(m) {
		m.PushFront(id) // the caller keeps m
		return false, nil
	}
	return true, nil
}

func (t *stream) canSend() bool { return true }
