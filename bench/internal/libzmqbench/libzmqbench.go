// Package libzmqbench adapts libzmq, through cgo and github.com/pebbe/zmq4, to the bench
// contract the same way zloopbench adapts zloop: the same HWM and linger, and one new message
// per sent payload (zmq_send copies the payload into a fresh zmq_msg_t). On receipt pebbe's
// RecvBytes copies each body into a new Go slice: that allocation is the price a Go program pays
// for libzmq through this binding, and allocs_per_msg shows it.
package libzmqbench

import (
	"context"
	"fmt"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/zloop/zloop/bench/internal/contract"
)

// Impl is the libzmq implementation. Its zero value is ready; one Impl serves one run.
type Impl struct {
	ctx *zmq.Context
}

// Name implements contract.Impl.
func (*Impl) Name() string { return "libzmq" }

var kinds = map[contract.Kind]zmq.Type{
	contract.Push: zmq.PUSH,
	contract.Pull: zmq.PULL,
	contract.Req:  zmq.REQ,
	contract.Rep:  zmq.REP,
}

// Open implements contract.Impl on a context of its own (libzmq's default of one I/O thread).
// libzmq's calls cannot be interrupted, so ctx is not used: the contract's watchdog ends a run
// that passes its deadline.
func (l *Impl) Open(_ context.Context, kind contract.Kind, a *contract.Args) (contract.Socket, error) {
	t, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("libzmq: no socket type for %v", kind)
	}
	if l.ctx == nil {
		c, err := zmq.NewContext()
		if err != nil {
			return nil, err
		}
		l.ctx = c
	}
	s, err := l.ctx.NewSocket(t)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (contract.Socket, error) {
		_ = s.SetLinger(0)
		_ = s.Close()
		return nil, err
	}
	if a.HWM >= 0 {
		if err := s.SetSndhwm(a.HWM); err != nil {
			return fail(err)
		}
		if err := s.SetRcvhwm(a.HWM); err != nil {
			return fail(err)
		}
	}
	if err := s.SetLinger(-1); err != nil {
		return fail(err)
	}
	if a.Curve {
		if err := curve(s, a.Bind); err != nil {
			return fail(err)
		}
	}
	k := &socket{s: s, frames: a.Check}
	if kind == contract.Push {
		// The monitor's PAIR must be connected before the first connection: libzmq drops events
		// that have nowhere to go.
		if err := k.monitor(l.ctx); err != nil {
			return fail(err)
		}
	}
	if a.Bind {
		err = s.Bind(a.Endpoint)
	} else {
		err = s.Connect(a.Endpoint)
	}
	if err != nil {
		k.closeMonitor()
		return fail(err)
	}
	return k, nil
}

// Shutdown implements contract.Impl: zmq_ctx_term, which waits for lingering sockets.
func (l *Impl) Shutdown() error {
	if l.ctx == nil {
		return nil
	}
	c := l.ctx
	l.ctx = nil
	return c.Term()
}

type socket struct {
	s *zmq.Socket
	// frames: check that each message has one frame. It costs a zmq_getsockopt (a cgo call)
	// per message, so it is done under --check only; zloop's check is free (Msg.Len).
	frames bool
	closed bool
	mon    *zmq.Socket // PAIR receiving the PUSH socket's monitor events
	peers  contract.PeerCount
}

// monitorPoll bounds each wait for a monitor event, so that WaitPeerGone notices ctx.
const monitorPoll = 50 * time.Millisecond

func (k *socket) monitor(c *zmq.Context) error {
	addr := fmt.Sprintf("inproc://bench-monitor-%p", k)
	if err := k.s.Monitor(addr, zmq.EVENT_HANDSHAKE_SUCCEEDED|zmq.EVENT_DISCONNECTED); err != nil {
		return err
	}
	m, err := c.NewSocket(zmq.PAIR)
	if err != nil {
		return err
	}
	k.mon = m
	if err := m.SetLinger(0); err != nil {
		return err
	}
	if err := m.SetRcvtimeo(monitorPoll); err != nil {
		return err
	}
	return m.Connect(addr)
}

func (k *socket) closeMonitor() {
	if k.mon != nil {
		_ = k.mon.Close()
		k.mon = nil
	}
}

func (k *socket) WaitPeerGone(ctx context.Context) error {
	if k.mon == nil {
		return fmt.Errorf("libzmq: WaitPeerGone needs the monitor of a PUSH socket")
	}
	for !k.peers.Gone() {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev, _, _, err := k.mon.RecvEvent(0)
		if err != nil {
			if zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN) {
				continue
			}
			return err
		}
		switch ev {
		case zmq.EVENT_HANDSHAKE_SUCCEEDED:
			k.peers.Handshake()
		case zmq.EVENT_DISCONNECTED:
			k.peers.Disconnected()
		}
	}
	return nil
}

func (k *socket) Send(_ context.Context, payload []byte) error {
	_, err := k.s.SendBytes(payload, 0)
	return err
}

func (k *socket) Recv(context.Context) ([]byte, error) {
	b, err := k.s.RecvBytes(0)
	if err != nil {
		return nil, err
	}
	if k.frames {
		if more, err := k.s.GetRcvmore(); err != nil {
			return nil, err
		} else if more {
			return nil, fmt.Errorf("%w: a message of more than one frame", contract.ErrCheck)
		}
	}
	return b, nil
}

func (k *socket) Echo(context.Context) (int, error) {
	b, err := k.s.RecvBytes(0)
	if err != nil {
		return 0, err
	}
	if _, err := k.s.SendBytes(b, 0); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (k *socket) Close(flush bool) error {
	if k.closed {
		return nil
	}
	k.closed = true
	k.closeMonitor()
	if !flush {
		_ = k.s.SetLinger(0)
	}
	return k.s.Close()
}

// curve makes s a CURVE server (binding) or client (connecting) with the contract's keys.
func curve(s *zmq.Socket, server bool) error {
	if server {
		if err := s.SetCurveServer(1); err != nil {
			return err
		}
		if err := s.SetCurvePublickey(contract.CurveServerPublic); err != nil {
			return err
		}
		return s.SetCurveSecretkey(contract.CurveServerSecret)
	}
	if err := s.SetCurveServerkey(contract.CurveServerPublic); err != nil {
		return err
	}
	if err := s.SetCurvePublickey(contract.CurveClientPublic); err != nil {
		return err
	}
	return s.SetCurveSecretkey(contract.CurveClientSecret)
}
