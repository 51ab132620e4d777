//go:build unix

package reactor

import "syscall"

// setTOS sets IP_TOS, and IPV6_TCLASS on an IPv6 socket (where IP_TOS covers IPv4-mapped traffic
// only where the system supports it), as libzmq's set_ip_type_of_service does.
func setTOS(fd uintptr, v6 bool, tos int) error {
	if v6 {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS, tos)
		return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_TCLASS, tos)
	}
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TOS, tos)
}

// setBacklog calls listen again on a listening socket: Linux and the BSDs then replace its
// backlog (Go's own listen asked for somaxconn), leaving everything else as it is.
func setBacklog(fd uintptr, n int) error { return syscall.Listen(int(fd), n) }
