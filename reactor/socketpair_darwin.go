package reactor

import "syscall"

// socketpair returns a pair of connected, close-on-exec Unix stream sockets, both non-blocking.
// macOS has no SOCK_NONBLOCK or SOCK_CLOEXEC: the flags are set afterwards, under the fork lock so
// that no child started in between inherits the descriptors, as the net package does.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return fds, err
	}
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			_ = syscall.Close(fds[0])
			_ = syscall.Close(fds[1])
			return fds, err
		}
	}
	return fds, nil
}
