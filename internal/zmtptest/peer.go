// Package zmtptest is a plain, blocking ZMTP peer for tests: a net.Conn driven by a zmtp.Session.
// It lets a test speak the protocol exactly (or break it on purpose) without the reactor.
package zmtptest

import (
	"errors"
	"net"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

// Peer is one raw connection. Its methods are for a single goroutine.
type Peer struct {
	Conn net.Conn
	sess *zmtp.Session
	in   []byte
	msgs [][][]byte
	cur  [][]byte
	more bool
	// Info is set once the handshake completed.
	Info *zmtp.Peer
}

// Dial connects to addr ("tcp", "127.0.0.1:5555") as a socket of type sockType and completes the
// handshake within timeout.
func Dial(network, addr, sockType string, timeout time.Duration) (*Peer, error) {
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	p := New(c, sockType)
	if err := p.Handshake(timeout); err != nil {
		_ = c.Close()
		return nil, err
	}
	return p, nil
}

// New wraps an established connection; call Handshake next.
func New(c net.Conn, sockType string) *Peer {
	return &Peer{Conn: c, sess: zmtp.NewSession(&zmtp.Config{SocketType: sockType, HandshakeTimeout: -1})}
}

// NewWith wraps an established connection with a session of cfg's (a CURVE client, say); call
// Handshake next.
func NewWith(c net.Conn, cfg *zmtp.Config) *Peer {
	return &Peer{Conn: c, sess: zmtp.NewSession(cfg)}
}

// Handshake sends the greeting and READY and waits for the peer's.
func (p *Peer) Handshake(timeout time.Duration) error {
	if _, err := p.Conn.Write(p.sess.Start(time.Now(), nil)); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for p.Info == nil {
		if err := p.fill(deadline); err != nil {
			return err
		}
	}
	return nil
}

// SendFrames writes one message.
func (p *Peer) SendFrames(frames ...[]byte) error {
	var b []byte
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = codec.FlagMore
		}
		b = codec.AppendFrame(b, flags, f)
	}
	_, err := p.Conn.Write(b)
	return err
}

// Recv returns the next message, waiting until timeout.
func (p *Peer) Recv(timeout time.Duration) ([][]byte, error) {
	deadline := time.Now().Add(timeout)
	for len(p.msgs) == 0 {
		if err := p.fill(deadline); err != nil {
			return nil, err
		}
	}
	m := p.msgs[0]
	p.msgs = p.msgs[1:]
	return m, nil
}

// WaitClosed reads until the peer closes the connection (nil) or timeout passes (an error),
// discarding data.
func (p *Peer) WaitClosed(timeout time.Duration) error {
	_ = p.Conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := p.Conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err
			}
			return nil
		}
	}
}

func (p *Peer) fill(deadline time.Time) error {
	_ = p.Conn.SetReadDeadline(deadline)
	buf := make([]byte, 64<<10)
	n, err := p.Conn.Read(buf)
	if n > 0 {
		p.in = append(p.in, buf[:n]...)
		used, out, rerr := p.sess.Read(p.in, time.Now(), nil, (*handler)(p))
		p.in = p.in[used:]
		if len(out) > 0 {
			if _, werr := p.Conn.Write(out); werr != nil {
				return werr
			}
		}
		if rerr != nil {
			return rerr
		}
	}
	return err
}

type handler Peer

func (h *handler) Ready(peer *zmtp.Peer) error { h.Info = peer; return nil }
func (h *handler) Frame(size int, more, first bool) bool {
	h.cur = append(h.cur, make([]byte, 0, min(size, 1<<20)))
	h.more = more
	return true
}
func (h *handler) FrameData(b []byte, last bool) {
	i := len(h.cur) - 1
	h.cur[i] = append(h.cur[i], b...)
	if last && !h.more {
		h.msgs = append(h.msgs, h.cur)
		h.cur = nil
	}
}
func (h *handler) Command(codec.Command) {}
