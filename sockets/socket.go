package sockets

import (
	"context"
	"fmt"
	"sync"
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
}

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
	monitor   chan reactor.Event
	closed    bool
	// Blocked callers: a caller that succeeds hands the wake-up on while others still wait, since
	// the ready channels hold one token and readiness is only reported on transitions.
	rcvWaiters, sndWaiters int

	closing  chan struct{} // closed by Close: wakes blocked calls
	rcvReady chan struct{} // a pipe became readable
	sndReady chan struct{} // a pipe got room, or a new pipe came
}

// New creates a socket of type t on the reactor given with WithReactor, or on the process's default
// reactor (started on first use).
func New(t Type, opts ...Option) (*Socket, error) {
	return NewOn(nil, t, opts...)
}

// NewOn creates a socket on reactor r (nil: the default one), like zmq_socket on a context.
func NewOn(r *reactor.Reactor, t Type, opts ...Option) (*Socket, error) {
	if r == nil {
		var err error
		if r, err = reactor.Default(); err != nil {
			return nil, err
		}
	}
	s := &Socket{
		typ:       t,
		r:         r,
		opts:      DefaultOptions(),
		pipes:     make(map[*reactor.Pipe]struct{}),
		listeners: make(map[string]*reactor.Listener),
		dialers:   make(map[string][]*reactor.Dialer),
		closing:   make(chan struct{}),
		rcvReady:  make(chan struct{}, 1),
		sndReady:  make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	if err := s.opts.validate(); err != nil {
		return nil, err
	}
	switch t {
	case Push:
		s.pat = &push{}
	case Pull:
		s.pat = &pull{}
	case Pair:
		s.pat = &pair{}
	case Req:
		s.pat = &req{}
	case Rep:
		s.pat = &rep{}
	default:
		return nil, fmt.Errorf("%w: socket type %v is not implemented yet", ErrNotSupported, t)
	}
	return s, nil
}

// Type returns the socket's type.
func (s *Socket) Type() Type { return s.typ }

// SetOptions changes options; like libzmq, they apply to endpoints bound or connected afterwards.
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
// resolved endpoint (libzmq's ZMQ_LAST_ENDPOINT), with an ephemeral port filled in.
func (s *Socket) Bind(endpoint string) (string, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", ErrClosed
	}
	ro := s.opts.pipeOptions(s.typ)
	s.mu.Unlock()
	l, err := s.r.Listen(endpoint, ro, s)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = l.Close()
		return "", ErrClosed
	}
	s.listeners[l.Endpoint()] = l
	if l.Endpoint() != endpoint {
		s.listeners[endpoint] = l
	}
	return l.Endpoint(), nil
}

// Connect starts connecting to endpoint and returns at once: the connection is made, and remade
// after failures, in the background. Messages sent meanwhile wait in the pipe (unless Immediate).
func (s *Socket) Connect(endpoint string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	ro := s.opts.pipeOptions(s.typ)
	s.mu.Unlock()
	d, err := s.r.Connect(endpoint, ro, s)
	if err != nil {
		return &reactor.OpError{Op: "connect", Endpoint: endpoint, Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		d.Close(0)
		return ErrClosed
	}
	s.dialers[endpoint] = append(s.dialers[endpoint], d)
	if !ro.Immediate {
		s.addPipe(d.Pipe())
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
		s.mu.Unlock()
	}
	return nil
}

// Close closes the socket and returns at once, as zmq_close does. Blocked Send and Recv calls
// return ErrClosed. Connected peers still get what is queued for them for up to Linger, in the
// background: Reactor.Close (or reactor.CloseDefault) waits for that, like zmq_ctx_term. Messages
// queued for peers that are not connected are dropped.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
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
	for _, p := range pipes {
		p.Close(linger)
	}
	for _, d := range ds {
		d.Close(linger)
	}
	for _, l := range lns {
		_ = l.Close()
	}
	s.mu.Lock()
	for p := range s.pipes {
		p.Drain()
	}
	clear(s.pipes)
	if s.monitor != nil {
		close(s.monitor)
		s.monitor = nil
	}
	s.mu.Unlock()
	return nil
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
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		ok, err := s.pat.send(m)
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
		if d > 0 && timer == nil {
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		err = nil
		select {
		case <-s.sndReady:
		case <-ctx.Done():
			err = ctx.Err()
		case <-timeout:
			err = ErrWouldBlock
		case <-s.closing:
			err = ErrClosed
		}
		s.mu.Lock()
		s.sndWaiters--
		s.mu.Unlock()
		if err != nil {
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
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		m, err := s.pat.recv()
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
		if d > 0 && timer == nil {
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		select {
		case <-s.rcvReady:
		case <-ctx.Done():
			err = ctx.Err()
		case <-timeout:
			err = ErrWouldBlock
		case <-s.closing:
			err = ErrClosed
		}
		s.mu.Lock()
		s.rcvWaiters--
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// Monitor returns a channel of the socket's connection events (libzmq's zmq_socket_monitor). Events
// are dropped, never waited for, when the channel's buffer (size) is full. The channel is closed by
// Close. A second call replaces the first channel.
func (s *Socket) Monitor(size int) <-chan reactor.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.monitor != nil {
		close(s.monitor)
	}
	s.monitor = make(chan reactor.Event, size)
	if s.closed {
		close(s.monitor)
		ch := s.monitor
		s.monitor = nil
		return ch
	}
	return s.monitor
}

// Stats returns the write-path counters of the socket's reactor.
func (s *Socket) Stats() reactor.Stats { return s.r.Stats() }

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

func (s *Socket) dropPipe(p *reactor.Pipe) {
	if _, ok := s.pipes[p]; !ok {
		return
	}
	delete(s.pipes, p)
	s.pat.detach(p, true)
}

// reactor.Owner: called on loops and reactor goroutines.

// PipeAttached implements reactor.Owner.
func (s *Socket) PipeAttached(p *reactor.Pipe) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if _, ok := s.pipes[p]; ok {
		s.pat.attach(p) // a dialed pipe reconnected
		signal(s.sndReady)
		return
	}
	s.addPipe(p)
}

// PipeDetached implements reactor.Owner.
func (s *Socket) PipeDetached(p *reactor.Pipe, final bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if final {
		if _, ok := s.pipes[p]; ok {
			delete(s.pipes, p)
			s.pat.detach(p, true)
		}
		return
	}
	if _, ok := s.pipes[p]; ok {
		if p.Options().Immediate {
			// ZMQ_IMMEDIATE: a disconnected peer takes no messages until it is back.
			delete(s.pipes, p)
			s.pat.detach(p, true)
			return
		}
		s.pat.detach(p, false)
	}
}

// PipeReadable implements reactor.Owner.
func (s *Socket) PipeReadable(p *reactor.Pipe) {
	s.mu.Lock()
	if !s.closed {
		s.pat.readable(p)
	}
	s.mu.Unlock()
	signal(s.rcvReady)
}

// PipeWritable implements reactor.Owner.
func (s *Socket) PipeWritable(*reactor.Pipe) { signal(s.sndReady) }

// PipeCommand implements reactor.Owner. The types built so far ignore commands, as the spec says
// a peer must do with commands it does not know.
func (s *Socket) PipeCommand(*reactor.Pipe, codec.Command) {}

// Event implements reactor.Owner.
func (s *Socket) Event(e reactor.Event) {
	s.mu.Lock()
	if s.monitor != nil {
		select {
		case s.monitor <- e:
		default:
		}
	}
	s.mu.Unlock()
}
