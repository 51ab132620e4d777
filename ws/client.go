package ws

import (
	"errors"
	"io"
	"net"
	"net/url"
	"slices"

	gws "github.com/gobwas/ws"
)

// maxResponse caps the bytes ClientHandshake reads: the 101 response plus what the
// server sent after it in the same reads. A server that sends an endless header
// fails the handshake instead of growing memory until the deadline.
const maxResponse = 64 << 10

var errResponseTooLarge = errors.New("zmq: ws: upgrade response too large")

// ClientHandshake performs the client side of the WebSocket upgrade on c: it writes the
// request for u (u.Host as the Host header, u.RequestURI() as the path) offering
// protocols (empty means DefaultProtocols), reads the "101 Switching Protocols"
// response, checks the Sec-WebSocket-Accept key, and checks that the server chose one of
// protocols. It returns the chosen subprotocol and any bytes the server sent after its
// response that were already read from c (the first WebSocket frames); the caller must
// decode leftover before anything else it reads from c. leftover is a new slice owned
// by the caller, nil when there was nothing.
//
// It blocks: call it on a dial goroutine, never on an event loop. It honours the
// deadlines the caller set on c and does not change them. Every error matches
// ErrHandshake; I/O errors (a timeout, say) stay reachable with errors.As.
func ClientHandshake(c net.Conn, u *url.URL, protocols []string) (proto string, leftover []byte, err error) {
	if c == nil || u == nil {
		return "", nil, &handshakeError{msg: "nil connection or URL"}
	}
	if len(protocols) == 0 {
		protocols = DefaultProtocols
	}
	rw := &limitedConn{c: c, left: maxResponse}
	d := gws.Dialer{Protocols: protocols}
	br, hs, err := d.Upgrade(rw, u)
	if err != nil {
		var status gws.StatusError
		if errors.As(err, &status) {
			return "", nil, &handshakeError{msg: "server refused the upgrade", cause: err}
		}
		return "", nil, &handshakeError{msg: "bad upgrade response", cause: err}
	}
	if br != nil {
		leftover = make([]byte, br.Buffered())
		_, _ = io.ReadFull(br, leftover) // cannot fail: the bytes are buffered
		gws.PutReader(br)
	}
	// gobwas accepts a response without Sec-WebSocket-Protocol; ZWS does not.
	if hs.Protocol == "" || !slices.Contains(protocols, hs.Protocol) {
		return "", nil, &handshakeError{msg: "server chose no offered ZWS 2.0 subprotocol"}
	}
	return hs.Protocol, leftover, nil
}

// limitedConn reads at most left bytes from c in total.
type limitedConn struct {
	c    net.Conn
	left int
}

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errResponseTooLarge
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.c.Read(p)
	l.left -= n
	return n, err
}

func (l *limitedConn) Write(p []byte) (int, error) { return l.c.Write(p) }
