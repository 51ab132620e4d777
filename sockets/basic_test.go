package sockets

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/zloop/zloop/reactor"
)

func newReactor(t testing.TB) *reactor.Reactor {
	t.Helper()
	return newReactorWith(t, reactor.Config{Loops: 1})
}

func newReactorWith(t testing.TB, cfg reactor.Config) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A test that leaves messages lingering for a peer that never comes would make Close
		// wait forever, as zmq_ctx_term does: bound it, and say so.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
		if ctx.Err() != nil {
			t.Errorf("reactor shutdown had to drop lingering messages: give the test's sockets a LINGER")
		}
	})
	return r
}

// tcpPair binds a socket of type bt to a free TCP port and connects one of type ct to it.
func tcpPair(t testing.TB, r *reactor.Reactor, bt Type, bo []Option, ct Type, co []Option) (bound, conn *Socket) {
	t.Helper()
	bound = newSocket(t, r, bt, bo...)
	ep, err := bound.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	conn = newSocket(t, r, ct, co...)
	if err := conn.Connect(ep); err != nil {
		t.Fatal(err)
	}
	return bound, conn
}

func newSocket(t testing.TB, r *reactor.Reactor, typ Type, opts ...Option) *Socket {
	t.Helper()
	s, err := NewOn(r, typ, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPushPullTCP(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := push.Send(ctx, []byte(fmt.Sprintf("msg-%d", i)), []byte("second")); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 1000; i++ {
		msg, err := pull.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) != 2 || string(msg[0]) != fmt.Sprintf("msg-%d", i) || string(msg[1]) != "second" {
			t.Fatalf("message %d: got %q", i, msg)
		}
	}
}

func TestReqRepTCP(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	rep := newSocket(t, r, Rep)
	ep, err := rep.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	req := newSocket(t, r, Req)
	if err := req.Connect(ep); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 100; i++ {
			m, err := rep.Recv(ctx)
			if err != nil {
				done <- err
				return
			}
			if err := rep.Send(ctx, append([]byte("re:"), m[0]...)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 100; i++ {
		body := []byte(fmt.Sprintf("q%d", i))
		if err := req.Send(ctx, body); err != nil {
			t.Fatal(err)
		}
		if err := req.Send(ctx, body); err == nil {
			t.Fatal("second send on REQ succeeded")
		}
		m, err := req.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 || !bytes.Equal(m[0], append([]byte("re:"), body...)) {
			t.Fatalf("reply %q", m)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
