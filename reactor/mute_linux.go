package reactor

import (
	"fmt"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/netpoll"
)

// Muting is how a connection whose reader is full stops reading without leaving gnet: its descriptor
// stays in the loop's epoll set with no events, so the kernel's buffer fills and TCP pushes back, as
// libzmq's reset_pollin does. gnet has no API for it, and detaching instead (dup, close, re-enroll)
// costs a goroutine, about twenty allocations and several system calls per pause. The kqueue
// counterpart is mute_kqueue.go; elsewhere there is none (mute_other.go).
//
// It needs gnet's epoll descriptor, which gnet keeps unexported, and it relies on two facts of gnet's
// default (level-triggered) poller: each loop has one epoll set, and an event's data is the
// descriptor itself. muterOf checks what it can: the poller has the default build's fields, and the
// loop's own waker is registered in the set it found. Anything else falls back to detaching.

// muterOf returns the epoll descriptor of el's loop, or -1. probeFD is a descriptor gnet registered
// on that loop for reading (the waker's).
func muterOf(el gnet.EventLoop, probeFD int) int {
	// The default poller has an eventfd field; the poll_opt build puts a pointer in the event's data
	// instead of the descriptor, and a MOD of ours would corrupt it.
	ep := pollerFD(el, "efd")
	if ep < 0 || setEvents(ep, probeFD, netpoll.ReadEvents) != nil {
		return -1
	}
	return ep
}

func setEvents(ep, fd int, events uint32) error {
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd)}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
		return fmt.Errorf("zmq: reactor: epoll_ctl: %w", err)
	}
	return nil
}

// mute registers fd for no events (errors and hang-ups are still reported). Not even write events
// while gnet holds output: gnet's flush on EPOLLOUT re-arms reading when it empties its buffer, and
// the next epoll_wait would read for a connection whose reader is full. The loop polls such a
// connection and flushes it itself, muting again in the same step (loop.tick).
func mute(ep, fd int) error { return setEvents(ep, fd, 0) }

// unmute gives fd back the events gnet registered it with: read, and write while gnet holds output.
func unmute(ep, fd int, writing bool) error {
	ev := uint32(netpoll.ReadEvents)
	if writing {
		ev = netpoll.ReadWriteEvents
	}
	return setEvents(ep, fd, ev)
}
