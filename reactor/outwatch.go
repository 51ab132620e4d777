//go:build linux || darwin || freebsd

package reactor

import (
	"sync"
	"sync/atomic"
)

// The output watcher tells a loop when a connection whose large body waits for room in the kernel
// (conn.part, conn_write.go) can write again. gnet says nothing when a socket becomes writable with
// its own buffer empty, and the loop's poll is too coarse (timers wake an idle Go scheduler about
// once a millisecond, while a unix socket's buffer drains in a tenth of that). So the reactor keeps
// a poller of its own (outPoller: an epoll set on Linux, outwatch_linux.go; a kqueue on macOS and
// FreeBSD, outwatch_kqueue.go) where each waiting socket asks for one writability event; one
// goroutine serves them, started with the first body to wait. This file is what the two share:
// which connection a descriptor is, arming and forgetting, serving a writable socket, and the
// fall-back to the loop's poll when the poller fails.

const refWrites = true // a large body the kernel refuses goes on by reference (conn.part)

type outWatcher struct {
	p    outPoller
	done chan struct{} // closed when the serving goroutine has ended

	mu      sync.Mutex
	conns   map[int32]*conn // by descriptor: registered and not yet forgotten
	closing bool            // close was called: the serving goroutine's end is expected
	broken  atomic.Bool     // it ended without close: arm refuses, and the loops poll instead
}

// outWatch returns the reactor's output watcher, starting it at the first call; nil when it
// cannot (the reactor is stopping, or the system refused), and then the loop's poll wakes the
// connection instead. On a loop.
func (r *Reactor) outWatch() *outWatcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owatch != nil || r.closed || r.owatchFailed {
		return r.owatch
	}
	w := &outWatcher{done: make(chan struct{}), conns: make(map[int32]*conn)}
	if err := w.p.open(w); err != nil {
		r.owatchFailed = true
		return nil
	}
	r.owatch = w
	return w
}

// serve writes to the sockets whose descriptors the poller found writable (on the serving
// goroutine).
func (w *outWatcher) serve(fds []int32) {
	var ready [64]*conn
	for len(fds) > 0 {
		n := min(len(fds), len(ready))
		k := 0
		w.mu.Lock()
		for _, fd := range fds[:n] {
			if c := w.conns[fd]; c != nil {
				ready[k] = c
				k++
			}
		}
		w.mu.Unlock()
		for i, c := range ready[:k] {
			w.output(c)
			ready[i] = nil
		}
		fds = fds[n:]
	}
}

// output runs when c's socket has room. It writes the held body itself, as gnet flushes its own
// buffer when its socket is writable, and waits for the next event while some is left; the loop is
// woken only when the body is out (or the write failed, or the loop holds the write lock, or the
// body is the loop's to write: loopHeld): it goes on with the message. A connection ending
// meanwhile has withdrawn held under the write lock before its descriptor closes, so nothing here
// touches a descriptor that may have been reused.
func (w *outWatcher) output(c *conn) {
	d := &c.dw
	if d.mu.TryLock() {
		if len(d.held) > 0 && !d.loopHeld && c.writeHeld(false) == nil && len(d.held) > 0 && w.p.rearm(d.heldFD) == nil {
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
	c.loop.w.post(c, taskOutput) // harmless if c ends meanwhile: writable checks
}

// arm asks for one taskOutput when c's socket is writable (on c's loop). It reports false when the
// socket cannot be watched, and the caller polls instead.
func (w *outWatcher) arm(c *conn) bool {
	fd := c.gc.Fd()
	if c.watched {
		if int(c.watchedFD) == fd && !w.broken.Load() && w.p.rearm(fd) == nil {
			return true
		}
		w.forget(c)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken.Load() {
		return false
	}
	if err := w.p.add(fd); err != nil {
		return false
	}
	w.conns[int32(fd)] = c
	c.watched, c.watchedFD = true, int32(fd) // a descriptor is a C int
	return true
}

// forget removes c's socket from the poller (on c's loop), before gnet closes the descriptor:
// another connection may get its number.
func (w *outWatcher) forget(c *conn) {
	if !c.watched {
		return
	}
	w.mu.Lock()
	w.p.remove(int(c.watchedFD))
	if w.conns[c.watchedFD] == c {
		delete(w.conns, c.watchedFD)
	}
	w.mu.Unlock()
	c.watched = false
}

// fail runs when the serving goroutine ends: after close, nothing; otherwise (a poller error
// nobody expects) every waiting connection is woken once, finds arm refusing, and falls back to the
// loop's poll.
func (w *outWatcher) fail() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.broken.Store(true)
	waiting := make([]*conn, 0, len(w.conns))
	for _, c := range w.conns {
		waiting = append(waiting, c)
	}
	w.mu.Unlock()
	for _, c := range waiting {
		c.loop.w.post(c, taskOutput)
	}
}

// close stops the watcher once no connection is left to use it (Reactor.stop).
func (w *outWatcher) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.p.close(w.done)
}
