package reactor

import (
	"errors"
	"syscall"
)

// On Windows gnet is built on the net package: each connection has a goroutine that reads it into
// gnet's buffer and the loop writes with a blocking Write. There is no descriptor a sender could
// write to beside the loop, and net.FileConn, which re-enrolling a detached connection needs, is not
// implemented; a paused connection stays in gnet, which keeps reading it.
const (
	directWrites = false
	detachable   = false
	directReads  = false
)

func wouldBlock(error) bool { return false }

// Neither is reached (see the constants above); they exist so that the shared code builds.
func readFD(int, []byte) (int, error)  { return 0, syscall.EWINDOWS }
func writeFD(int, []byte) (int, error) { return 0, syscall.EWINDOWS }

// closeFD closes what gnet's Dup returns on Windows: a handle from DuplicateHandle.
func closeFD(fd int) error { return syscall.CloseHandle(syscall.Handle(fd)) }

// wsaeaddrinuse is Winsock's WSAEADDRINUSE; syscall.EADDRINUSE is an invented value on Windows.
const wsaeaddrinuse = syscall.Errno(10048)

func isAddrInUse(err error) bool {
	return errors.Is(err, wsaeaddrinuse) || errors.Is(err, syscall.EADDRINUSE)
}
