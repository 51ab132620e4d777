package sockets

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// DEALER: load-balanced out, fair-queued in, no envelope handling (libzmq's dealer_t).
type dealer struct {
	o  *Options
	lb loadBalancer
	in inQueue
}

func (t *dealer) attach(p *reactor.Pipe) { t.lb.add(p) }
func (t *dealer) detach(p *reactor.Pipe, final bool) {
	if final {
		t.lb.remove(p)
		t.in.forget(p)
	}
}
func (t *dealer) readable(p *reactor.Pipe)       { t.in.readable(p) }
func (t *dealer) send(m *pool.Msg) (bool, error) { return lbSend(&t.lb, m, t.o.Conflate), nil }
func (t *dealer) recv() (*pool.Msg, error)       { m, _ := t.in.recv(); return m, nil }
func (t *dealer) canSend() bool                  { return t.o.Conflate || t.lb.canSend() }
func (t *dealer) close()                         { t.in.release() }

// routerHeadroom is reserved in front of each message a ROUTER receives for the routing id it
// prepends: libzmq's generated ids take 5 bytes; longer ones move the body once.
const routerHeadroom = 16

// routerPeer is what a ROUTER keeps for a pipe (peerState).
type routerPeer struct {
	id        []byte
	anonymous bool // its routing id is taken by another peer: its messages are dropped
}

// ROUTER: every received message is prefixed with the routing id of the peer it came from, and
// the first frame of every sent message names the peer it goes to (libzmq's router_t). A peer
// that announced an Identity is known by it; others get 5 bytes, 0x00 and a uint32 counting up
// from a random start, as in libzmq.
type router struct {
	o  *Options
	fq fairQueue
	routingIDs
	// connectIDs are the ZMQ_CONNECT_ROUTING_IDs of dialed pipes, by the options the socket gave
	// their Connect: Connect fills it before it knows the pipe, which may attach before Connect
	// returns it (inproc attaches inside the call).
	connectIDs map[*reactor.Options][]byte
}

func newRouter(o *Options) *router {
	return &router{o: o, routingIDs: newRoutingIDs(), connectIDs: make(map[*reactor.Options][]byte)}
}

// forgetConnect drops the ZMQ_CONNECT_ROUTING_ID of a dialed pipe that is gone.
func (t *router) forgetConnect(p *reactor.Pipe) {
	if p.Dialed() {
		delete(t.connectIDs, p.Options())
	}
}

// routingIDs maps routing ids to pipes, for ROUTER and STREAM, and generates libzmq's ids for peers
// that bring none: 5 bytes, 0x00 and a uint32 counting up from a random start.
type routingIDs struct {
	ids    map[string]*reactor.Pipe
	nextID uint32
}

func newRoutingIDs() routingIDs {
	return routingIDs{ids: make(map[string]*reactor.Pipe), nextID: rand.Uint32()}
}

// generateID returns a fresh id that no pipe has.
func (r *routingIDs) generateID() []byte {
	for {
		id := make([]byte, 5)
		binary.BigEndian.PutUint32(id[1:], r.nextID)
		r.nextID++
		if r.ids[string(id)] == nil {
			return id
		}
	}
}

func (t *router) attach(p *reactor.Pipe) {
	if rp, ok := peerState(p).(*routerPeer); ok && !rp.anonymous && t.ids[string(rp.id)] == p {
		return // a dialed pipe reconnected: it keeps its routing id, as in libzmq
	}
	if !p.Connected() {
		return // Connect offers a dialed pipe early; it is named once its peer has said who it is
	}
	var id []byte
	if rid := t.connectIDs[p.Options()]; p.Dialed() && len(rid) > 0 {
		id = rid // ZMQ_CONNECT_ROUTING_ID names the peer, whatever it announces
	} else if peer := p.Peer(); peer != nil && len(peer.Identity) > 0 {
		id = peer.Identity
	}
	if id == nil {
		id = t.generateID()
	} else if old := t.ids[string(id)]; old != nil && old != p {
		if !t.o.RouterHandover {
			// libzmq ignores a peer with a duplicate routing id: it stays connected, but nothing
			// is routed to it and what it sends is dropped.
			setPeerState(p, &routerPeer{anonymous: true})
			return
		}
		// Handover: the newcomer takes the id. An accepted old connection is closed, as libzmq
		// terminates its pipe; a dialed one (it would reconnect for ever) is renamed instead.
		oldPeer := peerState(old).(*routerPeer)
		delete(t.ids, string(id))
		if old.Dialed() {
			oldPeer.id = t.generateID()
			t.ids[string(oldPeer.id)] = old
		} else {
			oldPeer.anonymous = true
			old.Close(0)
		}
	}
	setPeerState(p, &routerPeer{id: id})
	t.ids[string(id)] = p
}

func (t *router) detach(p *reactor.Pipe, final bool) {
	if !final {
		return
	}
	t.forgetConnect(p)
	if rp, ok := peerState(p).(*routerPeer); ok && !rp.anonymous && t.ids[string(rp.id)] == p {
		delete(t.ids, string(rp.id))
	}
}

func (t *router) lazyReadable()            {}
func (t *router) readable(p *reactor.Pipe) { t.fq.add(p) }

func (t *router) recv() (*pool.Msg, error) {
	for {
		m, p := t.fq.recv()
		if m == nil {
			return nil, nil
		}
		rp, ok := peerState(p).(*routerPeer)
		if !ok || rp.anonymous {
			m.Release()
			continue
		}
		m.PushFront(rp.id) // into the room the connection reserved: the body is not copied
		return m, nil
	}
}

func (t *router) send(m *pool.Msg) (bool, error) {
	p := t.ids[string(m.Frame(0))]
	if p == nil {
		if t.o.RouterMandatory {
			return false, ErrHostUnreachable
		}
		m.Release() // unroutable: dropped, as libzmq does
		return true, nil
	}
	if m.Len() == 1 {
		m.Release() // a routing id and no message: libzmq sends nothing
		return true, nil
	}
	// TrySend refuses a full pipe (and arranges PipeWritable for it): no CanSend first.
	id := m.PopFront() // the rest goes out as it is, not copied
	if !p.TrySend(m) {
		if t.o.RouterMandatory {
			m.PushFront(id) // the caller keeps m and tries again
			return false, nil
		}
		m.Release()
	}
	return true, nil
}

// canSend: a ROUTER never blocks unless RouterMandatory, and then only while no peer has room.
func (t *router) canSend() bool {
	if !t.o.RouterMandatory {
		return true
	}
	for _, p := range t.ids {
		if p.CanSend() {
			return true
		}
	}
	return false
}
