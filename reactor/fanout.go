package reactor

import "github.com/zloop/zloop/pool"

// Fan-out: one message to many pipes (a PUB's subscribers) costs one message, one push per pipe and
// one wake-up per loop. Every network pipe's queue gets the same *pool.Msg, held once per pipe
// (pool.Msg.Hold), so that the loops encode one message's bytes, already in their caches, instead
// of a Msg per peer; the connections that need their loop's attention are woken together, under one
// lock of each loop's waker. The pipes keep their queues, so a peer's messages stay in order
// whatever path each took, and each pipe's SNDHWM is counted as for TrySend.

// FanOut sends messages to many pipes. The zero value is ready to use; it keeps its scratch space
// between calls, so one goroutine at a time uses it (a socket's, under the socket's lock).
type FanOut struct {
	wake []*conn // connections whose drain is to be posted, grouped by loop at the end
	net  []*Pipe // the network pipes of a Send not known to be full
}

// Send queues m for every pipe of to with room and drops it for the others (at SNDHWM, closed, or
// IMMEDIATE between connections), as libzmq's dist_t; it takes m in every case and returns how many
// pipes took it. To many pipes it never writes to a socket itself: the loops write, batched; to one
// it is TrySend (which writes to an idle connection at once). Inproc pipes get a share of m of
// their own (their reader owns and may change what it receives). m must not be shared already
// (pool.Msg.Share): its holders read it concurrently. A refusal asks for no PipeWritable.
//
// A pipe a fan-out found at SNDHWM is skipped, without its lock, until its loop has written some of
// its queue (Pipe.fanFull): with a publisher sending flat out most subscribers are full most of the
// time, and each of them cost a lock taken against its loop, a refusal and a release per message.
func (f *FanOut) Send(m *pool.Msg, to []*Pipe) int {
	if len(to) == 1 {
		if to[0].trySend(m, sendDirect, false) {
			return 1
		}
		m.Release()
		return 0
	}
	sent := 0
	for _, p := range to {
		if !p.inproc {
			if !p.fanFull.Load() {
				f.net = append(f.net, p)
			}
			continue
		}
		// Before m is handed to any loop: Share writes to m.
		if s := m.Share(); p.trySend(s, sendLoop, false) {
			sent++
		} else {
			s.Release()
		}
	}
	if len(f.net) == 0 {
		m.Release()
		return sent
	}
	m.Hold(len(f.net) - 1) // one holder per network pipe; each that refuses releases its own
	for _, p := range f.net {
		if c, ok := p.pushShared(m); ok {
			sent++
			if c != nil {
				f.wake = append(f.wake, c)
			}
		} else {
			m.Release()
		}
	}
	clear(f.net)
	f.net = f.net[:0]
	f.post()
	return sent
}

// pushShared queues m, held by the caller for this pipe, unless the pipe refuses it (then the
// caller releases its hold). It returns the connection to wake, if the pipe's loop is not already
// scheduled to drain it.
func (p *Pipe) pushShared(m *pool.Msg) (*conn, bool) {
	p.mu.Lock()
	// Unlike TrySend's refusal this one asks for no PipeWritable: a fan-out drops and nobody waits
	// for room (XPUB_NODROP asks CanSend first, which does ask). The owner's handler takes the
	// socket's lock, which a publisher sending flat out holds nearly all the time: a loop that
	// called it after every hand it wrote waited for that lock, not the kernel. The next fan-outs
	// skip p instead (fanFull), until roomLocked.
	if p.refuseLocked(false) {
		p.mu.Unlock()
		return nil, false
	}
	p.out.push(m)
	p.outCount++
	c := p.conn
	if c == nil || p.scheduled {
		p.mu.Unlock()
		return nil, true
	}
	p.scheduled = true
	p.mu.Unlock()
	return c, true
}

// post posts the collected drains, one lock and at most one wake-up per loop.
func (f *FanOut) post() {
	for len(f.wake) > 0 {
		f.wake = f.wake[0].loop.w.postDrains(f.wake)
	}
}
