//go:build (darwin || dragonfly || freebsd || netbsd || openbsd) && !poll_opt

package reactor

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/panjf2000/gnet/v2"
)

// Muting with kqueue: the counterpart of mute_linux.go. A connection whose reader is full loses its
// read filter in the loop's kqueue, so the kernel's buffer fills and TCP pushes back, and gets it
// back when the reader made room. kqueue keeps one filter per direction, and gnet's default poller
// only ever adds and deletes the write filter of a connection after registering it (ModReadWrite,
// ModRead), so unlike epoll a muted connection keeps its write events: gnet flushes its output as
// usual without re-arming reading behind our back.
//
// The read filter is deleted and added again rather than disabled and enabled: a filter added to a
// socket that already holds data reports it at once, which is how gnet registers every connection,
// so coming back cannot miss bytes that arrived while muted.
//
// It relies on two facts of gnet's default poller: each loop has one kqueue, and a filter is
// identified by the descriptor alone (the poll_opt build keeps a pointer in the filter's udata, which
// an add of ours would overwrite: that build is excluded by the constraint above, and detaches).
// muterOf checks what it can: the poller has the default build's fields, and the loop's own waker
// has a read filter in the kqueue it found. Anything else falls back to detaching.

// muterOf returns the kqueue descriptor of el's loop, or -1. probeFD is a descriptor gnet registered
// on that loop for reading (the waker's).
func muterOf(el gnet.EventLoop, probeFD int) int {
	// The kqueue poller's wake-up pipe (unused where EVFILT_USER exists, but declared): a sign that
	// this is the poller we know and fd is its kqueue. EV_ENABLE changes nothing on an enabled
	// filter and fails with ENOENT where there is none: the waker must be registered in this kqueue.
	kq := pollerFD(el, "pipe")
	if kq < 0 || kevent(kq, probeFD, syscall.EV_ENABLE) != nil {
		return -1
	}
	return kq
}

func kevent(kq, fd, flags int) error {
	var ch [1]syscall.Kevent_t
	syscall.SetKevent(&ch[0], fd, syscall.EVFILT_READ, flags)
	// Without an event list, a change that fails makes the call fail with its error.
	if _, err := syscall.Kevent(kq, ch[:], nil, nil); err != nil {
		return fmt.Errorf("zmq: reactor: kevent: %w", err)
	}
	return nil
}

// mute deletes fd's read filter. Deleting one that is already gone (a second mute) is no error.
func mute(kq, fd int) error {
	if err := kevent(kq, fd, syscall.EV_DELETE); err != nil && !errors.Is(err, syscall.ENOENT) {
		return err
	}
	return nil
}

// unmute adds fd's read filter back as gnet registered it (level-triggered). The write filter is
// gnet's own and was never touched.
func unmute(kq, fd int, _ bool) error { return kevent(kq, fd, syscall.EV_ADD) }
