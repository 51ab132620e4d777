package reactor

import "github.com/zloop/zloop/pool"

// ring is a FIFO of messages that grows by doubling and never shrinks, so a queue that reached its
// working size stops allocating. Not safe for concurrent use: the owner's mutex guards it.
type ring struct {
	buf  []*pool.Msg
	head int
	n    int
}

func (r *ring) len() int { return r.n }

// at returns the i-th message from the head, left in the ring; i < len().
func (r *ring) at(i int) *pool.Msg { return r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring) push(m *pool.Msg) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = m
	r.n++
}

func (r *ring) pop() *pool.Msg {
	if r.n == 0 {
		return nil
	}
	m := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return m
}

// popInto moves up to cap(dst)-len(dst) messages to dst.
func (r *ring) popInto(dst []*pool.Msg) []*pool.Msg {
	for r.n > 0 && len(dst) < cap(dst) {
		dst = append(dst, r.pop())
	}
	return dst
}

func (r *ring) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 16
	}
	nb := make([]*pool.Msg, size)
	for i := 0; i < r.n; i++ {
		nb[i] = r.at(i)
	}
	r.buf, r.head = nb, 0
}

// releaseAll empties the ring and releases every message.
func (r *ring) releaseAll() {
	for m := r.pop(); m != nil; m = r.pop() {
		m.Release()
	}
}
