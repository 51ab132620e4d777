//go:build darwin || freebsd

package reactor

import (
	"errors"
	"fmt"
	"syscall"
)

// outPoller on macOS and FreeBSD is a kqueue of the output watcher's own (outwatch.go), where each
// waiting socket has a one-shot write filter (EVFILT_WRITE, EV_ONESHOT). Unlike the Linux epoll set
// it is not handed to Go's network poller (which registers a read and a write filter for every
// descriptor it takes, and a kqueue descriptor has no write filter): the serving goroutine blocks
// in kevent instead, and a user event (EVFILT_USER) ends that wait at close.
//
// Compile-tested only (GOOS=darwin and GOOS=freebsd go vet): the tests that run the watcher run
// Linux's poller.
type outPoller struct{ kq int }

// wakeIdent is the user event's identifier: user events have identifiers of their own, apart
// from descriptors.
const wakeIdent = 0

// open makes the kqueue and starts the goroutine that serves w.
func (p *outPoller) open(w *outWatcher) error {
	kq, err := syscall.Kqueue()
	if err != nil {
		return fmt.Errorf("zmq: reactor: kqueue: %w", err)
	}
	syscall.CloseOnExec(kq)
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, wakeIdent, syscall.EVFILT_USER, syscall.EV_ADD|syscall.EV_CLEAR)
	if _, err := syscall.Kevent(kq, []syscall.Kevent_t{ev}, nil, nil); err != nil {
		_ = syscall.Close(kq)
		return fmt.Errorf("zmq: reactor: kevent: %w", err)
	}
	p.kq = kq
	go p.run(w)
	return nil
}

// run waits in kevent for writable sockets and serves them, until close triggers the user event.
func (p *outPoller) run(w *outWatcher) {
	defer close(w.done)
	defer w.fail()
	var events [64]syscall.Kevent_t
	var fds [64]int32
	for {
		n, err := syscall.Kevent(p.kq, nil, events[:], nil)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		k := 0
		for _, ev := range events[:n] {
			if ev.Filter == syscall.EVFILT_USER {
				return // close
			}
			fds[k] = int32(ev.Ident)
			k++
		}
		w.serve(fds[:k])
	}
}

// add registers one write event for fd.
func (p *outPoller) add(fd int) error {
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, fd, syscall.EVFILT_WRITE, syscall.EV_ADD|syscall.EV_ONESHOT)
	_, err := syscall.Kevent(p.kq, []syscall.Kevent_t{ev}, nil, nil)
	return err
}

// rearm is add: a one-shot filter is gone once it fired, adding it again re-arms it, and adding it
// while it waits changes nothing.
func (p *outPoller) rearm(fd int) error { return p.add(fd) }

func (p *outPoller) remove(fd int) {
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, fd, syscall.EVFILT_WRITE, syscall.EV_DELETE)
	_, _ = syscall.Kevent(p.kq, []syscall.Kevent_t{ev}, nil, nil) // ENOENT once the one shot fired
}

// close triggers the user event, waits for run to end and closes the kqueue.
func (p *outPoller) close(done <-chan struct{}) {
	var ev syscall.Kevent_t
	syscall.SetKevent(&ev, wakeIdent, syscall.EVFILT_USER, 0)
	ev.Fflags = syscall.NOTE_TRIGGER
	if _, err := syscall.Kevent(p.kq, []syscall.Kevent_t{ev}, nil, nil); err != nil {
		// run stays blocked in kevent on a descriptor left open (closing one under a waiting
		// kevent is not defined to wake it): a goroutine lost, never a write to a reused
		// descriptor, since every connection forgot its socket before this.
		return
	}
	<-done
	_ = syscall.Close(p.kq)
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
