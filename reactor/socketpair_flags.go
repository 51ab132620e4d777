//go:build !darwin && !windows

package reactor

import "syscall"

// socketpair returns a pair of connected, close-on-exec Unix stream sockets, both non-blocking.
func socketpair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
}
