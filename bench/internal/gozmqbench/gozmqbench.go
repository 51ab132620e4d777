// Package gozmqbench adapts github.com/go-zeromq/zmq4 (pure Go, v0.17.0) to the bench contract
// the way zloopbench and libzmqbench adapt theirs: one new message per sent payload with the body
// copied (as zmq_send and zloop's AppendFrame copy), the received message's frame handed back
// as is, and a REP that sends back the message it received.
//
// Where go-zeromq cannot follow the common policy the difference is the library's, stated here:
//   - It has no SNDHWM or RCVHWM for PUSH, PULL, REQ or REP (its HWM option is PUB's only), so
//     --hwm is accepted and has no effect. A PUSH's Send writes to the connection before it
//     returns (a write(2) for each frame header and body, through a goroutine per send); a
//     PULL's reader goroutine queues at most 10 messages.
//   - It has no LINGER. A PUSH needs none (Send returns once the bytes are in the kernel), but a
//     REP's Send only hands the reply to a goroutine, and Close right after the last Send loses
//     that reply; Close(flush) of a REP therefore waits until its peers hang up.
//   - It has no socket monitor. PUSH and REP sockets use a transport of this package that records
//     their connections (registered under private scheme names, so go-zeromq's own tcp and ipc
//     are untouched); WaitPeerGone and the REP's Close watch those for the peer's close.
package gozmqbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	zmq "github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"

	"github.com/zloop/zloop/bench/internal/contract"
)

// Impl is the go-zeromq implementation. Its zero value is ready; one Impl serves one run.
type Impl struct{}

// Name implements contract.Impl.
func (*Impl) Name() string { return "gozmq" }

// The transports that record the connections of PUSH and REP sockets, registered under private
// scheme names so that go-zeromq's own tcp and ipc stay untouched.
var trackedSchemes = map[string]string{"tcp": "zloopbench-tcp", "ipc": "zloopbench-ipc"}

// registerErr is why the transports could not be registered (nil: they were); Open reports it.
var registerErr error

func init() {
	for scheme, private := range trackedSchemes {
		network := scheme
		if scheme == "ipc" {
			network = "unix"
		}
		if err := zmq.RegisterTransport(private, trackingTransport{transport.New(network)}); err != nil {
			registerErr = errors.Join(registerErr, err)
		}
	}
}

// Open implements contract.Impl. The socket lives on ctx, so the run's deadline ends a blocked
// Send or Recv (REQ's Recv excepted: go-zeromq reads the reply without a context; the
// contract's watchdog ends that case).
func (*Impl) Open(ctx context.Context, kind contract.Kind, a *contract.Args) (contract.Socket, error) {
	if a.Curve {
		return nil, errors.New("gozmq: go-zeromq/zmq4 has no CURVE (--curve)")
	}
	k := &socket{ctx: ctx, kind: kind}
	scheme, rest, _ := strings.Cut(a.Endpoint, "://")
	endpoint := a.Endpoint
	if kind == contract.Push || kind == contract.Rep {
		if registerErr != nil {
			return nil, registerErr
		}
		private, ok := trackedSchemes[scheme]
		if !ok {
			return nil, fmt.Errorf("gozmq: transport %q is not supported", scheme)
		}
		endpoint = private + "://" + rest
		if scheme == "ipc" && a.Bind {
			k.unlink = rest // go-zeromq unlinks the files of ipc:// only, not of our scheme
		}
		k.conns = new(connSet)
		ctx = context.WithValue(ctx, connSetKey{}, k.conns)
	}
	// go-zeromq logs on its own (a failed handshake, for example); stdout is the RESULT line's.
	opts := []zmq.Option{zmq.WithLogger(log.New(os.Stderr, "gozmq: ", 0))}
	switch kind {
	case contract.Push:
		k.s = zmq.NewPush(ctx, opts...)
	case contract.Pull:
		k.s = zmq.NewPull(ctx, opts...)
	case contract.Req:
		k.s = zmq.NewReq(ctx, opts...)
	case contract.Rep:
		k.s = zmq.NewRep(ctx, opts...)
	default:
		return nil, fmt.Errorf("gozmq: no socket type for %v", kind)
	}
	var err error
	if a.Bind {
		err = k.s.Listen(endpoint)
	} else {
		err = k.s.Dial(endpoint)
	}
	if err != nil {
		_ = k.Close(false)
		return nil, err
	}
	return k, nil
}

// Shutdown implements contract.Impl. go-zeromq has no context or reactor to release.
func (*Impl) Shutdown() error { return nil }

type socket struct {
	s      zmq.Socket
	ctx    context.Context // the run's, for Close's wait
	kind   contract.Kind
	closed bool
	conns  *connSet // PUSH and REP only
	unlink string   // the socket file of a PUSH or REP bound over ipc
}

func (k *socket) Send(_ context.Context, payload []byte) error {
	return k.s.Send(zmq.NewMsg(bytes.Clone(payload)))
}

func (k *socket) Recv(context.Context) ([]byte, error) {
	m, err := k.s.Recv()
	if err != nil {
		return nil, err
	}
	if n := len(m.Frames); n != 1 {
		return nil, fmt.Errorf("%w: a message of %d frames", contract.ErrCheck, n)
	}
	return m.Frames[0], nil
}

func (k *socket) Echo(context.Context) (int, error) {
	m, err := k.s.Recv()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range m.Frames {
		n += len(f)
	}
	if err := k.s.Send(m); err != nil {
		return 0, err
	}
	return n, nil
}

// peerPoll bounds each read that waits for the peer to close, so that ctx is noticed.
const peerPoll = 50 * time.Millisecond

// WaitPeerGone reads every connection the PUSH socket made or accepted until the peer closes
// it. Bytes that arrive are dropped: a PULL sends nothing after the handshake, and go-zeromq's
// PUSH never reads its connections after the handshake, so nothing else wants them. (A PUSH
// that binds could see a peer connect during this wait, whose handshake these reads would
// disturb; the contract's sender connects, and its one peer has long finished its handshake.)
func (k *socket) WaitPeerGone(ctx context.Context) error {
	if k.kind != contract.Push {
		return errors.New("gozmq: WaitPeerGone needs a PUSH socket")
	}
	conns := k.conns.all()
	if len(conns) == 0 {
		return errors.New("gozmq: WaitPeerGone before any connection")
	}
	buf := make([]byte, 512)
	for _, c := range conns {
		for {
			select {
			case <-c.gone:
			case <-ctx.Done():
				return ctx.Err()
			default:
				_ = c.SetReadDeadline(time.Now().Add(peerPoll))
				_, _ = c.Read(buf) // closes c.gone on EOF, reset or close
				continue
			}
			break
		}
	}
	return nil
}

// Close closes the socket. A REP's Send only hands the reply to a goroutine of go-zeromq's
// (repWriter.run), and closing the socket at once loses the last reply, so with flush Close
// first waits (at most until the run's deadline) for every peer to hang up: the REQ side does
// once it has its last reply. A PUSH's sends are written before Send returns, so flush needs
// nothing more there.
func (k *socket) Close(flush bool) error {
	if k.closed {
		return nil
	}
	k.closed = true
	if flush && k.kind == contract.Rep {
		for _, c := range k.conns.all() {
			select {
			case <-c.gone: // go-zeromq's own reader saw the EOF
			case <-k.ctx.Done():
			}
		}
	}
	err := k.s.Close()
	if errors.Is(err, net.ErrClosed) {
		// go-zeromq's reader closes a connection when its peer hangs up, and Close closes it
		// again: that is the normal end of a run, not a failure.
		err = nil
	}
	if k.unlink != "" {
		_ = os.Remove(k.unlink)
	}
	return err
}

// connSet records the connections of one socket; the transport adds to it from go-zeromq's
// dialing and accepting goroutines while WaitPeerGone and Close read it.
type connSet struct {
	mu    sync.Mutex
	conns []*trackedConn
}

func (s *connSet) add(c *trackedConn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *connSet) all() []*trackedConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*trackedConn(nil), s.conns...)
}

type connSetKey struct{}

// trackedConn is a connection that tells when a read on it first failed for good (the peer
// closed or reset it, or it was closed). Writes go straight to the embedded connection.
type trackedConn struct {
	net.Conn
	once sync.Once
	gone chan struct{}
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			c.once.Do(func() { close(c.gone) })
		}
	}
	return n, err
}

// trackingTransport is go-zeromq's net transport that also records, in the connSet found in
// the socket's context, every connection it dials or accepts.
type trackingTransport struct {
	transport.Transport
}

func track(ctx context.Context, c net.Conn) net.Conn {
	set, ok := ctx.Value(connSetKey{}).(*connSet)
	if !ok {
		return c
	}
	t := &trackedConn{Conn: c, gone: make(chan struct{})}
	set.add(t)
	return t
}

func (t trackingTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := t.Transport.Dial(ctx, d, addr)
	if err != nil {
		return nil, err
	}
	return track(ctx, c), nil
}

func (t trackingTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := t.Transport.Listen(ctx, addr)
	if err != nil {
		return nil, err
	}
	return trackingListener{l, ctx}, nil
}

type trackingListener struct {
	net.Listener
	ctx context.Context
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return track(l.ctx, c), nil
}
