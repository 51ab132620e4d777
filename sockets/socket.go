package sockets

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// pattern is what makes a socket type: how it chooses pipes to send to and receive from. Every
// method runs with the socket's mutex held and must not block.
type pattern interface {
	attach(p *reactor.Pipe)
	detach(p *reactor.Pipe, final bool)
	readable(p *reactor.Pipe)
	// send takes m and returns true, or returns false (m not taken) when it would block.
	send(m *pool.Msg) (bool, error)
	// recv returns a message, or nil when it would block.
	recv() (*pool.Msg, error)
	// canSend reports whether send would take a message now (libzmq's xhas_out).
	canSend() bool
}

// Optional parts of a pattern, with the socket's mutex held like the rest.
type (
	// lazyReader is a pattern whose readable only queues the pipe for its next recv, so that
	// readable may wait until the reader looks (Socket.absorbLocked). Not one whose readable acts
	// at once: a PUB reads subscriptions, a conflating queue drops old messages as they arrive.
	lazyReader interface{ lazyReadable() }

	// commandTaker gets the commands the session passes up (SUBSCRIBE, CANCEL).
	commandTaker interface {
		command(p *reactor.Pipe, c codec.Command)
	}
	// writableTaker learns that p has room again after a TrySend found it full.
	writableTaker interface{ writable(p *reactor.Pipe) }
	// subscribable implements Subscribe and Unsubscribe.
	subscribable interface {
		subscribe(topic []byte, on bool) error
	}
	// closer releases the messages a pattern holds when the socket closes.
	closer interface{ close() }
)

// Socket is a ZeroMQ socket. Unlike libzmq's, it is safe for concurrent use by many goroutines:
// every method may be called from any goroutine. Blocking calls take a context.
type Socket struct {
	typ Type
	r   *reactor.Reactor

	mu        sync.Mutex
	opts      Options
	pat       pattern
	pipes     map[*reactor.Pipe]struct{}
	listeners map[string]*reactor.Listener
	dialers   map[string][]*reactor.Dialer
	mon       monitor
	closed    bool
	// closeErr is what calls return once closed: ErrClosed, or ErrTerminated when the reactor's
	// Shutdown closed the socket.
	closeErr error
	// pre is a message a Poller took from the pattern to learn that the socket is readable;
	// the next Recv returns it.
	pre *pool.Msg
	// watchers are the Pollers waiting on this socket: each gets a token whenever something
	// that may change readiness happens.
	watchers map[chan struct{}]struct{}
	// Blocked callers: a caller that succeeds hands the wake-up on while others still wait, since
	// the ready channels hold one token and readiness is only reported on transitions.
	rcvWaiters, sndWaiters int

	counters reactor.Counters // the write path of the socket's connections (Stats)

	// Pipes that became readable, for a pattern whose readable only queues the pipe (lazy): the
	// loops append them under arriveMu, which nobody holds for more than an append, and the
	// reader takes them under mu when it looks for a message (absorbLocked), as libzmq's reader
	// takes its pipes' activations from its mailbox. A loop reading a thousand peers otherwise
	// takes mu once per peer that sends, against the goroutine receiving and replying under it.
	lazy     bool
	nwatch   atomic.Int32 // len(watchers), for PipeReadable, which does not take mu
	arriveMu sync.Mutex
	arrived  []*reactor.Pipe
	absorbed []*reactor.Pipe // the reader's swap of arrived (under mu)

	closing  chan struct{} // closed by Close: wakes blocked calls
	rcvReady chan struct{} // a pipe became readable
	sndReady chan struct{} // a pipe got room, or a new pipe came
}

// New creates a socket of type t on the reactor given with WithReactor, or on the process's default
// reactor (started on first use).
func New(t Type, opts ...Option) (*Socket, error) {
	return NewOn(nil, t, opts...)
}

// prepare is what a Socket and a Server (NewOn, ServeOn) start with: the reactor (nil: the
// default one), the options applied over the defaults and validated, and the reactor's ZAP
// service, so that a handler socket bound at ZAPEndpoint is reached from it.
func prepare(r *reactor.Reactor, opts []Option) (*reactor.Reactor, Options, error) {
	if r == nil {
		var err error
		if r, err = reactor.Default(); err != nil {
			return nil, Options{}, err
		}
	}
	o := DefaultOptions()
	for _, f := range opts {
		f(&o)
	}
	if err := o.validate(); err != nil {
		return nil, Options{}, err
	}
	ensureZAP(r)
	return r, o, nil
}

// NewOn creates a socket on reactor r (nil: the default one), like zmq_socket on a context.
func NewOn(r *reactor.Reactor, t Type, opts ...Option) (*Socket, error) {
	r, opt, err := prepare(r, opts)
	if err != nil {
		return nil, err
	}
	s := &Socket{
		typ:       t,
		r:         r,
		opts:      opt,
		pipes:     make(map[*reactor.Pipe]struct{}),
		listeners: make(map[string]*reactor.Listener),
		dialers:   make(map[string][]*reactor.Dialer),
		closing:   make(chan struct{}),
		rcvReady:  make(chan struct{}, 1),
		sndReady:  make(chan struct{}, 1),
	}
	if err := r.Register(terminator{s}); err != nil {
		return nil, err
	}
	// Patterns read the live options (SetOptions replaces s.opts in place, under s.mu).
	o := &s.opts
	switch t {
	case Push:
		s.pat = &push{o: o}
	case Pull:
		s.pat = &pull{in: inQueue{conf: &o.Conflate}}
	case Pair:
		s.pat = &pair{}
	case Req:
		s.pat = newReq(o)
	case Rep:
		s.pat = &rep{}
	case Dealer:
		s.pat = &dealer{o: o, in: inQueue{conf: &o.Conflate}}
	case Router:
		s.pat = newRouter(o)
	case Pub:
		s.pat = &publisher{o: o}
	case XPub:
		s.pat = &publisher{o: o, xpub: true}
	case Sub:
		s.pat = &subscriber{o: o, in: inQueue{conf: &o.Conflate}}
	case XSub:
		s.pat = &subscriber{o: o, xsub: true}
	case Stream:
		s.pat = newStream(o)
	default:
		r.Unregister(terminator{s})
		return nil, fmt.Errorf("%w: socket type %v is not implemented yet", ErrNotSupported, t)
	}
	_, s.lazy = s.pat.(lazyReader)
	return s, nil
}

// terminator is how the reactor's Shutdown reaches a socket (zmq_ctx_term's ETERM), without a
// method on Socket that users would see.
type terminator struct{ s *Socket }

// Terminate implements reactor.Terminator: blocked and later calls fail with ErrTerminated, and
// the socket closes with its linger.
func (t terminator) Terminate() { t.s.close(ErrTerminated) }

// Type returns the socket's type.
func (s *Socket) Type() Type { return s.typ }

// SetOptions changes options. Each field of Options says when a change takes effect: at once, or
// (like most of libzmq's) for endpoints bound or connected afterwards. An invalid value fails with
// ErrInvalid and changes nothing. Any goroutine.
func (s *Socket) SetOptions(opts ...Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.opts
	for _, f := range opts {
		f(&o)
	}
	if err := o.validate(); err != nil {
		return err
	}
	s.opts = o
	return nil
}

// Options returns a copy of the current options.
func (s *Socket) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// Bind listens on endpoint (tcp://*:5555, tcp://127.0.0.1:*, ipc:///tmp/x, ...) and returns the
// resolved endpoint (libzmq's ZMQ_LAST_ENDPOINT), with an ephemeral port filled in. Every failure
// is a *reactor.OpError (Op "bind") wrapping why: reactor.ErrBadEndpoint (saying what is wrong
// with endpoint), reactor.ErrTransport, reactor.ErrAddrInUse, ErrClosed, ErrTerminated, or the
// operating system's error. Any goroutine.
func (s *Socket) Bind(endpoint string) (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", opError("bind", endpoint, s.closeErr)
	}
	ro := s.opts.pipeOptions(s.typ)
	ro.Counters = &s.counters
	s.mu.Unlock()
	l, err := s.r.Listen(endpoint, ro, (*owner)(s))
	if err != nil {
		return "", opError("bind", endpoint, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = l.Close()
		return "", opError("bind", endpoint, s.closeErr)
	}
	s.listeners[l.Endpoint()] = l
	if l.Endpoint() != endpoint {
		s.listeners[endpoint] = l
	}
	return l.Endpoint(), nil
}

// opError returns err as the *reactor.OpError of op on endpoint (the reactor's may be one already).
func opError(op, endpoint string, err error) error {
	if oe, ok := err.(*reactor.OpError); ok {
		return oe
	}
	return &reactor.OpError{Op: op, Endpoint: endpoint, Err: err}
}

// Connect starts connecting to endpoint and returns at once: the connection is made, and remade
// after failures, in the background. Messages sent meanwhile wait in the pipe (unless Immediate).
// Every failure is a *reactor.OpError (Op "connect"), as Bind's. Any goroutine.
func (s *Socket) Connect(endpoint string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return opError("connect", endpoint, s.closeErr)
	}
	ro := s.opts.pipeOptions(s.typ)
	ro.Counters = &s.counters
	var rid []byte // this Connect's ZMQ_CONNECT_ROUTING_ID; the next needs a new one
	if s.typ == Router && len(s.opts.ConnectRoutingID) > 0 {
		rid, s.opts.ConnectRoutingID = s.opts.ConnectRoutingID, nil
		s.pat.(*router).connectIDs[ro] = rid
	}
	s.mu.Unlock()
	d, err := s.r.Connect(endpoint, ro, (*owner)(s))
	if err != nil {
		if rid != nil { // not used: libzmq keeps it for the next Connect
			s.mu.Lock()
			delete(s.pat.(*router).connectIDs, ro)
			if s.opts.ConnectRoutingID == nil {
				s.opts.ConnectRoutingID = rid
			}
			s.mu.Unlock()
		}
		return opError("connect", endpoint, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		// Not under s.mu: Close waits for the dialing goroutine, which may be waiting for s.mu
		// to report an event.
		s.mu.Unlock()
		d.Close(0)
		s.mu.Lock()
		return opError("connect", endpoint, s.closeErr)
	}
	s.dialers[endpoint] = append(s.dialers[endpoint], d)
	if !ro.Immediate {
		if _, known := s.pipes[d.Pipe()]; !known {
			s.addPipe(d.Pipe())
			s.probe(d.Pipe()) // first in its queue, ahead of anything sent before the connection
		}
	}
	return nil
}

// Unbind stops listening on endpoint (as given to Bind, or as Bind returned it) and closes the
// connections accepted through it.
func (s *Socket) Unbind(endpoint string) error {
	s.mu.Lock()
	l, ok := s.listeners[endpoint]
	if ok {
		for k, v := range s.listeners {
			if v == l {
				delete(s.listeners, k)
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		return ErrNoEndpoint
	}
	return l.Close()
}

// Disconnect stops connecting to endpoint and closes its pipes, dropping what they hold.
func (s *Socket) Disconnect(endpoint string) error {
	s.mu.Lock()
	ds, ok := s.dialers[endpoint]
	delete(s.dialers, endpoint)
	s.mu.Unlock()
	if !ok {
		return ErrNoEndpoint
	}
	for _, d := range ds {
		<-d.Close(0)
		s.mu.Lock()
		s.dropPipe(d.Pipe())
		if rt, ok := s.pat.(*router); ok {
			rt.forgetConnect(d.Pipe()) // an IMMEDIATE pipe that never connected was not dropped
		}
		s.mu.Unlock()
	}
	return nil
}

// Close closes the socket and returns at once, as zmq_close does. Blocked Send and Recv calls
// return ErrClosed. What was queued is still delivered for up to Linger (default: no limit), in
// the background, as libzmq does: to connected peers, and to the peers of Connect endpoints that
// are not connected yet, are reconnecting or are in their handshake (those keep connecting until
// their messages are written). Reactor.Shutdown (Close, reactor.CloseDefault) waits for that, like
// zmq_ctx_term, and bounds it with its context. Messages dropped when Linger runs out are reported
// on the monitor (Err wraps ErrLingerExpired), which stays open until the lingering ends.
// Any goroutine; a second Close does nothing.
func (s *Socket) Close() error {
	s.close(ErrClosed)
	return nil
}

// close closes the socket; err is what calls return from now on.
func (s *Socket) close(err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.closeErr = err
	close(s.closing)
	linger := s.opts.Linger
	lns := make([]*reactor.Listener, 0, len(s.listeners))
	seen := map[*reactor.Listener]bool{}
	for _, l := range s.listeners {
		if !seen[l] {
			seen[l] = true
			lns = append(lns, l)
		}
	}
	var ds []*reactor.Dialer
	for _, v := range s.dialers {
		ds = append(ds, v...)
	}
	pipes := make([]*reactor.Pipe, 0, len(s.pipes))
	for p := range s.pipes {
		if !p.Dialed() {
			pipes = append(pipes, p)
		}
	}
	s.mu.Unlock()

	// Accepted pipes start lingering before their listeners close the rest.
	var lingering []<-chan struct{}
	for _, p := range pipes {
		lingering = appendOpen(lingering, p.Close(linger))
	}
	for _, d := range ds {
		lingering = appendOpen(lingering, d.Close(linger))
	}
	for _, l := range lns {
		_ = l.Close()
	}
	s.mu.Lock()
	for p := range s.pipes {
		p.Drain()
	}
	clear(s.pipes)
	s.arriveMu.Lock()
	clear(s.arrived)
	s.arrived = s.arrived[:0]
	s.arriveMu.Unlock()
	if c, ok := s.pat.(closer); ok {
		c.close()
	}
	if s.pre != nil {
		s.pre.Release()
		s.pre = nil
	}
	if len(lingering) == 0 || !s.mon.active() {
		s.mon.stop()
	} else {
		// The monitor reports what happens while the socket lingers (a drop at its end, too)
		// and stops after it; Reactor.Shutdown bounds how long that is.
		go func() {
			for _, ch := range lingering {
				<-ch
			}
			s.mon.stop()
		}()
	}
	s.wakeLocked()
	s.mu.Unlock()
	s.r.Unregister(terminator{s})
}

// appendOpen appends ch to chs unless it is closed already.
func appendOpen(chs []<-chan struct{}, ch <-chan struct{}) []<-chan struct{} {
	select {
	case <-ch:
		return chs
	default:
		return append(chs, ch)
	}
}

// Send sends a message made of frames (copied; the caller keeps them). It blocks while the message
// cannot be queued (every eligible peer at SNDHWM, or none yet), until ctx ends (ctx.Err()) or
// SndTimeout passes (ErrWouldBlock).
func (s *Socket) Send(ctx context.Context, frames ...[]byte) error {
	if len(frames) == 0 {
		return ErrEmptyMessage
	}
	m := pool.NewMsg()
	m.AppendFrames(frames...)
	if err := s.SendMsg(ctx, m); err != nil {
		m.Release()
		return err
	}
	return nil
}

// SendMsg sends m without copying. On success m belongs to the socket (do not touch or release it);
// on error it still belongs to the caller. Blocking as Send.
func (s *Socket) SendMsg(ctx context.Context, m *pool.Msg) error {
	if m.Len() == 0 {
		return ErrEmptyMessage
	}
	// A message forwarded as it was received does not carry its old connection's properties
	// to its next receiver: libzmq resets them on send.
	m.SetMetadata(nil)
	var dl deadline
	defer dl.stop()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return s.closeErr
		}
		if s.pre != nil && (s.typ == Req || s.typ == Rep) {
			// A Poller took the next message already: for REQ and REP that moved the state
			// machine, but the caller has not seen the message yet.
			if s.typ != Req || !s.opts.ReqRelaxed {
				s.mu.Unlock()
				return ErrState
			}
			s.pre.Release() // the reply to a request ReqRelaxed now abandons
			s.pre = nil
		}
		ok, err := s.pat.send(m)
		if ok {
			s.wakeLocked()
		}
		d := s.opts.SndTimeout
		others := s.sndWaiters > 0
		if !ok && err == nil && d != 0 {
			s.sndWaiters++
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if ok {
			if others {
				signal(s.sndReady)
			}
			return nil
		}
		if d == 0 {
			return ErrWouldBlock
		}
		if err := s.await(ctx, s.sndReady, dl.arm(d), &s.sndWaiters); err != nil {
			return err
		}
	}
}

// Recv receives the next message as frames the caller owns. It blocks until a message arrives,
// ctx ends (ctx.Err()) or RcvTimeout passes (ErrWouldBlock).
func (s *Socket) Recv(ctx context.Context) ([][]byte, error) {
	m, err := s.RecvMsg(ctx)
	if err != nil {
		return nil, err
	}
	frames := m.Copy()
	m.Release()
	return frames, nil
}

// RecvMsg is Recv without copying: the message belongs to the caller, who must Release it.
func (s *Socket) RecvMsg(ctx context.Context) (*pool.Msg, error) {
	var dl deadline
	defer dl.stop()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, s.closeErr
		}
		var m *pool.Msg
		var err error
		s.absorbLocked()
		if s.pre != nil {
			m, s.pre = s.pre, nil
		} else {
			m, err = s.pat.recv()
		}
		if m != nil {
			s.wakeLocked()
		}
		d := s.opts.RcvTimeout
		others := s.rcvWaiters > 0
		if m == nil && err == nil && d != 0 {
			s.rcvWaiters++
		}
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if m != nil {
			if others {
				signal(s.rcvReady)
			}
			return m, nil
		}
		if d == 0 {
			return nil, ErrWouldBlock
		}
		if err := s.await(ctx, s.rcvReady, dl.arm(d), &s.rcvWaiters); err != nil {
			return nil, err
		}
	}
}

// deadline is the SNDTIMEO/RCVTIMEO timer of one blocking call, started only if the call waits.
type deadline struct{ timer *time.Timer }

// arm starts the timer for d (> 0) on first use and returns its channel; nil (never fires) when
// there is no timeout.
func (dl *deadline) arm(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	if dl.timer == nil {
		dl.timer = time.NewTimer(d)
	}
	return dl.timer.C
}

func (dl *deadline) stop() {
	if dl.timer != nil {
		dl.timer.Stop()
	}
}

// await blocks a caller that found the socket not ready until ready is signalled (nil), ctx ends,
// timeout fires (ErrWouldBlock) or the socket closes (ErrClosed); then it takes the caller off
// *waiters, which it joined under s.mu before calling.
func (s *Socket) await(ctx context.Context, ready <-chan struct{}, timeout <-chan time.Time, waiters *int) error {
	var err error
	select {
	case <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = ErrWouldBlock
	case <-s.closing:
	}
	s.mu.Lock()
	if err == nil && s.closed {
		err = s.closeErr
	}
	*waiters--
	s.mu.Unlock()
	return err
}

// Monitor returns a channel of the socket's connection events (libzmq's zmq_socket_monitor). Events
// are dropped, never waited for, when the channel's buffer (size) is full. The channel is closed by
// Close, or when a second call replaces it; its last event then is EventMonitorStopped (if there
// is room for it). Any goroutine may call it, and receive from the channel; Event values are
// immutable.
//
// The events and where they come from, with libzmq's meaning:
//   - EventListening (Bind succeeded), EventBindFailed (Bind failed; Err says why), EventClosed
//     (a listener closed by Unbind or Close);
//   - EventAccepted (a connection accepted), EventAcceptFailed (accept failed; the listener backs
//     off, up to a second, and goes on: at the descriptor limit it does not spin, and it accepts
//     the waiting peers once descriptors free). An accepted connection that could not be handed
//     to a loop (no descriptor left for the loop's copy of it) is closed and reported as
//     EventAcceptFailed too, with its Remote address and the cause: every EventAccepted is
//     followed by EventHandshakeSucceeded, a handshake failure, EventDisconnected or that;
//   - EventConnectDelayed (a connection attempt did not succeed at once) and EventConnectRetried
//     (another attempt is scheduled after ReconnectIvl), EventConnected (a TCP or IPC connection
//     was made);
//   - EventHandshakeSucceeded (ZMTP greeting and READY exchanged: the peer is attached),
//     EventHandshakeFailedProtocol (the peer broke ZMTP, or is of an incompatible socket type),
//     EventHandshakeFailedNoDetail (the connection ended during the handshake, or it timed out);
//   - EventDisconnected (an established connection ended; Err says why);
//   - EventMonitorStopped (this channel is about to close).
//
// EventHandshakeFailedAuth reports a PLAIN refusal, either side. EventCloseFailed is never emitted:
// closing cannot fail here.
func (s *Socket) Monitor(size int) <-chan reactor.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.mon.stop() // a Monitor after Close gets a closed channel, lingering or not
	}
	return s.mon.start(size)
}

// Subscribe subscribes a SUB socket to messages whose first frame starts with topic (the empty
// topic matches everything), like ZMQ_SUBSCRIBE. It may be called before or after Connect and
// Bind; publishers connected later, or reconnecting, are told every subscription. Subscriptions
// are counted: a topic subscribed twice needs two Unsubscribe calls. topic is copied.
//
// On an XPUB socket with XPubManual it applies topic to the peer of the last message received
// (libzmq's manual mode). Other socket types return ErrNotSupported (an XSUB subscribes by
// sending 0x01+topic). Any goroutine may call it.
func (s *Socket) Subscribe(topic []byte) error { return s.subscribe(topic, true) }

// Unsubscribe undoes one Subscribe of topic (ZMQ_UNSUBSCRIBE); publishers are told when the last
// subscription to topic goes. Unsubscribing from a topic not subscribed to does nothing.
func (s *Socket) Unsubscribe(topic []byte) error { return s.subscribe(topic, false) }

func (s *Socket) subscribe(topic []byte, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.closeErr
	}
	sp, ok := s.pat.(subscribable)
	if !ok {
		return ErrNotSupported
	}
	return sp.subscribe(topic, on)
}

// readyLocked returns which of events a Recv or Send would complete without waiting (a closed
// socket is ready for both: they fail at once). Learning readability takes the next message
// from the pattern (libzmq's SUB and REQ do the same): it is kept in s.pre for the next Recv.
func (s *Socket) readyLocked(events Events) Events {
	if s.closed {
		return events
	}
	var r Events
	if events&PollIn != 0 {
		s.absorbLocked()
		if s.pre == nil {
			if m, err := s.pat.recv(); err == nil && m != nil {
				s.pre = m
			}
		}
		if s.pre != nil {
			r |= PollIn
		}
	}
	if events&PollOut != 0 && s.pat.canSend() {
		if s.pre == nil || (s.typ != Req && s.typ != Rep) || (s.typ == Req && s.opts.ReqRelaxed) {
			r |= PollOut
		}
	}
	return r
}

// absorbLocked gives the pattern the pipes that became readable since the reader last looked
// (lazy patterns), in the order they did; s.mu is held. A pipe whose peer left meanwhile is given
// too, as it would have been before it left: what it received before it went is still read.
func (s *Socket) absorbLocked() {
	if !s.lazy {
		return
	}
	s.arriveMu.Lock()
	s.arrived, s.absorbed = s.absorbed[:0], s.arrived
	s.arriveMu.Unlock()
	if !s.closed {
		for _, p := range s.absorbed {
			s.pat.readable(p)
		}
	}
	clear(s.absorbed)
	s.absorbed = s.absorbed[:0]
}

// wakeLocked tells every watching Poller to look again.
func (s *Socket) wakeLocked() {
	for ch := range s.watchers {
		signal(ch)
	}
}

func (s *Socket) watch(ch chan struct{}) {
	s.mu.Lock()
	if s.watchers == nil {
		s.watchers = make(map[chan struct{}]struct{})
	}
	s.watchers[ch] = struct{}{}
	s.nwatch.Store(int32(len(s.watchers)))
	s.mu.Unlock()
}

func (s *Socket) unwatch(ch chan struct{}) {
	s.mu.Lock()
	delete(s.watchers, ch)
	s.nwatch.Store(int32(len(s.watchers)))
	s.mu.Unlock()
}

// Stats returns the write-path counters of the socket's own connections, since it was created
// (those of every socket on the reactor add up to Reactor.Stats, less inproc, which writes
// nothing). Any goroutine.
func (s *Socket) Stats() reactor.Stats { return s.counters.Stats() }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (s *Socket) addPipe(p *reactor.Pipe) {
	if _, ok := s.pipes[p]; ok {
		return
	}
	s.pipes[p] = struct{}{}
	s.pat.attach(p)
	signal(s.sndReady)
}

// probe sends ZMQ_PROBE_ROUTER's empty message to a new pipe, as libzmq does when it attaches one.
func (s *Socket) probe(p *reactor.Pipe) {
	if !s.opts.ProbeRouter || (s.typ != Router && s.typ != Dealer && s.typ != Req) {
		return
	}
	m := pool.NewMsg()
	m.AppendFrame(nil)
	if !p.TrySend(m) {
		m.Release()
	}
}

func (s *Socket) dropPipe(p *reactor.Pipe) {
	if _, ok := s.pipes[p]; !ok {
		return
	}
	delete(s.pipes, p)
	s.pat.detach(p, true)
}

// owner is the socket as the reactor sees it: the reactor.Owner callbacks live on this type so
// that they are not part of Socket's API. They are called on loops and reactor goroutines.
type owner Socket

// PipeAttached implements reactor.Owner.
func (o *owner) PipeAttached(p *reactor.Pipe) {
	s := (*Socket)(o)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if _, ok := s.pipes[p]; ok {
		s.pat.attach(p) // a dialed pipe reconnected
		signal(s.sndReady)
	} else {
		s.addPipe(p)
		s.probe(p)
	}
	signal(s.rcvReady) // an XPUB may have a welcome-time notification; cheap otherwise
	s.wakeLocked()
}

// PipeDetached implements reactor.Owner.
func (o *owner) PipeDetached(p *reactor.Pipe, final bool) {
	s := (*Socket)(o)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	// The pattern may have queued something for the reader (an XPUB's unsubscriptions) or
	// lost the last pipe a Poller waited on; a Send blocked on this pipe (XPUB_NODROP,
	// ROUTER_MANDATORY) must look again too.
	defer signal(s.rcvReady)
	defer signal(s.sndReady)
	defer s.wakeLocked()
	switch {
	case final, p.Options().Immediate: // ZMQ_IMMEDIATE: a disconnected peer takes nothing until it is back
		s.dropPipe(p)
	default:
		if _, ok := s.pipes[p]; ok {
			s.pat.detach(p, false)
		}
	}
}

// PipeReadable implements reactor.Owner.
func (o *owner) PipeReadable(p *reactor.Pipe) {
	s := (*Socket)(o)
	if s.lazy {
		s.arriveMu.Lock()
		s.arrived = append(s.arrived, p)
		s.arriveMu.Unlock()
		signal(s.rcvReady)
		if s.nwatch.Load() > 0 {
			s.mu.Lock()
			s.wakeLocked()
			s.mu.Unlock()
		}
		return
	}
	s.mu.Lock()
	if !s.closed {
		s.pat.readable(p)
		s.wakeLocked()
	}
	s.mu.Unlock()
	signal(s.rcvReady)
}

// PipeWritable implements reactor.Owner.
func (o *owner) PipeWritable(p *reactor.Pipe) {
	s := (*Socket)(o)
	s.mu.Lock()
	if !s.closed {
		if w, ok := s.pat.(writableTaker); ok {
			w.writable(p)
		}
		s.wakeLocked()
	}
	s.mu.Unlock()
	signal(s.sndReady)
}

// PipeCommand implements reactor.Owner. PUB and XPUB take SUBSCRIBE and CANCEL; every other
// command, and every command to other types, is ignored, as rfc 37 says a peer must do with
// commands it does not know. c aliases the read buffer: nothing keeps it past the call.
func (o *owner) PipeCommand(p *reactor.Pipe, c codec.Command) {
	s := (*Socket)(o)
	s.mu.Lock()
	ct, ok := s.pat.(commandTaker)
	if ok && !s.closed {
		ct.command(p, c)
		s.wakeLocked()
	}
	s.mu.Unlock()
	if ok {
		signal(s.rcvReady)
	}
}

// Event implements reactor.Owner.
func (o *owner) Event(e reactor.Event) { (*Socket)(o).mon.event(e) }
