// Package zloopbench adapts zloop to the bench contract through its pooled path: a fresh
// pool.NewMsg per sent message handed to SendMsg, and RecvMsg/Release on receipt.
package zloopbench

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/zloop/zloop/bench/internal/benchtls"
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

// Impl is the zloop implementation. Its zero value is ready; one Impl serves one run.
type Impl struct {
	r *reactor.Reactor
}

// Name implements contract.Impl.
func (*Impl) Name() string { return "zloop" }

var kinds = map[contract.Kind]sockets.Type{
	contract.Push: sockets.Push,
	contract.Pull: sockets.Pull,
	contract.Req:  sockets.Req,
	contract.Rep:  sockets.Rep,
}

// Open implements contract.Impl on a reactor of its own with the library's default loop count.
func (z *Impl) Open(_ context.Context, kind contract.Kind, a *contract.Args) (contract.Socket, error) {
	t, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("zloop: no socket type for %v", kind)
	}
	if z.r == nil {
		r, err := reactor.New(reactor.Config{})
		if err != nil {
			return nil, err
		}
		z.r = r
	}
	opts := []sockets.Option{sockets.WithLinger(-1)}
	if a.HWM >= 0 {
		opts = append(opts, sockets.WithHWM(a.HWM))
	}
	if benchtls.Secure(a.Endpoint) {
		cfg, err := benchtls.Config(a.Bind)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sockets.WithTLS(cfg))
	}
	if a.Curve && a.Bind {
		opts = append(opts, sockets.WithCurveServer(true), sockets.WithCurveSecretKey(contract.CurveServerSecret))
	} else if a.Curve {
		opts = append(opts, sockets.WithCurveServerKey(contract.CurveServerPublic),
			sockets.WithCurveSecretKey(contract.CurveClientSecret))
	}
	s, err := sockets.NewOn(z.r, t, opts...)
	if err != nil {
		return nil, err
	}
	k := &socket{s: s}
	if kind == contract.Push {
		k.events = s.Monitor(64) // before the first connection, so that no handshake is missed
	}
	if a.Bind {
		_, err = s.Bind(a.Endpoint)
	} else {
		err = s.Connect(a.Endpoint)
	}
	if err != nil {
		_ = s.SetOptions(sockets.WithLinger(0))
		_ = s.Close()
		return nil, err
	}
	return k, nil
}

// Shutdown implements contract.Impl.
func (z *Impl) Shutdown() error {
	if z.r == nil {
		return nil
	}
	r := z.r
	z.r = nil
	return r.Close()
}

type socket struct {
	s      *sockets.Socket
	last   *pool.Msg // the message whose frame Recv returned last
	events <-chan reactor.Event
	peers  contract.PeerCount
}

func (k *socket) WaitPeerGone(ctx context.Context) error {
	if k.events == nil {
		return fmt.Errorf("zloop: WaitPeerGone needs the monitor of a PUSH socket")
	}
	for !k.peers.Gone() {
		select {
		case e, ok := <-k.events:
			if !ok {
				return sockets.ErrClosed
			}
			switch e.Type {
			case reactor.EventHandshakeSucceeded:
				k.peers.Handshake()
			case reactor.EventDisconnected:
				k.peers.Disconnected()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (k *socket) Send(ctx context.Context, payload []byte) error {
	m := pool.NewMsg()
	m.AppendFrame(payload)
	if err := k.s.SendMsg(ctx, m); err != nil {
		m.Release()
		return err
	}
	return nil
}

// SendFilled implements contract.Filler: the body is reserved at its size in the message and
// sent without a copy.
func (k *socket) SendFilled(ctx context.Context, size int, seq uint64, check bool) error {
	m := pool.NewMsg()
	m.ReserveFrame(size)
	b := m.Spare()[:size]
	if check {
		binary.LittleEndian.PutUint64(b, seq)
	}
	m.Extend(b)
	if err := k.s.SendMsg(ctx, m); err != nil {
		m.Release()
		return err
	}
	return nil
}

func (k *socket) Recv(ctx context.Context) ([]byte, error) {
	if k.last != nil {
		k.last.Release()
		k.last = nil
	}
	m, err := k.s.RecvMsg(ctx)
	if err != nil {
		return nil, err
	}
	k.last = m
	if n := m.Len(); n != 1 {
		return nil, fmt.Errorf("%w: a message of %d frames", contract.ErrCheck, n)
	}
	return m.Frame(0), nil
}

func (k *socket) Echo(ctx context.Context) (int, error) {
	m, err := k.s.RecvMsg(ctx)
	if err != nil {
		return 0, err
	}
	n := m.Size()
	if err := k.s.SendMsg(ctx, m); err != nil {
		m.Release()
		return 0, err
	}
	return n, nil
}

func (k *socket) Close(flush bool) error {
	if k.last != nil {
		k.last.Release()
		k.last = nil
	}
	if !flush {
		_ = k.s.SetOptions(sockets.WithLinger(0))
	}
	return k.s.Close()
}
