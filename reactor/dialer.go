package reactor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/zloop/zloop/ws"
	"github.com/zloop/zloop/zmtp"
)

// Dialer keeps one pipe connected to an endpoint: it dials, hands the connection to a loop, and
// redials with RECONNECT_IVL (doubling up to RECONNECT_IVL_MAX) whenever the connection ends.
// Connect succeeds before the peer exists, as in libzmq.
type Dialer struct {
	r     *Reactor
	owner Owner
	opts  *Options
	ep    Endpoint
	addr  string
	pipe  *Pipe

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	cur     *conn
	success bool // the current connection completed its handshake
	// lingerTimer cancels ctx when a closed socket's LINGER runs out (nil: none running).
	lingerTimer *time.Timer
	// inprocLinger is closed when an inproc connection that lingers for its bind ends (lingerInproc).
	inprocLinger chan struct{}
}

// Connect creates a pipe for endpoint (see ParseConnectEndpoint) and starts dialing it in the
// background. The pipe accepts messages at once; they wait for the connection. Any goroutine.
func (r *Reactor) Connect(endpoint string, opts *Options, owner Owner) (*Dialer, error) {
	if strings.HasPrefix(endpoint, "inproc://") {
		return r.connectInproc(endpoint, opts, owner)
	}
	ep, err := parseConnect(endpoint, opts.IPv6)
	if err != nil {
		return nil, err
	}
	if ep.secure() {
		if err := checkTLS(opts, false, endpoint); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dialer{r: r, owner: owner, opts: opts, ep: ep, addr: endpoint, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	d.pipe = newPipe(r, owner, opts, true)
	r.mu.Lock()
	if r.terminated {
		r.mu.Unlock()
		cancel()
		return nil, ErrTerminated
	}
	r.dialers[d] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	go d.run()
	return d, nil
}

// Pipe returns the dialer's pipe; it exists from Connect until Close. Any goroutine.
func (d *Dialer) Pipe() *Pipe { return d.pipe }

// Endpoint returns the endpoint as given to Connect. Any goroutine.
func (d *Dialer) Endpoint() string { return d.addr }

func (d *Dialer) run() {
	defer d.r.wg.Done()
	defer close(d.done)
	defer d.endLinger()
	ivl := d.opts.ReconnectIvl
	first := true
	for {
		if !first {
			if d.pipe.lingerDone() {
				return // a closed socket's messages are all written
			}
			if d.opts.ReconnectIvl < 0 || !d.wait(ivl) {
				return
			}
		}
		first = false
		nc, err := d.dial()
		if err != nil {
			if d.ctx.Err() != nil {
				return
			}
			d.owner.Event(Event{Type: EventConnectDelayed, Endpoint: d.addr, Err: err})
			d.owner.Event(Event{Type: EventConnectRetried, Endpoint: d.addr, Err: err})
			ivl = d.backoff(ivl)
			continue
		}
		c := newConn(d.r, d.owner, d.opts, d.addr)
		c.dialer = d
		c.remote = nc.RemoteAddr().String()
		var ts *tlsStream
		if d.ep.secure() {
			// On this goroutine, blocking, within HANDSHAKE_IVL (tls.go).
			host, _, _ := net.SplitHostPort(d.ep.Addr)
			ts, err = tlsHandshake(d.ctx, nc, clientTLS(d.opts.TLS, host), false, d.opts.Session.HandshakeTimeout)
			if err != nil {
				_ = nc.Close()
				if d.ctx.Err() != nil {
					return
				}
				d.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: d.addr, Remote: c.remote, Err: err})
				ivl = d.backoff(ivl)
				continue
			}
		}
		if d.ep.websocket() {
			var under net.Conn = nc
			if ts != nil {
				under = ts.tc // the upgrade in plaintext over TLS
			}
			proto, leftover, err := d.upgrade(under)
			if err != nil {
				_ = nc.Close()
				if d.ctx.Err() != nil {
					return
				}
				d.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: d.addr, Remote: c.remote, Err: err})
				ivl = d.backoff(ivl)
				continue
			}
			c.ws = newWSConn(c, false, "", proto)
			if len(leftover) > 0 {
				c.carry.b = bytes.Clone(leftover) // parsed first, once c is open
			}
		}
		if ts != nil {
			c.useTLS(ts)
		}
		d.mu.Lock()
		d.cur, d.success = c, false
		d.mu.Unlock()
		d.owner.Event(Event{Type: EventConnected, Endpoint: d.addr, Remote: c.remote})
		if err := d.r.enroll(nc, c); err != nil {
			d.mu.Lock()
			d.cur = nil
			d.mu.Unlock()
			if d.ctx.Err() != nil {
				return
			}
			ivl = d.backoff(ivl)
			continue
		}
		select {
		case <-c.doneChan():
		case <-d.ctx.Done():
			return // endLinger closes c if it was delivering for a closed socket
		}
		d.mu.Lock()
		ok := d.success
		d.cur = nil
		d.mu.Unlock()
		if ok {
			ivl = d.opts.ReconnectIvl // libzmq resets the backoff after a successful handshake
		} else {
			ivl = d.backoff(ivl)
		}
	}
}

func (d *Dialer) dial() (net.Conn, error) {
	// KeepAlive -1: the system's keepalive unless tuneTCP changes it (Go would turn it on).
	nd := net.Dialer{Timeout: d.opts.ConnectTimeout, KeepAlive: -1, Control: d.opts.control()}
	nc, err := nd.DialContext(d.ctx, d.ep.Network, d.ep.Addr)
	if err != nil {
		return nil, err
	}
	if err := setBuffers(nc, d.opts); err != nil {
		_ = nc.Close()
		return nil, err
	}
	if err := tuneTCP(nc, d.opts, false); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return nc, nil
}

// wsProtocols are the subprotocols a ws:// client offers and a server accepts, as libzmq names
// them for the mechanism: the subprotocol replaces ZMTP's greeting.
func wsProtocols(s *zmtp.Config) []string {
	if s.Curve {
		return curveProtocols
	}
	if s.Plain {
		return plainProtocols
	}
	return nullProtocols
}

var (
	nullProtocols  = []string{ws.ProtoNull, ws.ProtoBare}
	plainProtocols = []string{ws.ProtoPlain}
	curveProtocols = []string{ws.ProtoCurve}
)

// upgrade performs a ws:// client's HTTP upgrade on the dialing goroutine, within the handshake
// timeout; it returns what the server sent after its 101 answer.
func (d *Dialer) upgrade(nc net.Conn) (string, []byte, error) {
	limit := d.opts.Session.HandshakeTimeout
	if limit <= 0 {
		limit = 30 * time.Second
	}
	_ = nc.SetDeadline(time.Now().Add(limit))
	u := &url.URL{Scheme: "ws", Host: d.ep.Addr, Path: d.ep.Path}
	proto, leftover, err := ws.ClientHandshake(nc, u, wsProtocols(&d.opts.Session))
	_ = nc.SetDeadline(time.Time{})
	return proto, leftover, err
}

func (d *Dialer) backoff(ivl time.Duration) time.Duration {
	if d.opts.ReconnectIvlMax > d.opts.ReconnectIvl && ivl > 0 {
		ivl *= 2
		if ivl > d.opts.ReconnectIvlMax {
			ivl = d.opts.ReconnectIvlMax
		}
	}
	return ivl
}

func (d *Dialer) wait(ivl time.Duration) bool {
	if ivl <= 0 {
		return d.ctx.Err() == nil
	}
	t := time.NewTimer(ivl)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-d.ctx.Done():
		return false
	}
}

// connected is called on the loop when the current connection completed its handshake.
func (d *Dialer) connected() {
	d.mu.Lock()
	d.success = true
	d.mu.Unlock()
}

// stop ends dialing and waits for the dialing goroutine; the current connection is left alone.
func (d *Dialer) stop() {
	d.cancel()
	<-d.done
	d.r.mu.Lock()
	delete(d.r.dialers, d)
	d.r.mu.Unlock()
}

// Close stops reconnecting and closes the pipe, as zmq_close does for a connecting socket's session.
// With linger 0 whatever is queued is dropped at once. Otherwise what is queued is still delivered,
// for at most linger (no limit when linger < 0), in the background: if a connection is up it is
// flushed and then closed; if none is (the peer does not exist yet, the dialer is between
// reconnections, or a handshake is in progress) the dialer keeps connecting and delivers once one
// is made, as libzmq does during LINGER. Reactor.Shutdown waits for that. Close returns a channel
// closed when all of it is over. Any goroutine.
func (d *Dialer) Close(linger time.Duration) <-chan struct{} {
	if d.pipe.inproc {
		d.stop()
		if linger != 0 {
			if ch := d.lingerInproc(linger); ch != nil {
				return ch
			}
		}
		d.r.forgetInprocWait(d)
		closeInproc(d.pipe)
		return closedChan
	}
	if linger != 0 && d.startLinger(linger) {
		return d.done
	}
	d.stop()
	d.mu.Lock()
	c := d.cur
	d.mu.Unlock()
	return closePipe(d.pipe, c, linger)
}

// startLinger turns d into a lingering dialer when its pipe still holds messages: the pipe is
// closed to senders but keeps attaching connections, and the dialer goes on until the pipe is
// empty (run) or the linger ends (ctx). It reports false when there is nothing to deliver.
func (d *Dialer) startLinger(linger time.Duration) bool {
	var end time.Time
	if linger > 0 {
		end = time.Now().Add(linger)
	}
	p := d.pipe
	p.mu.Lock()
	if p.closed || p.outCount == 0 {
		p.mu.Unlock()
		return false
	}
	p.closed, p.lingering = true, true
	if !end.IsZero() {
		p.lingerEnd = &end
	}
	c := p.conn
	p.mu.Unlock()
	if !d.r.lingerDialer(d) {
		d.cancel() // the reactor is stopping: run ends and endLinger drops the queue
		return true
	}
	if linger > 0 {
		d.mu.Lock()
		d.lingerTimer = time.AfterFunc(linger, d.cancel)
		d.mu.Unlock()
	}
	if c != nil {
		// Attached: flush it and close it. A connection still in its handshake lingers from its
		// Ready on (conn.Ready sees the pipe lingering).
		c.lingerAsked.Store(true)
		c.r.lingerOn(c)
		_ = c.loop.el.Execute(context.Background(), lingerTask(c, end))
	}
	return true
}

// endLinger runs when a lingering dialer's goroutine ends: its messages were delivered, or its
// linger ran out, or the reactor stopped waiting. What was not delivered is dropped, and the
// monitor is told.
func (d *Dialer) endLinger() {
	p := d.pipe
	p.mu.Lock()
	if !p.lingering {
		p.mu.Unlock()
		return
	}
	p.lingering = false
	n := p.outCount
	c := p.conn
	if c == nil {
		p.dropOutLocked()
	}
	p.in.releaseAll()
	p.mu.Unlock()
	d.mu.Lock()
	if d.lingerTimer != nil {
		d.lingerTimer.Stop()
	}
	if c == nil {
		c = d.cur
	}
	d.mu.Unlock()
	if c != nil {
		// Its connection flushes no more; the event comes with its close, which Close's channel
		// (d.done, closed after this) must not precede: the socket's monitor stops on it.
		c.scheduleExpire()
		<-c.doneChan()
	} else if n > 0 {
		d.owner.Event(Event{Type: EventClosed, Endpoint: d.addr, Err: lingerExpired(n, 0)})
	}
	d.r.unlingerDialer(d)
}

func lingerExpired(msgs, bytes int) error {
	return fmt.Errorf("%w: %d messages and %d bytes not sent", ErrLingerExpired, msgs, bytes)
}

// closePipe marks p closed and closes its connection c (if any) after lingering.
func closePipe(p *Pipe, c *conn, linger time.Duration) <-chan struct{} {
	p.mu.Lock()
	p.closed = true
	if c == nil {
		c = p.conn
	}
	if c == nil {
		p.dropOutLocked()
	}
	p.mu.Unlock()
	if c == nil {
		return closedChan
	}
	var end time.Time
	if linger >= 0 {
		end = time.Now().Add(linger)
	}
	c.lingerAsked.Store(true)
	if linger == 0 {
		c.scheduleClose()
	} else {
		c.r.lingerOn(c)
		_ = c.loop.el.Execute(context.Background(), lingerTask(c, end))
	}
	return c.doneChan()
}

// Close closes the pipe (of an accepted connection, or either end of an inproc pair): like
// Dialer.Close.
func (p *Pipe) Close(linger time.Duration) <-chan struct{} {
	if p.inproc {
		closeInproc(p)
		return closedChan
	}
	return closePipe(p, nil, linger)
}

func lingerTask(c *conn, end time.Time) gnet.RunnableFunc {
	return func(context.Context) error { c.lingerClose(end); return nil }
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
