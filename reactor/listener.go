package reactor

import (
	"context"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Listener accepts connections on one bound endpoint and gives each its own pipe after the handshake.
type Listener struct {
	r     *Reactor
	owner Owner
	opts  *Options
	ep    Endpoint
	addr  string // the resolved endpoint, e.g. tcp://127.0.0.1:41234
	ln    net.Listener

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	// inproc endpoints have no net.Listener: their pipes are made by joinInproc.
	inprocName  string
	inprocPipes []*Pipe
	// hs are the TLS handshakes in progress (handshakeTLS), closed by Close, which waits for hsWG.
	hs   map[net.Conn]struct{}
	hsWG sync.WaitGroup
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the accept goroutine ends
}

// Listen binds endpoint (see ParseBindEndpoint) and accepts connections until Close. Each accepted
// connection performs the handshake on a loop and is then offered to owner as a new pipe.
func (r *Reactor) Listen(endpoint string, opts *Options, owner Owner) (*Listener, error) {
	if strings.HasPrefix(endpoint, "inproc://") {
		return r.listenInproc(endpoint, opts, owner)
	}
	ep, err := parseBind(endpoint, opts.IPv6)
	if err != nil {
		return nil, err
	}
	if ep.secure() {
		if err := checkTLS(opts, true, endpoint); err != nil {
			return nil, err
		}
	}
	if ep.Network == "unix" && ep.Addr[0] != '@' {
		// libzmq replaces a stale socket file left by a dead process.
		if fi, err := os.Lstat(ep.Addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(ep.Addr)
		}
	}
	// KeepAlive -1: accepted connections keep the system's keepalive unless tuneTCP changes it
	// (Go would turn it on with its own timing).
	lc := net.ListenConfig{KeepAlive: -1, Control: opts.control()}
	ln, err := lc.Listen(context.Background(), ep.Network, ep.Addr)
	if err == nil {
		if err = listenBacklog(ln, opts.Backlog); err != nil {
			_ = ln.Close()
		}
	}
	if err != nil {
		if isAddrInUse(err) {
			err = ErrAddrInUse
		}
		owner.Event(Event{Type: EventBindFailed, Endpoint: endpoint, Err: err})
		return nil, &OpError{Op: "bind", Endpoint: endpoint, Err: err}
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(true)
	}
	// An accepted connection holds back its major version until the dialler's has arrived: see
	// zmtp.Session.Start for why the sides differ.
	acc := *opts
	acc.Session.Accepted = true
	l := &Listener{r: r, owner: owner, opts: &acc, ep: ep, ln: ln, conns: make(map[*conn]struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	switch {
	case ep.Network == "unix":
		l.addr = "ipc://" + ep.Addr
	case ep.websocket():
		l.addr = ep.Transport + "://" + ln.Addr().String() + ep.Path
	case ep.Transport == "tls":
		l.addr = "tls://" + ln.Addr().String()
	default:
		l.addr = "tcp://" + ln.Addr().String()
	}
	r.mu.Lock()
	if r.terminated {
		r.mu.Unlock()
		_ = ln.Close()
		return nil, ErrTerminated
	}
	r.listeners[l] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	owner.Event(Event{Type: EventListening, Endpoint: l.addr})
	go l.accept()
	return l, nil
}

// Endpoint returns the bound endpoint with the port resolved (libzmq's ZMQ_LAST_ENDPOINT). Any
// goroutine.
func (l *Listener) Endpoint() string { return l.addr }

func (l *Listener) accept() {
	defer l.r.wg.Done()
	defer close(l.done)
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() {
				return
			}
			l.owner.Event(Event{Type: EventAcceptFailed, Endpoint: l.addr, Err: err})
			// EMFILE and friends: back off and keep serving the connections already up, instead of
			// spinning as libzmq's I/O thread does. The peers meanwhile wait in the backlog and are
			// accepted once descriptors free.
			if backoff = nextBackoff(backoff); !l.pause(backoff) {
				return
			}
			continue
		}
		if err := l.setup(nc); err != nil {
			// As libzmq, whose accept fails when tuning the new socket does: the peer is closed
			// and reported, not dropped in silence.
			l.owner.Event(Event{Type: EventAcceptFailed, Endpoint: l.addr, Remote: nc.RemoteAddr().String(), Err: err})
			_ = nc.Close()
			continue
		}
		c := newConn(l.r, l.owner, l.opts, l.addr)
		c.ln = l
		if l.ep.websocket() {
			c.ws = newWSConn(c, true, l.ep.Path, wsProtocols(&l.opts.Session)[0])
		}
		c.remote = nc.RemoteAddr().String()
		if l.ep.secure() {
			l.owner.Event(Event{Type: EventAccepted, Endpoint: l.addr, Remote: c.remote})
			if !l.r.tlsSlots.take() {
				_ = nc.Close()
				l.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: l.addr, Remote: c.remote, Err: &TLSError{Handshake: true, Err: ErrTLSBusy}})
				continue
			}
			if !l.handshaking(nc, true) {
				l.r.tlsSlots.give()
				_ = nc.Close()
				return
			}
			go l.handshakeTLS(nc, c)
			continue
		}
		if !l.track(c) {
			_ = nc.Close()
			return
		}
		l.owner.Event(Event{Type: EventAccepted, Endpoint: l.addr, Remote: c.remote})
		if err := l.r.enroll(nc, c); err != nil {
			// The listener backs off as for a failed accept instead of accepting and dropping the
			// rest of the backlog one by one.
			if !l.enrollFailed(c, err) {
				return
			}
			if backoff = nextBackoff(backoff); !l.pause(backoff) {
				return
			}
			continue
		}
		backoff = 0
	}
}

// maxAcceptBackoff bounds how long a listener that ran out of descriptors waits before it tries
// again, and so how late it notices that descriptors are free.
const maxAcceptBackoff = time.Second

// nextBackoff doubles a listener's wait after a failed accept, from 5 ms up to maxAcceptBackoff.
func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, maxAcceptBackoff)
}

// pause waits d, or until the listener is closed (then false). Accept goroutine only.
func (l *Listener) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.stop:
		return false
	}
}

// handshakeTLS runs an accepted connection's TLS handshake on a goroutine of its own (tls.go says
// why and how it is bounded), then hands it to a loop.
func (l *Listener) handshakeTLS(nc net.Conn, c *conn) {
	defer l.hsWG.Done()
	defer l.r.tlsSlots.give()
	ts, err := tlsHandshake(context.Background(), nc, l.opts.TLS, true, l.opts.Session.HandshakeTimeout)
	l.handshaking(nc, false)
	if err != nil {
		_ = nc.Close()
		if !l.isClosed() {
			l.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: l.addr, Remote: c.remote, Err: err})
		}
		return
	}
	c.useTLS(ts)
	if !l.track(c) {
		_ = nc.Close()
		return
	}
	if err := l.r.enroll(nc, c); err != nil {
		l.enrollFailed(c, err)
	}
}

// enrollFailed reports a connection that was accepted (and announced as ACCEPTED) but could not
// be handed to a loop; enroll has closed it. The loop duplicates the descriptor, so at the
// descriptor limit accept succeeds and enroll fails: the peer gets its closing event, with its
// address and the cause. It reports false when the listener is closed (then nothing is said).
func (l *Listener) enrollFailed(c *conn, err error) bool {
	l.forget(c)
	if l.isClosed() {
		return false
	}
	l.owner.Event(Event{Type: EventAcceptFailed, Endpoint: l.addr, Remote: c.remote, Err: err})
	return true
}

// handshaking adds nc to the handshakes in progress (on) or removes it; adding fails once the
// listener is closed.
func (l *Listener) handshaking(nc net.Conn, on bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !on {
		delete(l.hs, nc)
		return true
	}
	if l.closed {
		return false
	}
	if l.hs == nil {
		l.hs = make(map[net.Conn]struct{})
	}
	l.hs[nc] = struct{}{}
	l.hsWG.Add(1)
	return true
}

func (l *Listener) setup(nc net.Conn) error {
	if err := setBuffers(nc, l.opts); err != nil {
		return err
	}
	return tuneTCP(nc, l.opts, true)
}

// ipcSndBuf is an ipc:// connection's SO_SNDBUF unless SNDBUF says otherwise. A unix socket has no
// autotuning (TCP's send buffer grows to net.ipv4.tcp_wmem's 4 MiB on its own), and its fixed
// default of 208 KiB makes a 1 MiB message cross in five rounds of the sender sleeping until the
// reader drained three quarters of it and waking to refill it; each round costs both sides a wake-up
// and their loops' turns. At 1 MiB the rounds are a fifth as many: measured on loopback with 1 and
// 16 MiB messages, a quarter more messages a second and a quarter less of the sender's CPU time per
// message. The kernel charges only what is queued, and caps the size at net.core.wmem_max
// (where that is the usual 208 KiB, this changes nothing).
const ipcSndBuf = 1 << 20

func setBuffers(nc net.Conn, o *Options) error {
	type buffered interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}
	b, ok := nc.(buffered)
	if !ok {
		return nil
	}
	snd := o.SndBuf
	if _, unix := nc.(*net.UnixConn); unix && snd <= 0 {
		snd = ipcSndBuf
	}
	if snd > 0 {
		if err := b.SetWriteBuffer(snd); err != nil {
			return err
		}
	}
	if o.RcvBuf > 0 {
		return b.SetReadBuffer(o.RcvBuf)
	}
	return nil
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *Listener) track(c *conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Listener) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Close stops accepting and closes the connections accepted through this endpoint, as libzmq's
// unbind does, except those whose pipe is lingering (being closed by its socket). It waits for the
// accept goroutine, not for the connections to finish closing.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	for nc := range l.hs {
		_ = nc.Close() // its handshake fails at once
	}
	cs := slices.Collect(maps.Keys(l.conns))
	pipes := l.inprocPipes
	l.inprocPipes = nil
	l.mu.Unlock()
	var err error
	if l.ln != nil {
		err = l.ln.Close()
	} else {
		l.r.mu.Lock()
		delete(l.r.inproc, l.inprocName)
		l.r.mu.Unlock()
		for _, p := range pipes {
			closeInproc(p)
		}
	}
	<-l.done
	l.hsWG.Wait() // a handshake ending now finds the listener closed and closes its socket (track)
	for _, c := range cs {
		if c.loop != nil {
			c.scheduleUnbind()
		}
	}
	l.r.mu.Lock()
	delete(l.r.listeners, l)
	l.r.mu.Unlock()
	l.owner.Event(Event{Type: EventClosed, Endpoint: l.addr})
	return err
}
