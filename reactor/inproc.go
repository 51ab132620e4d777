package reactor

import (
	"strings"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// inproc:// joins two sockets of one reactor with a pair of pipes and no connection: a message sent
// on one pipe goes straight into its peer's inbound queue, with no loop in between. As in libzmq,
// either side may come first, and the queue between them holds the sender's SNDHWM plus the
// receiver's RCVHWM.

// inprocEndpoint is a bound inproc name.
type inprocEndpoint struct {
	l     *Listener
	owner Owner
	opts  *Options
}

// inprocWaiting is a Connect to a name nobody has bound yet.
type inprocWaiting struct {
	d *Dialer
}

func inprocName(endpoint string) (string, error) {
	const prefix = "inproc://"
	if !strings.HasPrefix(endpoint, prefix) {
		return "", badEndpoint(endpoint, "is not an inproc:// endpoint")
	}
	if len(endpoint) == len(prefix) {
		return "", badEndpoint(endpoint, "lacks a name")
	}
	return endpoint[len(prefix):], nil
}

func (r *Reactor) listenInproc(endpoint string, opts *Options, owner Owner) (*Listener, error) {
	name, err := inprocName(endpoint)
	if err != nil {
		return nil, err
	}
	l := &Listener{r: r, owner: owner, opts: opts, addr: endpoint, conns: make(map[*conn]struct{}),
		stop: make(chan struct{}), done: make(chan struct{}), inprocName: name}
	close(l.done)
	r.mu.Lock()
	if r.terminated {
		r.mu.Unlock()
		return nil, ErrTerminated
	}
	if _, taken := r.inproc[name]; taken {
		r.mu.Unlock()
		owner.Event(Event{Type: EventBindFailed, Endpoint: endpoint, Err: ErrAddrInUse})
		return nil, &OpError{Op: "bind", Endpoint: endpoint, Err: ErrAddrInUse}
	}
	r.inproc[name] = &inprocEndpoint{l: l, owner: owner, opts: opts}
	waiting := r.inprocWait[name]
	delete(r.inprocWait, name)
	r.listeners[l] = struct{}{}
	r.mu.Unlock()
	owner.Event(Event{Type: EventListening, Endpoint: endpoint})
	for _, w := range waiting {
		r.joinInproc(l, w.d)
	}
	return l, nil
}

func (r *Reactor) connectInproc(endpoint string, opts *Options, owner Owner) (*Dialer, error) {
	name, err := inprocName(endpoint)
	if err != nil {
		return nil, err
	}
	d := &Dialer{r: r, owner: owner, opts: opts, addr: endpoint, done: make(chan struct{}), cancel: func() {}}
	close(d.done)
	d.pipe = newPipe(r, owner, opts, true)
	d.pipe.inproc = true
	r.mu.Lock()
	if r.terminated {
		r.mu.Unlock()
		return nil, ErrTerminated
	}
	ep := r.inproc[name]
	if ep == nil {
		r.inprocWait[name] = append(r.inprocWait[name], inprocWaiting{d: d})
	}
	r.dialers[d] = struct{}{}
	r.mu.Unlock()
	if ep != nil {
		r.joinInproc(ep.l, d)
	}
	return d, nil
}

// joinInproc pairs a connecting pipe with a new pipe on the bound side.
func (r *Reactor) joinInproc(l *Listener, d *Dialer) {
	a := d.pipe
	ca, cb := a.opts.Session, l.opts.Session
	if (ca.Compatible != nil && !ca.Compatible(cb.SocketType)) || (cb.Compatible != nil && !cb.Compatible(ca.SocketType)) {
		err := &zmtp.IncompatibleError{Ours: ca.SocketType, Peer: cb.SocketType}
		d.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: d.addr, Err: err})
		l.owner.Event(Event{Type: EventHandshakeFailedProtocol, Endpoint: l.addr, Err: err})
		return
	}
	b := newPipe(r, l.owner, l.opts, false)
	b.inproc = true
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.inprocPipes = append(l.inprocPipes, b)
	l.mu.Unlock()

	a.mu.Lock()
	lingering := a.lingering
	if a.closed && !lingering {
		a.mu.Unlock()
		return
	}
	a.twin = b
	a.subCommands = true // inproc carries messages, commands included, as they are
	a.peer = &zmtp.Peer{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, SocketType: cb.SocketType,
		Identity: cb.Identity, Properties: map[string][]byte{}}
	// What the connector queued before the bind moves across now.
	var early []*pool.Msg
	for m := a.out.pop(); m != nil; m = a.out.pop() {
		early = append(early, m)
	}
	a.outCount = 0
	a.mu.Unlock()

	b.mu.Lock()
	b.twin = a
	b.subCommands = true
	b.peer = &zmtp.Peer{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, SocketType: ca.SocketType,
		Identity: ca.Identity, Properties: map[string][]byte{}}
	for _, m := range early {
		b.in.push(m)
	}
	b.mu.Unlock()

	if !lingering {
		a.owner.PipeAttached(a)
	}
	b.owner.PipeAttached(b)
	a.owner.Event(Event{Type: EventHandshakeSucceeded, Endpoint: d.addr})
	b.owner.Event(Event{Type: EventAccepted, Endpoint: l.addr})
	if len(early) > 0 {
		b.owner.PipeReadable(b)
	}
	if lingering {
		// The connector's socket closed before the bind: its messages are delivered, then the
		// bound side sees its peer leave, as with a connection that flushed and closed.
		a.mu.Lock()
		a.lingering, a.closed = false, false
		a.mu.Unlock()
		closeInproc(a)
		d.endInprocLinger()
	}
}

// lingerInproc keeps a closed socket's inproc connection waiting for its bind while it has
// messages queued, for at most linger (< 0: no limit), as libzmq's pending inproc connections do.
// It returns the channel closed when that ends, or nil when there is nothing to wait for.
func (d *Dialer) lingerInproc(linger time.Duration) <-chan struct{} {
	p := d.pipe
	r := d.r
	r.mu.Lock()
	defer r.mu.Unlock()
	name, _ := inprocName(d.addr)
	waiting := false
	for _, w := range r.inprocWait[name] {
		waiting = waiting || w.d == d
	}
	p.mu.Lock()
	if !waiting || r.closed || p.closed || p.twin != nil || p.outCount == 0 {
		p.mu.Unlock()
		return nil
	}
	p.closed, p.lingering = true, true
	p.mu.Unlock()
	ch := make(chan struct{})
	d.inprocLinger = ch
	d.cancel = d.expireInproc
	r.lingerDialers[d] = struct{}{}
	if linger > 0 {
		d.lingerTimer = time.AfterFunc(linger, d.expireInproc)
	}
	return ch
}

// expireInproc drops what a lingering inproc connection still holds: its linger ran out, or
// Reactor.Shutdown stopped waiting. Any goroutine; the join and the expiry race under r.mu.
func (d *Dialer) expireInproc() {
	d.r.forgetInprocWait(d)
	p := d.pipe
	p.mu.Lock()
	if !p.lingering {
		p.mu.Unlock()
		return // joined meanwhile
	}
	p.lingering = false
	n := p.outCount
	p.out.releaseAll()
	p.outCount = 0
	p.mu.Unlock()
	d.owner.Event(Event{Type: EventClosed, Endpoint: d.addr, Err: lingerExpired(n, 0)})
	d.endInprocLinger()
}

func (d *Dialer) endInprocLinger() {
	d.r.mu.Lock()
	ch := d.inprocLinger
	delete(d.r.lingerDialers, d)
	d.inprocLinger = nil
	d.r.mu.Unlock()
	if d.lingerTimer != nil {
		d.lingerTimer.Stop()
	}
	if ch != nil {
		close(ch)
	}
}

// inprocLimit is how many messages the queue from p to its peer q holds (0: no limit).
func inprocLimit(p, q *Pipe) int {
	if p.opts.SndHWM <= 0 || q.opts.RcvHWM <= 0 {
		return 0
	}
	return p.opts.SndHWM + q.opts.RcvHWM
}

// sendInproc puts m straight into the peer's inbound queue.
func (p *Pipe) sendInproc(q *Pipe, m *pool.Msg, ask bool) bool {
	limit := inprocLimit(p, q)
	q.mu.Lock()
	if q.closed || (limit > 0 && q.in.len() >= limit) {
		if ask && !q.closed {
			q.twinFull = true
		}
		q.mu.Unlock()
		return false
	}
	wasEmpty := q.in.len() == 0
	q.in.push(m)
	q.mu.Unlock()
	if wasEmpty {
		q.notify(taskReadable)
	}
	return true
}

// notify tells p's owner through a loop: the caller may hold its own socket's lock, and the owner
// may take its own, so a direct call could deadlock two sockets sending to each other.
func (p *Pipe) notify(kind taskKind) {
	w := p.r.wakers[0]
	w.postTask(task{p: p, kind: kind})
}

// closeInproc ends both pipes of a pair; what the survivor already received stays readable. The
// owners hear of it through a loop: a socket may close a pipe while holding its own lock (PAIR
// refusing a second peer, STREAM closing one), and PipeDetached takes that lock.
func closeInproc(p *Pipe) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	q := p.twin
	p.out.releaseAll()
	p.outCount = 0
	p.mu.Unlock()
	p.notify(taskDetached)
	if q == nil {
		return
	}
	q.mu.Lock()
	already := q.closed
	q.closed = true
	q.mu.Unlock()
	if !already {
		q.notify(taskDetached)
	}
}
