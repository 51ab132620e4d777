package reactor

import (
	"strconv"
	"syscall"
)

// unixPeerAddress is libzmq's Peer-Address of an ipc peer on Linux: "localhost" (what getnameinfo
// gives a unix socket) and the peer's SO_PEERCRED, as ":uid:gid:pid".
func unixPeerAddress(fd int) string {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return "localhost"
	}
	return "localhost:" + strconv.FormatUint(uint64(cred.Uid), 10) + ":" + strconv.FormatUint(uint64(cred.Gid), 10) +
		":" + strconv.FormatInt(int64(cred.Pid), 10)
}
