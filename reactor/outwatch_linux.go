package reactor

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The output watcher tells a loop when a connection whose large body waits for room in the kernel
// (conn.part, conn_write.go) can write again. gnet says nothing when a socket becomes writable with
// its own buffer empty, and the loop's poll is too coarse (timers wake an idle Go scheduler about
// once a millisecond, while a unix socket's buffer drains in a tenth of that). So the reactor keeps
// an epoll set of its own, where each waiting socket is registered for EPOLLOUT once
// (EPOLLONESHOT); that set is a descriptor in Go's own network poller, so no thread sits in
// epoll_wait for it: one goroutine wakes when a socket in it is writable and posts a taskOutput
// to the connection's loop through its waker. It is started with the first body to wait.

const refWrites = true // a large body the kernel refuses goes on by reference (conn.part)

type outWatcher struct {
	ep   int
	f    *os.File // ep in Go's poller
	done chan struct{}

	mu      sync.Mutex
	conns   map[int32]*conn // by descriptor: registered and not yet forgotten
	closing bool            // close was called: run's end is expected
	broken  atomic.Bool     // run ended without close: arm refuses, and the loops poll instead
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
	w, err := newOutWatcher()
	if err != nil {
		r.owatchFailed = true
		return nil
	}
	r.owatch = w
	return w
}

func newOutWatcher() (*outWatcher, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("zmq: reactor: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(ep, true); err != nil {
		_ = syscall.Close(ep)
		return nil, fmt.Errorf("zmq: reactor: epoll set: %w", err)
	}
	w := &outWatcher{ep: ep, f: os.NewFile(uintptr(ep), "zloop-output"), done: make(chan struct{}), conns: make(map[int32]*conn)}
	rc, err := w.f.SyscallConn()
	if err != nil {
		_ = w.f.Close()
		return nil, fmt.Errorf("zmq: reactor: epoll set: %w", err)
	}
	go w.run(rc)
	return w, nil
}

// run waits in Go's poller for the set to have events and posts them, until close.
func (w *outWatcher) run(rc syscall.RawConn) {
	defer close(w.done)
	defer func() {
		// Ended without close (an epoll or poller error nobody expects): every waiting connection
		// is woken once, finds arm refusing, and falls back to the loop's poll.
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
	}()
	var events [64]syscall.EpollEvent
	var ready [64]*conn
	// Read returns only when the file is closed: the function says "not yet" whenever the set is
	// empty, and Go's poller calls it again once it is readable.
	_ = rc.Read(func(uintptr) bool {
		for {
			n, err := syscall.EpollWait(w.ep, events[:], 0)
			if err != nil && !errors.Is(err, syscall.EINTR) {
				return true // the set is gone: stop
			}
			if n <= 0 {
				return false
			}
			w.mu.Lock()
			k := 0
			for _, ev := range events[:n] {
				if c := w.conns[ev.Fd]; c != nil {
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
	})
}

// output runs when c's socket has room. It writes the held body itself, as gnet flushes its own
// buffer at EPOLLOUT, and waits for the next EPOLLOUT while some is left; the loop is woken only
// when the body is out (or the write failed, or the loop holds the write lock): it goes on with
// the message. A connection ending meanwhile has withdrawn held under the write lock before its
// descriptor closes, so nothing here touches a descriptor that may have been reused.
func (w *outWatcher) output(c *conn) {
	d := &c.dw
	if d.mu.TryLock() {
		if len(d.held) > 0 && c.writeHeld(false) == nil && len(d.held) > 0 {
			ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(d.heldFD)}
			if syscall.EpollCtl(w.ep, syscall.EPOLL_CTL_MOD, d.heldFD, &ev) == nil {
				d.mu.Unlock()
				return
			}
		}
		d.mu.Unlock()
	}
	c.loop.w.post(c, taskOutput) // harmless if c ends meanwhile: writable checks
}

// arm asks for one taskOutput when c's socket is writable (on c's loop). It reports false when the
// socket cannot be watched, and the caller polls instead.
func (w *outWatcher) arm(c *conn) bool {
	fd := c.gc.Fd()
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(fd)}
	if c.watched {
		if !w.broken.Load() && syscall.EpollCtl(w.ep, syscall.EPOLL_CTL_MOD, fd, &ev) == nil {
			return true
		}
		w.forget(c)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken.Load() {
		return false
	}
	if err := syscall.EpollCtl(w.ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return false
	}
	w.conns[int32(fd)] = c
	c.watched, c.watchedFD = true, fd
	return true
}

// forget removes c's socket from the set (on c's loop), before gnet closes the descriptor: another
// connection may get its number.
func (w *outWatcher) forget(c *conn) {
	if !c.watched {
		return
	}
	w.mu.Lock()
	_ = syscall.EpollCtl(w.ep, syscall.EPOLL_CTL_DEL, c.watchedFD, nil)
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
	_ = w.f.Close()
	<-w.done
}

// writevFD writes a and then b to fd in one system call.
func writevFD(fd int, a, b []byte) (int, error) {
	var iov [2]syscall.Iovec
	n := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			iov[n].Base = &p[0]
			iov[n].SetLen(len(p))
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	r, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
