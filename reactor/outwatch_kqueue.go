//go:build darwin || freebsd

package reactor

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
)

// The output watcher on macOS and FreeBSD: the counterpart of outwatch_linux.go, with a kqueue of
// its own where each socket whose large body waits for room has a one-shot write filter
// (EVFILT_WRITE, EV_ONESHOT). Unlike the Linux watcher's epoll set it is not handed to Go's network
// poller (which registers a read and a write filter for every descriptor it takes, and a kqueue
// descriptor has no write filter); one goroutine blocks in kevent instead, started with the first
// body to wait, and a user event (EVFILT_USER) ends that wait at close.
//
// Compile-tested only (GOOS=darwin and GOOS=freebsd go vet): the tests that run it are Linux's.

const refWrites = true // a large body the kernel refuses goes on by reference (conn.part)

// wakeIdent is the user event's identifier: user events have identifiers of their own, apart
// from descriptors.
const wakeIdent = 0

type outWatcher struct {
	kq   int
	done chan struct{}

	mu      sync.Mutex
	conns   map[int32]*conn // by descriptor: registered and not yet forgotten
	closing bool            // close was called: run's end is expected
	broken  atomic.Bool     // run ended without close: arm refuses, and the loops poll instead
}

// outWatch returns the reactor's output watcher, starting it at the first call; nil when it
// cannot, and then the loop's poll wakes the connection instead. On a loop.
func (r *Reactor) outWatch() *outWatcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owatch != nil || r.closed || r.owatchFailed {
		return r.owatch
	}
	w, err := newOutWatcher()
	if err != nil {
		r.owatchFailed = true
		return nil
	}
	r.owatch = w
	return w
}

func newOutWatcher() (*outWatcher, error) {
	kq, err := syscall.Kqueue()
	if err != nil {
		return nil, fmt.Errorf("zmq: reactor: kqueue: %w", err)
	}
	syscall.CloseOnExec(kq)
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, wakeIdent, syscall.EVFILT_USER, syscall.EV_ADD|syscall.EV_CLEAR)
	if _, err := syscall.Kevent(kq, []syscall.Kevent_t{ev}, nil, nil); err != nil {
		_ = syscall.Close(kq)
		return nil, fmt.Errorf("zmq: reactor: kevent: %w", err)
	}
	w := &outWatcher{kq: kq, done: make(chan struct{}), conns: make(map[int32]*conn)}
	go w.run()
	return w, nil
}

// run waits in kevent for writable sockets and serves them, until close triggers the user event.
func (w *outWatcher) run() {
	defer close(w.done)
	var events [64]syscall.Kevent_t
	var ready [64]*conn
	for {
		n, err := syscall.Kevent(w.kq, nil, events[:], nil)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			w.fail()
			return
		}
		k := 0
		w.mu.Lock()
		for _, ev := range events[:n] {
			if ev.Filter == syscall.EVFILT_USER {
				w.mu.Unlock()
				return // close
			}
			if c := w.conns[int32(ev.Ident)]; c != nil {
				ready[k] = c
				k++
			}
		}
		w.mu.Unlock()
		for i, c := range ready[:k] {
			w.output(c)
			ready[i] = nil
		}
	}
}

// fail wakes every waiting connection once after kevent failed without close: each finds arm
// refusing and falls back to the loop's poll.
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

// output runs when c's socket has room: as on Linux, the watcher writes the held body itself and
// waits for the next write event while some is left; the loop is woken once the body is out.
func (w *outWatcher) output(c *conn) {
	d := &c.dw
	if d.mu.TryLock() {
		if len(d.held) > 0 && c.writeHeld(false) == nil && len(d.held) > 0 && w.add(d.heldFD) == nil {
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
	c.loop.w.post(c, taskOutput) // harmless if c ends meanwhile: writable checks
}

// add registers one write event for fd (a one-shot filter is gone once it fired; adding it again
// re-arms it, and adding it while it waits changes nothing).
func (w *outWatcher) add(fd int) error {
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, fd, syscall.EVFILT_WRITE, syscall.EV_ADD|syscall.EV_ONESHOT)
	_, err := syscall.Kevent(w.kq, []syscall.Kevent_t{ev}, nil, nil)
	return err
}

// arm asks for one taskOutput when c's socket is writable (on c's loop). It reports false when the
// socket cannot be watched, and the caller polls instead.
func (w *outWatcher) arm(c *conn) bool {
	fd := c.gc.Fd()
	if c.watched && c.watchedFD != fd {
		w.forget(c)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken.Load() {
		return false
	}
	if err := w.add(fd); err != nil {
		return false
	}
	w.conns[int32(fd)] = c
	c.watched, c.watchedFD = true, fd
	return true
}

// forget removes c's filter from the kqueue (on c's loop), before gnet closes the descriptor:
// another connection may get its number.
func (w *outWatcher) forget(c *conn) {
	if !c.watched {
		return
	}
	w.mu.Lock()
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, c.watchedFD, syscall.EVFILT_WRITE, syscall.EV_DELETE)
	_, _ = syscall.Kevent(w.kq, []syscall.Kevent_t{ev}, nil, nil) // ENOENT once the one shot fired
	if w.conns[int32(c.watchedFD)] == c {
		delete(w.conns, int32(c.watchedFD))
	}
	w.mu.Unlock()
	c.watched = false
}

// close stops the watcher once no connection is left to use it (Reactor.stop).
func (w *outWatcher) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, wakeIdent, syscall.EVFILT_USER, 0)
	ev.Fflags = syscall.NOTE_TRIGGER
	if _, err := syscall.Kevent(w.kq, []syscall.Kevent_t{ev}, nil, nil); err != nil {
		// run stays blocked in kevent on a descriptor left open (closing one under a waiting
		// kevent is not defined to wake it): a goroutine lost, never a write to a reused
		// descriptor, since every connection forgot its socket before this.
		return
	}
	<-w.done
	_ = syscall.Close(w.kq)
}

// writevFD writes a and then b to fd: two writes (the first a frame header or a small batch), so
// that no iovec array is allocated per call where the system call package has no writev.
func writevFD(fd int, a, b []byte) (int, error) {
	n := 0
	if len(a) > 0 {
		k, err := syscall.Write(fd, a)
		if k > 0 {
			n = k
		}
		if err != nil || k < len(a) {
			return n, err
		}
	}
	if len(b) > 0 {
		k, err := syscall.Write(fd, b)
		if k > 0 {
			n += k
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
