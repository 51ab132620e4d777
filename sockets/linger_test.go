package sockets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/reactor"
)

// LINGER and termination, as zmq_close and zmq_ctx_term: what a closed socket queued is delivered
// while it lingers, whether or not its connection is up at Close, and Shutdown makes every
// blocked call fail with ErrTerminated.

// shutdownAsync runs r.Shutdown(ctx) on a goroutine and returns its result channel.
func shutdownAsync(ctx context.Context, r *reactor.Reactor) <-chan error {
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(ctx) }()
	return done
}

// recvSeq receives n messages and checks they are "0".."n-1" in order.
func recvSeq(t *testing.T, s *Socket, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		m, err := s.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, n, err)
		}
		if got, want := string(m[0]), fmt.Sprint(i); got != want {
			t.Fatalf("message %d: got %q, want %q", i, got, want)
		}
	}
}

func sendSeq(t *testing.T, s *Socket, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := s.Send(context.Background(), []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

func freeEndpoint(t *testing.T, transport string) string {
	t.Helper()
	switch transport {
	case "ipc":
		return "ipc://" + t.TempDir() + "/s"
	case "inproc":
		return fmt.Sprintf("inproc://linger-%d", ipcSeq.Add(1))
	case "tcp", "ws":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if transport == "ws" {
			return "ws://" + addr + "/zmq"
		}
		return "tcp://" + addr
	}
	t.Fatalf("transport %s", transport)
	return ""
}

// The first report: a PUSH connects, sends 1,000 messages at once, closes and terminates;
// the PULL that binds (here, only afterwards) gets all of them.
func TestLingerDeliversToPeerThatAppearsLater(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "ws", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			ep := freeEndpoint(t, tr)
			rs := newReactor(t)
			push := newSocket(t, rs, Push, WithReconnectIvl(5*time.Millisecond, 5*time.Millisecond))
			if err := push.Connect(ep); err != nil {
				t.Fatal(err)
			}
			sendSeq(t, push, 1000)
			if err := push.Close(); err != nil {
				t.Fatal(err)
			}
			if tr == "inproc" {
				// inproc names live in one reactor: the bind comes after Close, before Shutdown.
				pull := newSocket(t, rs, Pull)
				if _, err := pull.Bind(ep); err != nil {
					t.Fatal(err)
				}
				recvSeq(t, pull, 1000)
				return
			}
			done := shutdownAsync(context.Background(), rs)

			rr := newReactor(t)
			pull := newSocket(t, rr, Pull)
			if _, err := pull.Bind(ep); err != nil {
				t.Fatal(err)
			}
			recvSeq(t, pull, 1000)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An inproc connection lingering for a bind that never comes is dropped at its LINGER, and the
// monitor says so.
func TestLingerInprocWithoutBind(t *testing.T) {
	r := newReactor(t)
	push := newSocket(t, r, Push, WithLinger(20*time.Millisecond))
	events := push.Monitor(16)
	if err := push.Connect("inproc://linger-nobody"); err != nil {
		t.Fatal(err)
	}
	sendSeq(t, push, 3)
	_ = push.Close()
	e := waitEvent(t, events, func(e reactor.Event) bool { return errors.Is(e.Err, ErrLingerExpired) })
	if e.Type != reactor.EventClosed || !strings.Contains(e.Err.Error(), "3 messages") {
		t.Fatalf("drop event %v", e)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A connection in its handshake when the socket closes lingers from its handshake's end on: a
// relay holds the connection silent until after Close, then joins it to the PULL.
func TestLingerDeliversAfterHandshakeInProgress(t *testing.T) {
	rr := newReactor(t)
	pull := newSocket(t, rr, Pull)
	target, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()

	rs := newReactor(t)
	push := newSocket(t, rs, Push)
	if err := push.Connect("tcp://" + ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	var front net.Conn
	select {
	case front = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the PUSH did not connect")
	}
	defer front.Close()
	sendSeq(t, push, 100)
	_ = push.Close()
	done := shutdownAsync(context.Background(), rs)

	back, err := net.Dial("tcp", strings.TrimPrefix(target, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(back, front); _ = back.(*net.TCPConn).CloseWrite() }()
	go func() { defer wg.Done(); _, _ = io.Copy(front, back); _ = front.(*net.TCPConn).CloseWrite() }()
	recvSeq(t, pull, 100)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = front.Close()
	_ = back.Close()
	wg.Wait()
}

// LINGER 0 drops at once: Shutdown does not wait for a peer that will never come.
func TestLingerZeroDrops(t *testing.T) {
	ep := freeEndpoint(t, "tcp")
	rs := newReactor(t)
	push := newSocket(t, rs, Push, WithLinger(0))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	sendSeq(t, push, 10)
	_ = push.Close()
	if err := rs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A bounded LINGER ends by itself, and the monitor says what was dropped.
func TestLingerBoundedThenDropped(t *testing.T) {
	ep := freeEndpoint(t, "tcp")
	rs := newReactor(t)
	push := newSocket(t, rs, Push, WithLinger(50*time.Millisecond), WithReconnectIvl(5*time.Millisecond, 5*time.Millisecond))
	events := push.Monitor(256)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	sendSeq(t, push, 10)
	_ = push.Close()
	if err := rs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e reactor.Event) bool { return errors.Is(e.Err, ErrLingerExpired) })
	if e.Type != reactor.EventClosed || !strings.Contains(e.Err.Error(), "10 messages") {
		t.Fatalf("drop event %v", e)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventMonitorStopped })
}

// An infinite LINGER waits until the user's context for Shutdown ends; then it drops, and a
// connected peer that never reads gets its connection closed.
func TestLingerInfiniteBoundedByShutdownContext(t *testing.T) {
	for _, connected := range []bool{false, true} {
		t.Run(fmt.Sprintf("connected=%v", connected), func(t *testing.T) {
			ep := freeEndpoint(t, "tcp")
			rs := newReactor(t)
			push := newSocket(t, rs, Push, WithSndHWM(0), WithReconnectIvl(5*time.Millisecond, 5*time.Millisecond))
			events := push.Monitor(4096)
			if connected {
				// A peer that completes the handshake and never reads: the PUSH fills the kernel.
				ln, err := net.Listen("tcp", strings.TrimPrefix(ep, "tcp://"))
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				go func() {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					p := zmtptest.New(c, "PULL")
					_ = p.Handshake(10 * time.Second)
					<-t.Context().Done()
				}()
			}
			if err := push.Connect(ep); err != nil {
				t.Fatal(err)
			}
			if connected {
				waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
			}
			big := make([]byte, 64<<10)
			for i := 0; i < 200; i++ {
				if err := push.Send(context.Background(), big); err != nil {
					t.Fatal(err)
				}
			}
			_ = push.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := rs.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			e := waitEvent(t, events, func(e reactor.Event) bool { return errors.Is(e.Err, ErrLingerExpired) })
			want := reactor.EventClosed
			if connected {
				want = reactor.EventDisconnected
			}
			if e.Type != want {
				t.Fatalf("drop event %v, want %v", e, want)
			}
		})
	}
}

// zmq_ctx_term: calls blocked in other goroutines return ErrTerminated, later calls too, and the
// reactor refuses new sockets.
func TestShutdownTerminatesBlockedCalls(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull)
	if _, err := pull.Bind("tcp://127.0.0.1:*"); err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push) // no peer: Send blocks
	rep := newSocket(t, r, Rep)
	poller := NewPoller()
	defer poller.Close()
	if err := poller.Add(rep, PollIn); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	go func() { _, err := pull.Recv(context.Background()); errs <- err }()
	go func() { errs <- push.Send(context.Background(), []byte("x")) }()
	go func() { _, err := poller.Wait(context.Background()); errs <- err }()
	// Give the three calls a chance to block; the result does not depend on it.
	waitFor(t, "blocked callers", func() bool {
		pull.mu.Lock()
		push.mu.Lock()
		ok := pull.rcvWaiters == 1 && push.sndWaiters == 1
		push.mu.Unlock()
		pull.mu.Unlock()
		return ok
	})
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; !errors.Is(err, ErrTerminated) || !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked call returned %v, want ErrTerminated", err)
		}
	}
	if err := push.Send(context.Background(), []byte("y")); !errors.Is(err, ErrTerminated) {
		t.Fatalf("Send after termination: %v", err)
	}
	if _, err := pull.Recv(context.Background()); !errors.Is(err, ErrTerminated) {
		t.Fatalf("Recv after termination: %v", err)
	}
	if err := pull.Close(); err != nil {
		t.Fatalf("Close after termination: %v", err)
	}
	if _, err := NewOn(r, Pull); !errors.Is(err, ErrTerminated) {
		t.Fatalf("NewOn after termination: %v", err)
	}
}

// A socket closed by the user before Shutdown says ErrClosed, not ErrTerminated.
func TestClosedBeforeShutdownSaysClosed(t *testing.T) {
	r := newReactor(t)
	s := newSocket(t, r, Pull)
	_ = s.Close()
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(context.Background()); !errors.Is(err, ErrClosed) || errors.Is(err, ErrTerminated) {
		t.Fatalf("Recv: %v", err)
	}
}
