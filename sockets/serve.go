package sockets

import (
	"strings"
	"sync"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// The loop-resident handler API: a ROUTER endpoint whose messages are handled on the event loop
// that owns their connection, with no goroutine hand-off and no socket lock. A message is parsed,
// handed to the handler on the same loop, and what the handler replies goes into that loop's batch
// for the connection, written once the loop has read what it had (Pipe.TrySendLoop). On the wire
// the endpoint is a ROUTER (Socket-Type ROUTER in READY, routing ids as libzmq's router_t): a
// DEALER or REQ peer cannot tell it from a Socket of type Router.

// Handler handles one message. It runs on the event loop that owns the peer's connection, so it
// must not block: while it runs, that loop reads, writes and times nothing else. c and everything
// reached through it (c.Msg, c.PeerID) are valid only until the handler returns, unless it takes the
// message (Call.Take); to work longer, take the message, keep c.Peer() (a PeerRef) and reply later
// from any goroutine (see Serve). The handler is called for one peer at a time on one loop, and for
// different peers concurrently on different loops.
type Handler func(c *Call)

// Server is a ROUTER endpoint served by a Handler (Serve). Its methods are safe for any goroutine,
// the handler's loop included.
type Server struct {
	r        *reactor.Reactor
	h        Handler
	opts     Options
	ln       *reactor.Listener
	endpoint string

	mu     sync.RWMutex
	ids    routingIDs // routing id to pipe, as a ROUTER's
	peers  map[*reactor.Pipe]*servePeer
	named  []*reactor.Pipe // the peers that are not anonymous, in no order: whom Publish reaches
	closed bool

	pubMu sync.Mutex
	fan   reactor.FanOut
	pubTo []*reactor.Pipe

	mon monitor
}

// servePeer is what a Server keeps for a connection, in its pipe's data (peerState): written once
// on the loop before the connection's first message, read on that loop afterwards; but at, which
// any peer's detach may move, under Server.mu.
type servePeer struct {
	id        []byte
	anonymous bool        // its routing id is another peer's: its messages are dropped, as libzmq does
	at        int32       // its index in Server.named, unless anonymous; beside anonymous, in its word's padding
	call      Call        // reused for every message of the peer: a Call costs nothing per message
	batch     []*pool.Msg // what PipeReadable took from the pipe, handled one by one
}

// serveBatch is how many received messages PipeReadable takes from a pipe under one lock.
const serveBatch = 64

// Call is one received message and the peer it came from, during a Handler call. Its methods are
// for the handler's goroutine (the loop), during the call; using a Call after the handler returned
// panics if it is caught (the Call is reused for the peer's next message, so a use overlapping a
// later call is not, but go test -race reports one from another goroutine).
type Call struct {
	s    *Server
	p    *reactor.Pipe
	sp   *servePeer
	m    *pool.Msg
	live bool
}

func (c *Call) check() {
	if !c.live {
		panic("zmq: sockets.Call used after its handler returned")
	}
}

// Msg returns the received message, without routing id: the frames as the peer sent them, so a
// REQ peer's message starts with its empty delimiter frame, which the reply must start with too.
// It belongs to the Call: valid until the handler returns (the loop releases it then), unless the
// handler takes it. nil after Take. The handler's goroutine, during the call.
func (c *Call) Msg() *pool.Msg {
	c.check()
	return c.m
}

// Take hands the received message to the caller, who must Release it (or pass it on to Reply or a
// PeerRef's Send, which take it). It is how a message outlives the call: slow work on another
// goroutine. Returns nil if taken already. The handler's goroutine, during the call; the message
// taken is the caller's from then on, on any goroutine.
func (c *Call) Take() *pool.Msg {
	c.check()
	m := c.m
	c.m = nil
	return m
}

// PeerID returns the peer's routing id (as a ROUTER socket would prefix it). It aliases the
// Server's record: valid for the call; copy it to keep it, or keep c.Peer(). The handler's
// goroutine, during the call.
func (c *Call) PeerID() []byte {
	c.check()
	return c.sp.id
}

// Peer returns a handle on the peer that outlives the call (see PeerRef). The handler's goroutine,
// during the call; the PeerRef may then go to any goroutine.
func (c *Call) Peer() PeerRef {
	c.check()
	return PeerRef{s: c.s, p: c.p, id: c.sp.id}
}

// Server returns the server the call belongs to (for Publish, or Peer to forward). The handler's
// goroutine; the Server is any goroutine's.
func (c *Call) Server() *Server { return c.s }

// Reply queues m for the peer, in the loop's batch for its connection (written once the loop has
// read what it had, with the other replies), and takes m in every case. It returns false when m
// was dropped: the peer's SNDHWM is reached (a ROUTER drops there too, as libzmq's does without
// ROUTER_MANDATORY) or the peer is gone. m is the whole reply without routing id; for a REQ peer
// it must start with the empty delimiter. The handler's goroutine, during the call.
func (c *Call) Reply(m *pool.Msg) bool {
	c.check()
	if c.p.TrySendLoop(m) {
		return true
	}
	m.Release()
	return false
}

// ReplyFrames is Reply with a message made of copies of frames (they are not kept past the call
// to ReplyFrames). The handler's goroutine, during the call.
func (c *Call) ReplyFrames(frames ...[]byte) bool {
	m := pool.NewMsg()
	m.AppendFrames(frames...)
	return c.Reply(m)
}

// Echo replies with the received message itself, envelope and all (a REQ's delimiter stays in
// front): no copy, no allocation. It takes the message (Msg is nil afterwards). The handler's
// goroutine, during the call.
func (c *Call) Echo() bool {
	m := c.Take()
	if m == nil {
		return false
	}
	return c.Reply(m)
}

// PeerRef is a handle on one peer of a Server that may be kept, copied and used from any goroutine
// for as long as wanted: the documented way to reply after slow work. A send through it is posted
// to the loop that owns the peer's connection (in the loop's batch when it is that loop, during a
// call); once the peer is gone it is dropped, safely. The zero PeerRef is no peer.
type PeerRef struct {
	s  *Server
	p  *reactor.Pipe
	id []byte
}

// Send queues m for the peer and takes m in every case; false means it was dropped (SNDHWM, the
// peer is gone, or the zero PeerRef). Any goroutine.
func (r PeerRef) Send(m *pool.Msg) bool {
	if r.p != nil && r.p.TrySendLoop(m) {
		return true
	}
	m.Release()
	return false
}

// SendFrames is Send with a message made of copies of frames. Any goroutine.
func (r PeerRef) SendFrames(frames ...[]byte) bool {
	m := pool.NewMsg()
	m.AppendFrames(frames...)
	return r.Send(m)
}

// ID returns the peer's routing id; the slice is shared by every copy of r and the Server's
// record, and lives as long as any of them: do not change it. Any goroutine.
func (r PeerRef) ID() []byte { return r.id }

// Connected reports whether the peer's connection is still there. Any goroutine.
func (r PeerRef) Connected() bool { return r.p != nil && r.p.Connected() }

// Serve binds endpoint (tcp://, ipc://, ws://, tls://, wss:// as Socket.Bind; not inproc://) as a
// ROUTER served by h on the default reactor (see ServeOn). Options are a Socket's (SNDHWM, RCVHWM,
// security, heartbeats, RoutingID...).
//
// How the pieces fit:
//   - Reply during the call: c.Reply, c.Echo (the loop's batch, no lock of the loop's, no wake-up).
//   - Reply later, after slow work: keep p := c.Peer() and m := c.Take(), hand them to a goroutine,
//     and call p.Send(reply) there; it is posted to the peer's loop, or dropped if the peer left.
//   - Forward to another peer: s.Peer(id) returns its PeerRef (whichever loop owns it).
//   - Publish to every peer: s.Publish.
//
// Flow control: the handler runs as messages arrive, so a connection is read only as fast as its
// handler returns; replies beyond a peer's SNDHWM are dropped, as a ROUTER drops them, and the
// sending call returns false. ROUTER_MANDATORY and ROUTER_HANDOVER do not apply: the return values
// say what a mandatory ROUTER's errors would, and a peer announcing a routing id already in use is
// ignored (kept connected, its messages dropped), as libzmq does without handover.
func Serve(endpoint string, h Handler, opts ...Option) (*Server, error) {
	return ServeOn(nil, endpoint, h, opts...)
}

// ServeOn is Serve on reactor r (nil: the default reactor). Any goroutine.
func ServeOn(r *reactor.Reactor, endpoint string, h Handler, opts ...Option) (*Server, error) {
	if h == nil {
		return nil, opError("bind", endpoint, ErrInvalid)
	}
	if strings.HasPrefix(endpoint, "inproc://") {
		// An inproc pair has no loop of its own: its messages would be handled on the sender's
		// goroutine.
		return nil, opError("bind", endpoint, ErrNotSupported)
	}
	r, o, err := prepare(r, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{r: r, h: h, opts: o, ids: newRoutingIDs(), peers: make(map[*reactor.Pipe]*servePeer)}
	if err := r.Register(serveTerminator{s}); err != nil {
		return nil, err
	}
	ln, err := r.Listen(endpoint, s.opts.pipeOptions(Router), (*serveOwner)(s))
	if err != nil {
		r.Unregister(serveTerminator{s})
		return nil, opError("bind", endpoint, err)
	}
	s.ln, s.endpoint = ln, ln.Endpoint()
	return s, nil
}

type serveTerminator struct{ s *Server }

func (t serveTerminator) Terminate() { t.s.shut() }

// Endpoint returns the bound endpoint, with an ephemeral port filled in. Any goroutine.
func (s *Server) Endpoint() string { return s.endpoint }

// Peer returns the peer with routing id id, if it is connected. Any goroutine.
func (s *Server) Peer(id []byte) (PeerRef, bool) {
	s.mu.RLock()
	p := s.ids.ids[string(id)]
	var sp *servePeer
	if p != nil {
		sp = s.peers[p]
	}
	s.mu.RUnlock()
	if sp == nil {
		return PeerRef{}, false
	}
	return PeerRef{s: s, p: p, id: sp.id}, true
}

// Peers returns how many peers are connected. Any goroutine.
func (s *Server) Peers() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.ids.ids)
}

// Publish sends m to every connected peer, as one message held by all of their queues (one encode
// per loop batch, one wake-up per loop), dropping it for peers at SNDHWM as a PUB does. It takes m
// and returns how many peers took it. m must not be shared (pool.Msg.Share). Any goroutine.
func (s *Server) Publish(m *pool.Msg) int {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	// A copy of the list rather than the send under s.mu: the loops attaching and detaching
	// peers do not wait for a fan-out.
	s.mu.RLock()
	s.pubTo = append(s.pubTo[:0], s.named...)
	s.mu.RUnlock()
	n := s.fan.Send(m, s.pubTo)
	clear(s.pubTo)
	return n
}

// Close stops listening and closes every connection, with the LINGER of the options for what is
// still queued toward the peers (the reactor's Shutdown bounds it, as for a Socket). It does not
// wait: a handler already running on a loop may finish after Close returns, and PeerRefs drop what
// is sent through them from then on. Any goroutine, a handler's included.
func (s *Server) Close() error {
	s.shut()
	return nil
}

func (s *Server) shut() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mon.stop()
	pipes := make([]*reactor.Pipe, 0, len(s.peers))
	for p := range s.peers {
		pipes = append(pipes, p)
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	for _, p := range pipes {
		p.Close(s.opts.Linger)
	}
	s.r.Unregister(serveTerminator{s})
}

// serveOwner is the Server as the reactor sees it (reactor.LoopOwner).
type serveOwner Server

func (o *serveOwner) HandlesOnLoop() {}

// PipeAttached names the peer as a ROUTER does (router.attach): its announced identity, or a
// generated id; a duplicate identity makes it anonymous.
func (o *serveOwner) PipeAttached(p *reactor.Pipe) {
	s := (*Server)(o)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.Close(0)
		return
	}
	sp := &servePeer{}
	var id []byte
	if peer := p.Peer(); peer != nil && len(peer.Identity) > 0 {
		id = peer.Identity
	}
	switch {
	case id == nil:
		id = s.ids.generateID()
	case s.ids.ids[string(id)] != nil:
		sp.anonymous = true
	}
	sp.id = id
	sp.call = Call{s: s, p: p, sp: sp}
	setPeerState(p, sp)
	s.peers[p] = sp
	if !sp.anonymous {
		s.ids.ids[string(id)] = p
		sp.at = int32(len(s.named))
		s.named = append(s.named, p)
	}
}

// PipeDetached forgets the peer; PeerRefs to it drop what they send from now on.
func (o *serveOwner) PipeDetached(p *reactor.Pipe, final bool) {
	s := (*Server)(o)
	s.mu.Lock()
	if sp := s.peers[p]; sp != nil {
		delete(s.peers, p)
		if !sp.anonymous {
			if s.ids.ids[string(sp.id)] == p {
				delete(s.ids.ids, string(sp.id))
			}
			// The last peer of the list takes p's place.
			last := len(s.named) - 1
			if moved := s.named[last]; moved != p {
				s.named[sp.at] = moved
				s.peers[moved].at = sp.at
			}
			s.named[last] = nil
			s.named = s.named[:last]
		}
	}
	s.mu.Unlock()
	p.Drain()
}

// PipeReadable runs the handler for every message waiting, on the loop that delivered them.
func (o *serveOwner) PipeReadable(p *reactor.Pipe) {
	s := (*Server)(o)
	sp, _ := peerState(p).(*servePeer)
	if sp == nil {
		for m := p.TryRecv(); m != nil; m = p.TryRecv() {
			m.Release() // attached after the server closed
		}
		return
	}
	if sp.batch == nil {
		sp.batch = make([]*pool.Msg, 0, serveBatch)
	}
	for {
		batch := p.TryRecvBatch(sp.batch[:0])
		if len(batch) == 0 {
			return
		}
		for i, m := range batch {
			batch[i] = nil
			if sp.anonymous {
				m.Release()
				continue
			}
			c := &sp.call
			c.m, c.live = m, true
			s.h(c)
			c.live = false
			if c.m != nil {
				c.m.Release()
				c.m = nil
			}
		}
	}
}

func (o *serveOwner) PipeWritable(*reactor.Pipe)               {}
func (o *serveOwner) PipeCommand(*reactor.Pipe, codec.Command) {}

// Event passes the connections' events to the monitor, if any, without waiting for room.
func (o *serveOwner) Event(e reactor.Event) { (*Server)(o).mon.event(e) }

// Monitor returns a channel of the server's connection events, as Socket.Monitor does for a
// socket (ZMQ_EVENT_ACCEPTED, HANDSHAKE_SUCCEEDED, the handshake failures, DISCONNECTED, ...),
// from this call on: a broker learns there which peers come and go and why. Events are dropped
// when the channel, of capacity size, is full; they are sent from the loops, which never wait for
// it. A second call replaces the first channel, which gets EventMonitorStopped and is closed;
// Close does the same to the current one, and a Monitor after Close returns a closed channel.
// Any goroutine.
func (s *Server) Monitor(size int) <-chan reactor.Event { return s.mon.start(size) }
