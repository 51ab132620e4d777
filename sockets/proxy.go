package sockets

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zloop/zloop/pool"
)

// ProxySide counts what went through one socket of a proxy (a multipart message counts once, its
// bytes are those of all its frames), as libzmq's zmq_proxy_steerable STATISTICS reply does.
type ProxySide struct {
	MsgsIn, BytesIn, MsgsOut, BytesOut uint64
}

// ProxyStats is the reply to a STATISTICS command: frontend then backend.
type ProxyStats struct {
	Frontend, Backend ProxySide
}

// ParseProxyStats decodes a STATISTICS reply: eight frames of one uint64 each, in libzmq's order
// (frontend in, frontend bytes in, frontend out, frontend bytes out, then the same for the
// backend) and in host byte order, which is little-endian on every platform zloop runs on.
func ParseProxyStats(frames [][]byte) (ProxyStats, error) {
	var v [8]uint64
	if len(frames) != len(v) {
		return ProxyStats{}, fmt.Errorf("%w: STATISTICS reply has %d frames, want 8", ErrInvalid, len(frames))
	}
	for i, f := range frames {
		if len(f) != 8 {
			return ProxyStats{}, fmt.Errorf("%w: STATISTICS frame %d has %d bytes, want 8", ErrInvalid, i, len(f))
		}
		v[i] = binary.LittleEndian.Uint64(f)
	}
	return ProxyStats{
		Frontend: ProxySide{v[0], v[1], v[2], v[3]},
		Backend:  ProxySide{v[4], v[5], v[6], v[7]},
	}, nil
}

// AppendFrames appends the STATISTICS reply frames of st to dst.
func (st ProxyStats) AppendFrames(dst [][]byte) [][]byte {
	for _, v := range [8]uint64{
		st.Frontend.MsgsIn, st.Frontend.BytesIn, st.Frontend.MsgsOut, st.Frontend.BytesOut,
		st.Backend.MsgsIn, st.Backend.BytesIn, st.Backend.MsgsOut, st.Backend.BytesOut,
	} {
		dst = append(dst, binary.LittleEndian.AppendUint64(nil, v))
	}
	return dst
}

// Proxy connects frontend and backend, like zmq_proxy: every message received on one is sent on
// the other, in both directions where the socket types allow it (a PULL frontend and PUSH backend
// go one way; ROUTER and DEALER, or XSUB and XPUB, both ways). When capture is not nil, a copy of
// every forwarded message is sent to it first. Each direction runs on a goroutine of its own;
// Proxy returns when ctx ends (ctx.Err()) or when a socket fails (that error, ErrClosed when it
// was closed). The sockets stay open: closing them is the caller's job. Sending blocks as Send
// does, so a full backend slows the frontend's readers, as in libzmq.
func Proxy(ctx context.Context, frontend, backend, capture *Socket) error {
	return ProxySteerable(ctx, frontend, backend, capture, nil)
}

// ProxySteerable is Proxy with a control socket, like zmq_proxy_steerable: a message whose first
// frame is PAUSE stops forwarding (messages wait in the sockets, then in the peers, as HWM
// says), RESUME restarts it, TERMINATE makes ProxySteerable return nil, and STATISTICS is answered
// on control with the eight counters (see ParseProxyStats). A REP control socket gets an empty
// reply to the other commands, as libzmq 4.3.5 gives; other types get none. Unknown commands
// are ignored (answered empty on REP) where libzmq would abort.
func ProxySteerable(ctx context.Context, frontend, backend, capture, control *Socket) error {
	if frontend == nil || backend == nil {
		return fmt.Errorf("%w: proxy needs a frontend and a backend", ErrInvalid)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	px := &proxy{capture: capture}
	var wg sync.WaitGroup
	var once sync.Once
	var first error // the error that stopped the proxy
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(ctx)
			once.Do(func() { first = err })
			cancel()
		}()
	}
	started := 0
	if canRecv(frontend.typ) && canSend(backend.typ) {
		run(func(ctx context.Context) error {
			return px.forward(ctx, frontend, backend, &px.stats[0], &px.stats[1])
		})
		started++
	}
	if canRecv(backend.typ) && canSend(frontend.typ) {
		run(func(ctx context.Context) error {
			return px.forward(ctx, backend, frontend, &px.stats[1], &px.stats[0])
		})
		started++
	}
	if started == 0 {
		return fmt.Errorf("%w: no direction of a proxy from %v to %v", ErrNotSupported, frontend.typ, backend.typ)
	}
	if control != nil {
		run(func(ctx context.Context) error { return px.steer(ctx, control) })
	}
	<-ctx.Done()
	wg.Wait()
	switch {
	case px.terminated.Load():
		return nil
	case parent.Err() != nil:
		return parent.Err()
	}
	return first
}

func canRecv(t Type) bool { return t != Push && t != Pub }
func canSend(t Type) bool { return t != Pull && t != Sub }

type sideCounters struct {
	msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64
}

type proxy struct {
	capture    *Socket
	stats      [2]sideCounters // frontend, backend
	terminated atomic.Bool

	mu     sync.Mutex
	paused chan struct{} // non-nil while paused; closed by RESUME
}

// gate waits while the proxy is paused.
func (px *proxy) gate(ctx context.Context) error {
	px.mu.Lock()
	ch := px.paused
	px.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (px *proxy) forward(ctx context.Context, from, to *Socket, in, out *sideCounters) error {
	for {
		if err := px.gate(ctx); err != nil {
			return err
		}
		m, err := from.RecvMsg(ctx)
		if err != nil {
			return err
		}
		size := uint64(m.Size())
		in.msgsIn.Add(1)
		in.bytesIn.Add(size)
		// A message taken just before a PAUSE waits too, so nothing moves while paused.
		if err := px.gate(ctx); err != nil {
			m.Release()
			return err
		}
		if px.capture != nil {
			c := m.Share()
			if err := px.capture.SendMsg(ctx, c); err != nil {
				c.Release()
				m.Release()
				return err
			}
		}
		// Counted before the send returns, so that a peer that got the message never sees a
		// STATISTICS reply without it; a failed send stops the proxy anyway.
		out.msgsOut.Add(1)
		out.bytesOut.Add(size)
		if err := to.SendMsg(ctx, m); err != nil {
			m.Release()
			return err
		}
	}
}

func (px *proxy) snapshot() ProxyStats {
	side := func(c *sideCounters) ProxySide {
		return ProxySide{c.msgsIn.Load(), c.bytesIn.Load(), c.msgsOut.Load(), c.bytesOut.Load()}
	}
	return ProxyStats{Frontend: side(&px.stats[0]), Backend: side(&px.stats[1])}
}

func (px *proxy) steer(ctx context.Context, control *Socket) error {
	for {
		m, err := control.RecvMsg(ctx)
		if err != nil {
			return err
		}
		cmd := ""
		if m.Len() > 0 {
			cmd = string(m.Frame(0))
		}
		m.Release()
		var reply *pool.Msg
		if control.typ == Rep {
			reply = pool.NewMsg()
			reply.AppendFrame(nil)
		}
		switch cmd {
		case "PAUSE":
			px.mu.Lock()
			if px.paused == nil {
				px.paused = make(chan struct{})
			}
			px.mu.Unlock()
		case "RESUME":
			px.mu.Lock()
			if px.paused != nil {
				close(px.paused)
				px.paused = nil
			}
			px.mu.Unlock()
		case "TERMINATE":
			px.terminated.Store(true)
		case "STATISTICS":
			if reply == nil {
				reply = pool.NewMsg()
			}
			reply.Reset()
			for _, f := range px.snapshot().AppendFrames(nil) {
				reply.AppendFrame(f)
			}
		}
		if reply != nil {
			if err := control.SendMsg(ctx, reply); err != nil {
				reply.Release()
				if px.terminated.Load() {
					return nil
				}
				return err
			}
		}
		if px.terminated.Load() {
			return nil
		}
	}
}
