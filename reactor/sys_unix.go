//go:build !windows

package reactor

import (
	"errors"
	"syscall"
)

// The system calls zloop makes on gnet's descriptors itself, and what the platform allows. gnet
// runs on Linux, the BSDs and macOS, where a connection is a non-blocking descriptor in the loop's
// poller, and on Windows (sys_windows.go), where it is not.

const (
	// directWrites: a sender may write a message to the connection's descriptor itself (direct.go).
	directWrites = true
	// detachable: a paused connection can leave gnet as a duplicated descriptor and come back
	// (conn.pauseInput, reenroll).
	detachable = true
	// directReads: the loop may read a large frame's body from the descriptor straight into the
	// message (conn.readBody).
	directReads = true
)

func readFD(fd int, b []byte) (int, error)  { return syscall.Read(fd, b) }
func writeFD(fd int, b []byte) (int, error) { return syscall.Write(fd, b) }
func closeFD(fd int) error                  { return syscall.Close(fd) }

// wouldBlock reports an error of a non-blocking descriptor that only means "not now".
func wouldBlock(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR)
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
