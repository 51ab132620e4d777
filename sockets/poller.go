package sockets

import (
	"context"
	"fmt"
	"sync"
)

// Events is a set of socket readiness conditions; the values are libzmq's ZMQ_POLLIN and
// ZMQ_POLLOUT.
type Events uint8

// The events a Poller waits for.
const (
	PollIn  Events = 1 // a Recv would return a message (or an error) without waiting
	PollOut Events = 2 // a Send would take a message without waiting
)

func (e Events) String() string {
	switch e {
	case 0:
		return "none"
	case PollIn:
		return "in"
	case PollOut:
		return "out"
	case PollIn | PollOut:
		return "in|out"
	}
	return fmt.Sprintf("Events(%#x)", uint8(e))
}

// Polled is one ready socket of a Poller.Wait result.
type Polled struct {
	Socket *Socket
	Events Events // the subset of the registered events that are ready
}

type pollItem struct {
	s      *Socket
	events Events
}

// Poller waits until any of several sockets is ready to receive or to send (zmq_poller). It
// sleeps until a socket reports a change (a peer's message, room in a queue, a new peer): there
// is no busy loop and no polling interval.
//
// Readability is exact: to know that a SUB or REQ socket has a message it will deliver (and not
// filter out), the poller takes that message from the socket's pattern and keeps it for the next
// Recv, as libzmq does. A REQ or REP socket with such a message waiting refuses Send with
// ErrState until Recv took it (REQ with ReqRelaxed drops it instead).
//
// Add, Modify, Remove and Close may be called from any goroutine, also while Wait runs. Concurrent
// Wait calls are served one at a time.
type Poller struct {
	mu     sync.Mutex
	items  []pollItem
	closed bool
	wake   chan struct{} // registered with every socket of items
	sem    chan struct{} // one Wait at a time
}

// NewPoller returns an empty Poller.
func NewPoller() *Poller {
	return &Poller{wake: make(chan struct{}, 1), sem: make(chan struct{}, 1)}
}

func (p *Poller) find(s *Socket) int {
	for i, it := range p.items {
		if it.s == s {
			return i
		}
	}
	return -1
}

// Add starts watching s for events. Adding a socket twice fails with ErrInvalid (use Modify).
func (p *Poller) Add(s *Socket, events Events) error {
	if s == nil || events&^(PollIn|PollOut) != 0 {
		return fmt.Errorf("%w: poller needs a socket and PollIn and/or PollOut", ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.find(s) >= 0 {
		return fmt.Errorf("%w: socket already in the poller", ErrInvalid)
	}
	p.items = append(p.items, pollItem{s, events})
	s.watch(p.wake)
	signal(p.wake)
	return nil
}

// Modify changes the events watched on s, which must have been added.
func (p *Poller) Modify(s *Socket, events Events) error {
	if events&^(PollIn|PollOut) != 0 {
		return fmt.Errorf("%w: unknown poll events %#x", ErrInvalid, uint8(events))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.find(s)
	if i < 0 {
		return fmt.Errorf("%w: socket not in the poller", ErrInvalid)
	}
	p.items[i].events = events
	signal(p.wake)
	return nil
}

// Remove stops watching s.
func (p *Poller) Remove(s *Socket) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.find(s)
	if i < 0 {
		return fmt.Errorf("%w: socket not in the poller", ErrInvalid)
	}
	p.items = append(p.items[:i], p.items[i+1:]...)
	s.unwatch(p.wake)
	return nil
}

// Close removes every socket; a Wait in progress and later ones return ErrClosed.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, it := range p.items {
		it.s.unwatch(p.wake)
	}
	p.items = nil
	if !p.closed {
		p.closed = true
		signal(p.wake)
	}
	return nil
}

// Wait blocks until at least one watched socket is ready for one of its events, and returns
// every ready socket (in the order they were added), or ctx.Err() when ctx ends first. A closed
// socket counts as ready for its events: Send and Recv on it fail at once with ErrClosed. With
// no socket added, Wait waits for an Add or for ctx. The result is the caller's.
func (p *Poller) Wait(ctx context.Context) ([]Polled, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.sem }()
	var items []pollItem
	for {
		// Drop a stale token before looking: anything later than the look leaves a new one.
		select {
		case <-p.wake:
		default:
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		items = append(items[:0], p.items...)
		p.mu.Unlock()
		var out []Polled
		for _, it := range items {
			it.s.mu.Lock()
			r := it.s.readyLocked(it.events)
			term := it.s.closed && it.s.closeErr == ErrTerminated
			it.s.mu.Unlock()
			if term {
				return nil, ErrTerminated // zmq_poll's ETERM
			}
			if r != 0 {
				out = append(out, Polled{Socket: it.s, Events: r})
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
