//go:build !windows

package reactor

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// wakeEnd is the write end of a waker's socketpair, a non-blocking descriptor.
type wakeEnd int

// noWakeEnd is a waker's end that is never written (tests build such wakers).
const noWakeEnd wakeEnd = -1

// wakePair returns the read end of a new socketpair as a net.Conn for gnet, and the write end.
func wakePair() (net.Conn, wakeEnd, error) {
	fds, err := socketpair()
	if err != nil {
		return nil, noWakeEnd, fmt.Errorf("zmq: reactor: socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "zloop-waker")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		_ = syscall.Close(fds[1])
		return nil, noWakeEnd, err
	}
	return nc, wakeEnd(fds[1]), nil
}

func (e wakeEnd) wake() {
	var b [1]byte
	_, _ = syscall.Write(int(e), b[:])
}

func (e wakeEnd) close() { _ = syscall.Close(int(e)) }
