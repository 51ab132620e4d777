//go:build !linux

package reactor

// unixPeerAddress is what getnameinfo gives a unix socket; libzmq adds the peer's credentials
// where the system has SO_PEERCRED (Linux) or LOCAL_PEERCRED (the BSDs), which zloop reads on
// Linux only.
func unixPeerAddress(int) string { return "localhost" }
