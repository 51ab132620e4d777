package reactor

import (
	"context"
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
}

// Connect creates a pipe for endpoint (see ParseConnectEndpoint) and starts dialing it in the
// background. The pipe accepts messages at once; they wait for the connection.
func (r *Reactor) Connect(endpoint string, opts *Options, owner Owner) (*Dialer, error) {
	if strings.HasPrefix(endpoint, "inproc://") {
		return r.connectInproc(endpoint, opts, owner)
	}
	ep, err := ParseConnectEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dialer{r: r, owner: owner, opts: opts, ep: ep, addr: endpoint, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	d.pipe = newPipe(r, owner, opts, true)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	r.dialers[d] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	go d.run()
	return d, nil
}

// Pipe returns the dialer's pipe; it exists from Connect until Close.
func (d *Dialer) Pipe() *Pipe { return d.pipe }

// Endpoint returns the endpoint as given to Connect.
func (d *Dialer) Endpoint() string { return d.addr }

func (d *Dialer) run() {
	defer d.r.wg.Done()
	defer close(d.done)
	ivl := d.opts.ReconnectIvl
	first := true
	for {
		if !first {
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
		if d.ep.Transport == "ws" {
			proto, leftover, err := d.upgrade(nc)
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
			c.initial = leftover
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
		case <-c.done:
		case <-d.ctx.Done():
			return
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
	nd := net.Dialer{Timeout: d.opts.ConnectTimeout}
	nc, err := nd.DialContext(d.ctx, d.ep.Network, d.ep.Addr)
	if err != nil {
		return nil, err
	}
	if err := setBuffers(nc, d.opts); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return nc, nil
}

// wsProtocols are the subprotocols a ws:// client offers and a server accepts, as libzmq names
// them for the mechanism: the subprotocol replaces ZMTP's greeting.
func wsProtocols(s *zmtp.Config) []string {
	if s.Plain {
		return plainProtocols
	}
	return nullProtocols
}

var (
	nullProtocols  = []string{ws.ProtoNull, ws.ProtoBare}
	plainProtocols = []string{ws.ProtoPlain}
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

// Close stops reconnecting and closes the pipe. With linger > 0 (or < 0 for no limit) the current
// connection first sends what is queued, for at most linger, in the background; Reactor.Close waits
// for it. Close returns a channel closed when the connection is gone. Messages queued while no
// connection is up are dropped.
func (d *Dialer) Close(linger time.Duration) <-chan struct{} {
	d.stop()
	if d.pipe.inproc {
		d.r.forgetInprocWait(d)
		closeInproc(d.pipe)
		return closedChan
	}
	d.mu.Lock()
	c := d.cur
	d.mu.Unlock()
	return closePipe(d.pipe, c, linger)
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
	return c.done
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
