package sockets

import (
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// The strategies below are libzmq's lb_t and fq_t: the building blocks socket types are made of.
// Their methods run with the socket's mutex held.

// loadBalancer sends each message to the next pipe, round-robin, skipping pipes whose queue is full.
type loadBalancer struct {
	pipes []*reactor.Pipe
	next  int
}

func (lb *loadBalancer) add(p *reactor.Pipe) {
	for _, q := range lb.pipes {
		if q == p {
			return
		}
	}
	lb.pipes = append(lb.pipes, p)
}

func (lb *loadBalancer) remove(p *reactor.Pipe) {
	for i, q := range lb.pipes {
		if q == p {
			lb.pipes = append(lb.pipes[:i], lb.pipes[i+1:]...)
			clear(lb.pipes[len(lb.pipes):cap(lb.pipes)])
			if lb.next > i {
				lb.next--
			}
			if lb.next >= len(lb.pipes) {
				lb.next = 0
			}
			return
		}
	}
}

// send hands m to the next pipe with room and returns it, or nil (m not taken) when every pipe is full.
func (lb *loadBalancer) send(m *pool.Msg) *reactor.Pipe {
	n := len(lb.pipes)
	for i := 0; i < n; i++ {
		if lb.next >= n {
			lb.next = 0
		}
		p := lb.pipes[lb.next]
		lb.next++
		if p.TrySend(m) {
			return p
		}
	}
	return nil
}

func (lb *loadBalancer) canSend() bool {
	for _, p := range lb.pipes {
		if p.CanSend() {
			return true
		}
	}
	return false
}

// fairQueue receives from readable pipes in turn, so that no peer starves another.
type fairQueue struct {
	pipes []*reactor.Pipe // pipes that reported readable and were not yet found empty
	next  int
}

func (fq *fairQueue) add(p *reactor.Pipe) {
	for _, q := range fq.pipes {
		if q == p {
			return
		}
	}
	fq.pipes = append(fq.pipes, p)
}

func (fq *fairQueue) remove(i int) {
	fq.pipes = append(fq.pipes[:i], fq.pipes[i+1:]...)
	clear(fq.pipes[len(fq.pipes):cap(fq.pipes)])
	if fq.next > i {
		fq.next--
	}
	if fq.next >= len(fq.pipes) {
		fq.next = 0
	}
}

// recv returns the next message and the pipe it came from, or nil when no pipe has one.
func (fq *fairQueue) recv() (*pool.Msg, *reactor.Pipe) {
	for len(fq.pipes) > 0 {
		if fq.next >= len(fq.pipes) {
			fq.next = 0
		}
		i := fq.next
		p := fq.pipes[i]
		if m := p.TryRecv(); m != nil {
			fq.next = i + 1
			return m, p
		}
		// Empty: drop it; PipeReadable adds it back when a message arrives (the pipe reports the
		// empty-to-non-empty transition under its own lock, so none is missed).
		fq.remove(i)
	}
	return nil, nil
}

func (fq *fairQueue) hasIn() bool {
	for _, p := range fq.pipes {
		if p.InLen() > 0 {
			return true
		}
	}
	return false
}
