package reactor

import (
	"syscall"
	"time"
)

// tcpUserTimeout is Linux's TCP_USER_TIMEOUT, which the syscall package does not name.
const tcpUserTimeout = 0x12

// setMaxRT sets TCP_USER_TIMEOUT, libzmq's ZMQ_TCP_MAXRT on Linux: how long sent data may stay
// unacknowledged before the kernel drops the connection.
func setMaxRT(fd uintptr, d time.Duration) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, msCeil(d))
}

// bindToDevice sets SO_BINDTODEVICE (ZMQ_BINDTODEVICE): the socket only uses that interface.
func bindToDevice(fd uintptr, dev string) error {
	return syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, dev)
}

// setRcvLowat sets a socket's receive low-water mark (conn_read.go).
func setRcvLowat(fd, n int) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
}
