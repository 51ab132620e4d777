package reactor

import (
	"fmt"
	"net"
	"runtime"
	"sync"

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
	// PortablePause makes a connection whose reader is full leave gnet while it waits (its
	// descriptor duplicated, re-enrolled once the reader made room) instead of being muted in the
	// loop's epoll set. zloop falls back to it by itself wherever muting is unavailable; the field
	// lets tests run that path. It costs a goroutine and some twenty allocations per pause.
	PortablePause bool
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
	gnet.BuiltinEventEngine
	cli *gnet.Client

	mu        sync.Mutex
	loops     map[gnet.EventLoop]*loop
	wakers    []*waker
	conns     map[*conn]struct{}
	lingering map[*conn]struct{} // closing after they flush: Close waits for them
	listeners map[*Listener]struct{}
	dialers   map[*Dialer]struct{}
	// inproc:// names bound, and connections waiting for a name to be bound.
	inproc     map[string]*inprocEndpoint
	inprocWait map[string][]inprocWaiting
	closed     bool
	portable   bool // Config.PortablePause

	wg sync.WaitGroup // listener, dialer and re-enroll goroutines
}

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
		portable:   cfg.PortablePause,
	}
	cli, err := gnet.NewClient(r,
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
		ls := l.stats()
		s.Writes += ls.Writes
		s.BytesInline += ls.BytesInline
		s.BytesQueued += ls.BytesQueued
		s.Pauses += ls.Pauses
		s.Detaches += ls.Detaches
		s.MutedReads += ls.MutedReads
		s.SenderWrites += ls.SenderWrites
		s.SenderShort += ls.SenderShort
		s.Blocks += ls.Blocks
	}
	return s
}

// Close is libzmq's zmq_ctx_term: it stops listening and dialing, waits for the connections of
// closed sockets that are lingering (until they flushed what was queued or their LINGER expired:
// with an infinite LINGER and a peer that never reads, that is forever, as in libzmq), closes every
// other connection at once and stops the loops. It waits for every goroutine the reactor started.
func (r *Reactor) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	lns := make([]*Listener, 0, len(r.listeners))
	for l := range r.listeners {
		lns = append(lns, l)
	}
	ds := make([]*Dialer, 0, len(r.dialers))
	for d := range r.dialers {
		ds = append(ds, d)
	}
	r.mu.Unlock()
	for _, l := range lns {
		_ = l.Close()
	}
	for _, d := range ds {
		d.stop()
	}
	r.wg.Wait()
	r.mu.Lock()
	ls := make([]*conn, 0, len(r.lingering))
	for c := range r.lingering {
		ls = append(ls, c)
	}
	r.mu.Unlock()
	for _, c := range ls {
		<-c.done
	}
	r.mu.Lock()
	cs := make([]*conn, 0, len(r.conns))
	for c := range r.conns {
		cs = append(cs, c)
	}
	r.mu.Unlock()
	for _, c := range cs {
		c.scheduleClose()
	}
	for _, c := range cs {
		<-c.done
	}
	r.wg.Wait() // re-enrolls that were in flight
	err := r.cli.Stop()
	r.mu.Lock()
	for _, l := range r.loops {
		l.timer.Stop()
	}
	for _, w := range r.wakers {
		w.close()
	}
	r.mu.Unlock()
	return err
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

// lingerOn records that c is closing after it flushed; Close waits for it.
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

// gnet callbacks; each runs on the loop that owns gc.

// OnOpen implements gnet.EventHandler.
func (r *Reactor) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
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
	if c.closed {
		return nil, gnet.Close // closed while a paused connection was being re-enrolled
	}
	if c.loop == nil {
		c.loop = r.loopOf(gc)
	}
	return c.opened(gc), gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (r *Reactor) OnTraffic(gc gnet.Conn) gnet.Action {
	if w, ok := gc.Context().(*waker); ok {
		w.run(gc)
		return gnet.None
	}
	c, _ := gc.Context().(*conn)
	if c == nil || c.closed || c.gc != gc {
		return gnet.None
	}
	return c.traffic()
}

// OnClose implements gnet.EventHandler.
func (r *Reactor) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, _ := gc.Context().(*conn)
	if c == nil || c.closed || c.gc != gc {
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
