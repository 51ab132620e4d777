package reactor

import (
	"fmt"
	"net"
)

// wakeEnd is the write end of a waker's pair. Windows has no socketpair, and gnet there enrolls
// only TCP, Unix and UDP connections of the net package: the pair is a loopback TCP connection.
type wakeEnd struct{ c net.Conn }

// noWakeEnd is a waker's end that is never written (tests build such wakers).
var noWakeEnd = wakeEnd{}

// wakeByte is what a wake writes; shared, so that a wake allocates nothing.
var wakeByte = []byte{0}

// wakePair connects two loopback TCP sockets and returns the accepted one for gnet and the dialed
// one to write to.
func wakePair() (net.Conn, wakeEnd, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, noWakeEnd, fmt.Errorf("zmq: reactor: waker: %w", err)
	}
	defer ln.Close()
	wc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, noWakeEnd, fmt.Errorf("zmq: reactor: waker: %w", err)
	}
	for {
		rc, err := ln.Accept()
		if err != nil {
			_ = wc.Close()
			return nil, noWakeEnd, fmt.Errorf("zmq: reactor: waker: %w", err)
		}
		// Another local process may connect first: the read end is the one we dialed.
		if rc.RemoteAddr().String() == wc.LocalAddr().String() {
			return rc, wakeEnd{wc}, nil
		}
		_ = rc.Close()
	}
}

// wake writes one byte. The write blocks, unlike the non-blocking descriptor elsewhere, but at most
// a few bytes are ever unread (a post writes only when none is pending).
func (e wakeEnd) wake() {
	if e.c != nil {
		_, _ = e.c.Write(wakeByte)
	}
}

func (e wakeEnd) close() {
	if e.c != nil {
		_ = e.c.Close()
	}
}
