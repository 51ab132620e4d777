package reactor

import (
	"fmt"

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
	if len(endpoint) <= len(prefix) || endpoint[:len(prefix)] != prefix {
		return "", fmt.Errorf("%w: %q", ErrBadEndpoint, endpoint)
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
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.twin = b
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
	b.peer = &zmtp.Peer{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, SocketType: ca.SocketType,
		Identity: ca.Identity, Properties: map[string][]byte{}}
	for _, m := range early {
		b.in.push(m)
	}
	b.mu.Unlock()

	a.owner.PipeAttached(a)
	b.owner.PipeAttached(b)
	a.owner.Event(Event{Type: EventHandshakeSucceeded, Endpoint: d.addr})
	b.owner.Event(Event{Type: EventAccepted, Endpoint: l.addr})
	if len(early) > 0 {
		b.owner.PipeReadable(b)
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
func (p *Pipe) sendInproc(q *Pipe, m *pool.Msg) bool {
	limit := inprocLimit(p, q)
	q.mu.Lock()
	if q.closed || (limit > 0 && q.in.len() >= limit) {
		if !q.closed {
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
