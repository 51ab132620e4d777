package reactor

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// outPoller is the output watcher's epoll set (outwatch.go), where each waiting socket is
// registered for EPOLLOUT once (EPOLLONESHOT). The set is a descriptor in Go's own network poller,
// so no thread sits in epoll_wait for it: the serving goroutine wakes when a socket in it is
// writable.
type outPoller struct {
	ep int
	f  *os.File // ep in Go's poller
}

// open makes the set and starts the goroutine that serves w.
func (p *outPoller) open(w *outWatcher) error {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("zmq: reactor: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(ep, true); err != nil {
		_ = syscall.Close(ep)
		return fmt.Errorf("zmq: reactor: epoll set: %w", err)
	}
	p.ep, p.f = ep, os.NewFile(uintptr(ep), "zloop-output")
	rc, err := p.f.SyscallConn()
	if err != nil {
		_ = p.f.Close()
		return fmt.Errorf("zmq: reactor: epoll set: %w", err)
	}
	go p.run(w, rc)
	return nil
}

// run waits in Go's poller for the set to have events and serves them, until close.
func (p *outPoller) run(w *outWatcher, rc syscall.RawConn) {
	defer close(w.done)
	defer w.fail()
	var events [64]syscall.EpollEvent
	var fds [64]int32
	// Read returns only when the file is closed: the function says "not yet" whenever the set is
	// empty, and Go's poller calls it again once it is readable.
	_ = rc.Read(func(uintptr) bool {
		for {
			n, err := syscall.EpollWait(p.ep, events[:], 0)
			if err != nil && !errors.Is(err, syscall.EINTR) {
				return true // the set is gone: stop
			}
			if n <= 0 {
				return false
			}
			for i, ev := range events[:n] {
				fds[i] = ev.Fd
			}
			w.serve(fds[:n])
		}
	})
}

func (p *outPoller) add(fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(fd)}
	return syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// rearm asks for the next EPOLLOUT of a registered socket (a one-shot registration is disabled once
// it fired).
func (p *outPoller) rearm(fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | syscall.EPOLLONESHOT, Fd: int32(fd)}
	return syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_MOD, fd, &ev)
}

func (p *outPoller) remove(fd int) { _ = syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_DEL, fd, nil) }

// close ends run (closing the file wakes Go's poller) and waits for it.
func (p *outPoller) close(done <-chan struct{}) {
	_ = p.f.Close()
	<-done
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
