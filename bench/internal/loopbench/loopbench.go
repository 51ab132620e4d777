// Package loopbench is the bench's limit line: the contract's thr and lat (impl=loopback) over one
// plain stream socket, no ZeroMQ at all. A message is SIZE bytes written with one Write and read
// with io.ReadFull into one buffer, so thr loopback->loopback is the single-stream byte rate of
// this machine's loopback (tcp:// and ws:// on TCP, ipc:// on a unix socket with zloop's ipc send
// buffer, ipcBuffer), expressed in messages of SIZE, with the contract's clocks, and measured in
// the same run as the libraries.
// Over ws:// it is plain TCP too: the rate a ws transport could at best reach on that stream. Over
// tls:// and wss:// it is one crypto/tls stream on TCP (benchtls's configuration), the same bytes
// encrypted: the limit of a TLS transport.
package loopbench

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/zloop/zloop/bench/internal/benchtls"
	"github.com/zloop/zloop/bench/internal/contract"
)

// ErrEndpoint is returned for an endpoint of another transport than tcp, ipc, ws, tls and wss.
var ErrEndpoint = errors.New("loopback: endpoint is not tcp://, ipc://, ws://, tls:// or wss://")

// Impl is the loopback implementation. Its zero value is ready (the limit line); one Impl serves
// one run.
type Impl struct {
	// Send says what the sender does with each payload before the stream has it. A library's
	// send copies the caller's payload (zmq_send, zloop's Send), and a threaded one writes it
	// from another thread than the one that copied it: these are the limit of such a sender,
	// measured as the limit line is. The receiver is the same in every mode but Rotate.
	Send SendMode
}

// SendMode is what a loopback sender does with each payload.
type SendMode int

const (
	// Direct writes the payload itself: the limit line.
	Direct SendMode = iota
	// Copy copies the payload into the next of HWM+1 buffers (as a library's queue of HWM
	// messages holds them) and writes that, on the sending goroutine.
	Copy
	// Handoff copies as Copy does and has another goroutine, on an OS thread of its own, write
	// the copies, at most HWM behind: a library whose I/O thread writes what its caller queued.
	Handoff
	// Rotate reads into HWM+1 distinct buffers in turn, and under --fill writes from them in turn
	// (without it, it writes the caller's payload as Direct does): the limit line with the memory
	// of a queue of messages on either side, of which a cache holds less than of one buffer.
	Rotate
)

// Name implements contract.Impl.
func (i *Impl) Name() string {
	switch i.Send {
	case Copy:
		return "loopback-copy"
	case Handoff:
		return "loopback-handoff"
	case Rotate:
		return "loopback-rotate"
	}
	return "loopback"
}

// Shutdown implements contract.Impl; the socket's Close released everything.
func (*Impl) Shutdown() error { return nil }

// dialRetry is how often the connect side tries again while the bind side is not listening yet
// (ZeroMQ's connect retries too, so a pair may start in either order).
const dialRetry = 10 * time.Millisecond

// network maps a ZeroMQ endpoint to a net network and address.
func network(endpoint string) (netw, addr string, err error) {
	scheme, rest, _ := strings.Cut(endpoint, "://")
	switch scheme {
	case "tcp", "tls":
		return "tcp", rest, nil
	case "ws", "wss":
		host, _, _ := strings.Cut(rest, "/")
		return "tcp", host, nil
	case "ipc":
		return "unix", rest, nil
	}
	return "", "", fmt.Errorf("%w: %q", ErrEndpoint, endpoint)
}

// Open implements contract.Impl: bind listens (the first operation accepts one peer), connect
// dials until the bind side listens or ctx ends.
func (i *Impl) Open(ctx context.Context, _ contract.Kind, a *contract.Args) (contract.Socket, error) {
	netw, addr, err := network(a.Endpoint)
	if err != nil {
		return nil, err
	}
	s := &socket{buf: make([]byte, a.Size), mode: i.Send, hwm: queued(a.HWM, a.Size)}
	var cfg *tls.Config
	if benchtls.Secure(a.Endpoint) {
		if cfg, err = benchtls.Config(a.Bind); err != nil {
			return nil, err
		}
	}
	if a.Bind {
		if s.ln, err = net.Listen(netw, addr); err != nil {
			return nil, err
		}
		if cfg != nil {
			s.ln = tls.NewListener(s.ln, cfg)
		}
		return s, nil
	}
	var d net.Dialer
	tick := time.NewTicker(dialRetry)
	defer tick.Stop()
	for {
		c, err := d.DialContext(ctx, netw, addr)
		if err == nil && cfg != nil {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
			tc := tls.Client(c, cfg)
			if err = tc.HandshakeContext(ctx); err != nil {
				_ = c.Close()
				return nil, err
			}
			c = tc
		}
		if err == nil {
			if d, ok := ctx.Deadline(); ok {
				_ = c.SetDeadline(d)
			}
			ipcBuffer(c)
			s.c = c
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// ipcBuffer gives a unix socket the send buffer zloop gives its ipc:// connections (1 MiB, where
// net.core.wmem_max allows): the limit line is the rate of one stream set up as the library's, so
// that a library cannot pass it by its buffer sizes alone. TCP's buffers grow by themselves.
func ipcBuffer(c net.Conn) {
	if u, ok := c.(*net.UnixConn); ok {
		_ = u.SetWriteBuffer(1 << 20)
	}
}

// socket is one end of the stream. Only the goroutine running the contract's loop calls it.
type socket struct {
	ln  net.Listener // bind side, until it accepted its peer
	c   net.Conn
	buf []byte // one message, reused: Recv's result

	mode   SendMode
	hwm    int
	copies [][]byte // Copy, Handoff and Rotate: HWM+1 buffers of SIZE, made at the first use
	next   int      // Copy and Rotate: the buffer the next message goes into or comes from
	w      *writer  // Handoff: the writing goroutine, started at the first Send
}

// conn returns the connection, accepting it first on the bind side, with ctx's deadline set.
func (s *socket) conn(ctx context.Context) (net.Conn, error) {
	if s.c == nil {
		stop := context.AfterFunc(ctx, func() { _ = s.ln.Close() })
		c, err := s.ln.Accept()
		stop()
		if err != nil {
			return nil, deadline(ctx, err)
		}
		_ = s.ln.Close()
		s.ln = nil
		ipcBuffer(c)
		s.c = c
		if d, ok := ctx.Deadline(); ok {
			_ = c.SetDeadline(d)
		}
	}
	return s.c, nil
}

// deadline turns a failure caused by ctx (a closed listener, a passed conn deadline) into ctx's
// error, so that the contract reports a timeout.
func deadline(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return err
}

func (s *socket) Send(ctx context.Context, payload []byte) error {
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	switch s.mode {
	case Copy:
		b := s.nextBuffer(len(payload))
		payload = b[:copy(b, payload)]
	case Handoff:
		if s.w == nil {
			s.w = startWriter(c, s.buffers(len(payload)))
		}
		return deadline(ctx, s.w.send(ctx, payload))
	}
	_, err = c.Write(payload)
	return deadline(ctx, err)
}

// SendFilled implements contract.Filler: whatever the mode, the stream's one buffer is the message
// (with --fill every loopback tool is the limit line).
func (s *socket) SendFilled(ctx context.Context, size int, seq uint64, check bool) error {
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	b := s.buf[:size]
	if s.mode == Rotate {
		b = s.nextBuffer(size)
	}
	if check {
		binary.LittleEndian.PutUint64(b, seq)
	}
	_, err = c.Write(b)
	return deadline(ctx, err)
}

// queued is how many messages a copying sender holds besides the one it copies: --hwm, or without
// it libzmq's 1000 up to 64 MiB of copies (at least 1).
func queued(hwm, size int) int {
	if hwm > 0 {
		return hwm
	}
	return max(1, min(1000, (64<<20)/max(size, 1)))
}

// writer is Handoff's writing goroutine: Send copies into a free buffer and queues it, the writer
// writes it and frees it. The writer ends at its first write error, so that the next Send to find
// no free buffer returns that error rather than copying the rest of COUNT into a dead stream.
type writer struct {
	free, full chan []byte
	done       chan struct{}
	err        error // the first write error, read after done
}

func startWriter(c net.Conn, bufs [][]byte) *writer {
	w := &writer{free: make(chan []byte, len(bufs)), full: make(chan []byte, len(bufs)), done: make(chan struct{})}
	for _, b := range bufs {
		w.free <- b
	}
	go func() {
		runtime.LockOSThread() // another thread than the caller's, as an I/O thread is
		defer close(w.done)
		for b := range w.full {
			if _, w.err = c.Write(b); w.err != nil {
				return
			}
			w.free <- b
		}
	}()
	return w
}

func (w *writer) send(ctx context.Context, payload []byte) error {
	select {
	case b := <-w.free:
		w.full <- b[:copy(b, payload)]
		return nil
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush waits until the writer has written everything queued, and ends it.
func (w *writer) flush() error {
	close(w.full)
	<-w.done
	return w.err
}

func (s *socket) Recv(ctx context.Context) ([]byte, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	b := s.buf
	if s.mode == Rotate {
		b = s.nextBuffer(len(s.buf))
	}
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, deadline(ctx, err)
	}
	return b, nil
}

// buffers returns the HWM+1 buffers of size bytes that Copy, Handoff and Rotate go through, made at
// the first call. Their bytes are whatever the last message through them left: Rotate sends what
// its buffer holds, as --fill does.
func (s *socket) buffers(size int) [][]byte {
	if s.copies == nil {
		s.copies = make([][]byte, s.hwm+1)
		for i := range s.copies {
			s.copies[i] = make([]byte, size)
		}
	}
	return s.copies
}

// nextBuffer returns the next of buffers(size) in turn (Copy and Rotate).
func (s *socket) nextBuffer(size int) []byte {
	b := s.buffers(size)[s.next][:size]
	s.next = (s.next + 1) % len(s.copies)
	return b
}

func (s *socket) Echo(ctx context.Context) (int, error) {
	b, err := s.Recv(ctx)
	if err != nil {
		return 0, err
	}
	return len(b), s.Send(ctx, b)
}

// WaitPeerGone waits for the end of the stream: the receiver never writes, and closes once it has
// read COUNT messages.
func (s *socket) WaitPeerGone(ctx context.Context) error {
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	if s.w != nil {
		w := s.w
		s.w = nil
		if err := w.flush(); err != nil {
			return deadline(ctx, err)
		}
	}
	var one [1]byte
	if _, err := c.Read(one[:]); err == nil {
		return fmt.Errorf("loopback: the peer sent data while it should only read")
	} else if !errors.Is(err, io.EOF) {
		return deadline(ctx, err)
	}
	return nil
}

// Close closes the stream; the kernel delivers what it holds either way, and without flush there
// is nothing of the library's to drop.
func (s *socket) Close(bool) error {
	var err error
	if s.w != nil {
		err = s.w.flush()
		s.w = nil
	}
	if s.ln != nil {
		err = s.ln.Close()
	}
	if s.c != nil {
		err = errors.Join(err, s.c.Close())
	}
	return err
}
