package reactor

import (
	"context"
	"fmt"
	"maps"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
)

// Config configures a Reactor.
type Config struct {
	// Loops is the number of gnet event loops, like libzmq's I/O threads; 0 means one per two
	// CPUs (at least one). A loop blocks in epoll_wait inside a system call, which holds on to its
	// P: with as many loops as GOMAXPROCS, a goroutine the loop wakes waits for sysmon to take the
	// P back (20 us to 10 ms), so leave Ps for the application's goroutines.
	Loops int
	// Logger receives gnet's own log lines; nil discards them (the library never logs on its own).
	Logger Logger

	// portablePause makes a connection whose reader is full leave gnet while it waits (its
	// descriptor duplicated, re-enrolled once the reader made room) instead of being muted in the
	// loop's epoll set. zloop falls back to it by itself wherever muting is unavailable; the field
	// lets tests run that path (set through internal/plumb outside this package). It costs a
	// goroutine and some twenty allocations per pause.
	portablePause bool
}

// Logger is the logging interface gnet expects.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

type discardLogger struct{}

func (discardLogger) Debugf(string, ...any) {}
func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Fatalf(string, ...any) {}

// Reactor is a set of gnet event loops that own every connection of the sockets built on it: the
// counterpart of a libzmq context. Its methods are safe for concurrent use.
type Reactor struct {
	cli *gnet.Client

	mu        sync.Mutex
	loops     map[gnet.EventLoop]*loop
	wakers    []*waker
	conns     map[*conn]struct{}
	lingering map[*conn]struct{} // closing after they flush: Shutdown waits for them
	listeners map[*Listener]struct{}
	dialers   map[*Dialer]struct{}
	// tlsSlots bounds the TLS handshakes in progress on the listeners (tls.go).
	tlsSlots handshakeSlots
	// inproc:// names bound, and connections waiting for a name to be bound.
	inproc     map[string]*inprocEndpoint
	inprocWait map[string][]inprocWaiting
	// sockets are terminated by Shutdown, as zmq_ctx_term sends ETERM to every socket.
	sockets map[Terminator]struct{}
	// lingerDialers keep connecting for a closed socket until what it queued is delivered.
	lingerDialers map[*Dialer]struct{}
	terminated    bool // Shutdown began: no new sockets, endpoints or pipes
	closed        bool // Shutdown is stopping the loops: no new connections either
	portable      bool // Config.portablePause
	// owatch tells loops when a socket has room for a held body (outwatch.go); started at
	// the first one, stopped once every connection is gone.
	owatch       *outWatcher
	owatchFailed bool
	// auth is the reactor's ZAP handler (SetAuthorizer), for sockets without their own.
	auth atomic.Pointer[Authorizer]

	termOnce, stopOnce sync.Once
	stopErr            error

	wg sync.WaitGroup // listener, dialer and re-enroll goroutines
}

// Terminator is a socket as the reactor sees it at shutdown: Terminate makes every call blocked on
// the socket, and every later one, fail with ErrTerminated, and closes the socket with its LINGER.
// It is called once, on the goroutine that calls Shutdown, with no reactor lock held.
type Terminator interface{ Terminate() }

// New starts a reactor.
func New(cfg Config) (*Reactor, error) {
	n := cfg.Loops
	if n <= 0 {
		n = max(1, runtime.GOMAXPROCS(0)/2)
	}
	var lg Logger = discardLogger{}
	if cfg.Logger != nil {
		lg = cfg.Logger
	}
	r := &Reactor{
		loops:      make(map[gnet.EventLoop]*loop),
		conns:      make(map[*conn]struct{}),
		lingering:  make(map[*conn]struct{}),
		listeners:  make(map[*Listener]struct{}),
		dialers:    make(map[*Dialer]struct{}),
		inproc:     make(map[string]*inprocEndpoint),
		inprocWait: make(map[string][]inprocWaiting),
		portable:   cfg.portablePause,

		sockets:       make(map[Terminator]struct{}),
		lingerDialers: make(map[*Dialer]struct{}),
	}
	cli, err := gnet.NewClient(&events{r: r},
		gnet.WithNumEventLoop(n),
		gnet.WithLogger(lg),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReadBufferCap(64<<10),
		// Room for everything a connection may leave to gnet (sendBound and one batch more), so its
		// outbound ring never spills into per-write list nodes.
		gnet.WithWriteBufferCap(512<<10),
	)
	if err != nil {
		return nil, fmt.Errorf("zmq: reactor: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("zmq: reactor: %w", err)
	}
	r.cli = cli
	// One waker per loop: gnet's least-connections balancer puts each new one on an empty loop.
	for i := 0; i < n; i++ {
		w, err := r.newWaker()
		if err != nil {
			_ = r.Close()
			return nil, err
		}
		r.wakers = append(r.wakers, w)
	}
	return r, nil
}

// Stats sums the write-path counters of every loop.
func (r *Reactor) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s Stats
	for _, l := range r.loops {
		ls := l.Counters.Stats()
		s.Writes += ls.Writes
		s.BytesInline += ls.BytesInline
		s.BytesQueued += ls.BytesQueued
		s.Pauses += ls.Pauses
		s.Detaches += ls.Detaches
		s.MutedReads += ls.MutedReads
		s.SenderWrites += ls.SenderWrites
		s.SenderShort += ls.SenderShort
		s.Blocks += ls.Blocks
		s.DirectReads += ls.DirectReads
		s.LowWaterWaits += ls.LowWaterWaits
		s.HeldBodies += ls.HeldBodies
		s.PassedTurns += ls.PassedTurns
	}
	return s
}

// Register adds a socket that Shutdown terminates; it fails with ErrTerminated once Shutdown has
// begun (zmq_socket on a terminated context). Any goroutine.
func (r *Reactor) Register(t Terminator) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.terminated {
		return ErrTerminated
	}
	r.sockets[t] = struct{}{}
	return nil
}

// Unregister removes a socket added by Register (it was closed). Any goroutine.
func (r *Reactor) Unregister(t Terminator) {
	r.mu.Lock()
	delete(r.sockets, t)
	r.mu.Unlock()
}

// Terminated reports whether Shutdown has begun. Any goroutine.
func (r *Reactor) Terminated() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.terminated
}

// Close is Shutdown with no deadline: libzmq's zmq_ctx_term. With an infinite LINGER and a
// peer that never takes what was queued for it, it waits forever, as libzmq does; bound it with
// Shutdown. Any goroutine but a loop's.
func (r *Reactor) Close() error { return r.Shutdown(context.Background()) }

// Shutdown terminates the reactor, like zmq_ctx_term, bounded by ctx like http.Server.Shutdown:
//
//  1. Every socket still open on the reactor is terminated: calls blocked on it (Send, Recv, a
//     Poller's Wait) return ErrTerminated at once, later calls too, and it is closed with its LINGER.
//     NewOn, Bind and Connect on the reactor fail with ErrTerminated from now on.
//  2. It waits for what closed sockets still deliver: a connection of a closed socket flushes what
//     was queued for it, and a Connect of a closed socket with messages queued keeps connecting (and
//     reconnecting) until they are written, as libzmq's sessions do during LINGER. Each ends when
//     its messages reached the kernel or its LINGER ran out (then they are dropped, and the
//     socket's monitor gets an event whose Err wraps ErrLingerExpired).
//  3. When ctx ends first, everything still lingering is dropped the same way.
//  4. Every connection is closed, the loops stop, and every goroutine the reactor started has
//     ended when Shutdown returns. The returned error is gnet's, if stopping it failed.
//
// Shutdown may be called again, concurrently too: each call returns once the reactor has stopped,
// and the first context to end cuts the waiting short for all. Any goroutine but a loop's.
func (r *Reactor) Shutdown(ctx context.Context) error {
	r.termOnce.Do(r.terminate)
	for {
		waits := r.lingerWaits()
		if len(waits) == 0 {
			break
		}
		for _, ch := range waits {
			select {
			case <-ch:
			case <-ctx.Done():
				r.force()
			}
		}
	}
	r.stopOnce.Do(r.stop)
	return r.stopErr
}

// terminate is the first step of Shutdown: sockets get ETERM and close with their linger, and
// every listener and every dialer that has nothing left to deliver stops.
func (r *Reactor) terminate() {
	r.mu.Lock()
	r.terminated = true
	socks := slices.Collect(maps.Keys(r.sockets))
	r.mu.Unlock()
	for _, t := range socks {
		t.Terminate()
	}
	r.mu.Lock()
	lns := slices.Collect(maps.Keys(r.listeners))
	ds := make([]*Dialer, 0, len(r.dialers))
	for d := range r.dialers {
		if _, lingering := r.lingerDialers[d]; !lingering {
			ds = append(ds, d)
		}
	}
	r.mu.Unlock()
	for _, l := range lns {
		_ = l.Close()
	}
	for _, d := range ds {
		d.stop()
	}
}

// lingerWaits returns what Shutdown waits for: the lingering dialers and connections.
func (r *Reactor) lingerWaits() []<-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	waits := make([]<-chan struct{}, 0, len(r.lingerDialers)+len(r.lingering))
	for d := range r.lingerDialers {
		if d.inprocLinger != nil {
			waits = append(waits, d.inprocLinger)
		} else {
			waits = append(waits, d.done)
		}
	}
	for c := range r.lingering {
		waits = append(waits, c.doneChan())
	}
	return waits
}

// force ends all lingering at once: Shutdown's context ended.
func (r *Reactor) force() {
	r.mu.Lock()
	ds := slices.Collect(maps.Keys(r.lingerDialers))
	cs := slices.Collect(maps.Keys(r.lingering))
	r.mu.Unlock()
	for _, d := range ds {
		d.cancel()
	}
	for _, c := range cs {
		c.scheduleExpire()
	}
}

// stop is the last step of Shutdown: every connection closes and the loops stop.
func (r *Reactor) stop() {
	r.mu.Lock()
	r.closed = true
	ds := slices.Collect(maps.Keys(r.dialers))
	r.mu.Unlock()
	for _, d := range ds {
		d.stop() // Connects made while Shutdown waited (by owners that are not sockets)
	}
	r.wg.Wait()
	r.mu.Lock()
	cs := slices.Collect(maps.Keys(r.conns))
	r.mu.Unlock()
	for _, c := range cs {
		c.scheduleClose()
	}
	for _, c := range cs {
		<-c.doneChan()
	}
	r.mu.Lock()
	ow := r.owatch
	r.mu.Unlock()
	if ow != nil {
		ow.close()
	}
	r.wg.Wait() // re-enrolls that were in flight
	r.stopErr = r.cli.Stop()
	r.mu.Lock()
	for _, l := range r.loops {
		l.timer.Stop()
	}
	for _, w := range r.wakers {
		w.close()
	}
	r.mu.Unlock()
}

func (r *Reactor) track(c *conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Reactor) forget(c *conn) {
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.lingering, c)
	r.mu.Unlock()
}

// lingerDialer records that d keeps connecting to deliver what its closed socket queued; Shutdown
// waits for it. False when the reactor is already stopping (nothing can connect any more).
func (r *Reactor) lingerDialer(d *Dialer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.lingerDialers[d] = struct{}{}
	return true
}

func (r *Reactor) unlingerDialer(d *Dialer) {
	r.mu.Lock()
	delete(r.lingerDialers, d)
	r.mu.Unlock()
}

// lingerOn records that c is closing after it flushed; Shutdown waits for it.
func (r *Reactor) lingerOn(c *conn) {
	r.mu.Lock()
	if _, ok := r.conns[c]; ok {
		r.lingering[c] = struct{}{}
	}
	r.mu.Unlock()
}

func (r *Reactor) loopOf(gc gnet.Conn) *loop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loops[gc.EventLoop()]
}

// events receives gnet's callbacks, each on the loop that owns gc; a type of its own keeps them
// out of Reactor's API.
type events struct {
	gnet.BuiltinEventEngine
	r *Reactor
}

// OnOpen implements gnet.EventHandler.
func (h *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	r := h.r
	if w, ok := gc.Context().(*waker); ok {
		w.gfd = gc.Fd()
		r.mu.Lock()
		r.loops[gc.EventLoop()] = newLoop(r, gc.EventLoop(), w)
		r.mu.Unlock()
		return nil, gnet.None
	}
	c, _ := gc.Context().(*conn)
	if c == nil {
		return nil, gnet.Close
	}
	if c.closed() {
		return nil, gnet.Close // closed while a paused connection was being re-enrolled
	}
	if c.loop == nil {
		c.loop = r.loopOf(gc)
	}
	c.loop.enrolled = true
	out := c.opened(gc)
	if (c.failErr != nil || (c.tls != nil && c.tls.eof)) && !c.closed() {
		// What arrived with the connection failed it (a TLS record, a ws carry), or it was refused
		// at once (a ws client's NULL with an enforced domain and no ZAP handler). A TLS
		// connection's answer, if any, went out through its records already.
		if c.tls != nil {
			return nil, gnet.Close
		}
		return out, gnet.Close
	}
	return out, gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (h *events) OnTraffic(gc gnet.Conn) gnet.Action {
	if w, ok := gc.Context().(*waker); ok {
		w.run(gc)
		return gnet.None
	}
	c, _ := gc.Context().(*conn)
	if c == nil || c.closed() || c.gc != gc {
		return gnet.None
	}
	return c.traffic()
}

// OnClose implements gnet.EventHandler.
func (h *events) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*conn)
	if c == nil || c.closed() || c.gc != gc {
		return gnet.None
	}
	c.onClose(err)
	return gnet.None
}

// enroll hands an established connection to a loop. It blocks until OnOpen ran: never call it on a
// loop. gnet duplicates the descriptor; nc is closed in every case.
func (r *Reactor) enroll(nc net.Conn, c *conn) error {
	if !r.track(c) {
		_ = nc.Close()
		return ErrClosed
	}
	if _, err := r.cli.EnrollContext(nc, c); err != nil {
		r.forget(c)
		return err
	}
	return nil
}

// forgetInprocWait drops d from the connections waiting for an inproc name.
func (r *Reactor) forgetInprocWait(d *Dialer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, ws := range r.inprocWait {
		for i, w := range ws {
			if w.d == d {
				r.inprocWait[name] = append(ws[:i], ws[i+1:]...)
				return
			}
		}
	}
}
