package sockets

// Interoperability with libzmq 4.3 (Debian's, through pyzmq on /usr/bin/python3): every pattern of
// this package, zloop on either side, either side binding, over tcp and ipc.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
)

var frameSizes = []int{0, 1, 255, 256, 70000}

func frameOf(size int, tag byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = tag + byte(i*7)
	}
	return b
}

// testMessages are one single-frame message per size and one multipart message of every size.
func testMessages() [][][]byte {
	var msgs [][][]byte
	for i, n := range frameSizes {
		msgs = append(msgs, [][]byte{frameOf(n, byte(i))})
	}
	var multi [][]byte
	for i, n := range frameSizes {
		multi = append(multi, frameOf(n, byte(100+i)))
	}
	return append(msgs, multi)
}

func sameMsg(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

var ipcSeq atomic.Int64

func bindEndpoint(t *testing.T, transport string) string {
	switch transport {
	case "ipc":
		return fmt.Sprintf("ipc://%s", filepath.Join(t.TempDir(), fmt.Sprintf("s%d.sock", ipcSeq.Add(1))))
	case "ws":
		return "ws://127.0.0.1:*/zmq"
	}
	return "tcp://127.0.0.1:*"
}

// linkOpts sets up zloop socket z (type zt, with opts) and libzmq peer l (type lt), one binding and
// the other connecting, and returns them once connected. setup, if not nil, configures the libzmq
// peer before either side binds or connects.
func linkOpts(t *testing.T, zt Type, lt string, zloopBinds bool, transport string, opts []Option,
	setup func(*testpeer.Peer)) (*Socket, *testpeer.Peer) {
	t.Helper()
	r := newReactor(t)
	z := newSocket(t, r, zt, append([]Option{WithLinger(time.Second)}, opts...)...)
	l := testpeer.Start(t, lt)
	if setup != nil {
		setup(l)
	}
	ep := bindEndpoint(t, transport)
	if zloopBinds {
		got, err := z.Bind(ep)
		if err != nil {
			t.Fatal(err)
		}
		l.Connect(got)
	} else {
		got := l.Bind(ep)
		if err := z.Connect(got); err != nil {
			t.Fatal(err)
		}
	}
	return z, l
}

func TestInteropMatrix(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	type pair struct{ zloop, libzmq Type }
	// Every compatible pair of rfc 28-31, zloop on either side.
	pairs := []pair{
		{Push, Pull}, {Pull, Push}, {Pair, Pair},
		{Req, Rep}, {Rep, Req}, {Req, Router}, {Router, Req},
		{Dealer, Rep}, {Rep, Dealer}, {Dealer, Router}, {Router, Dealer},
		{Dealer, Dealer}, {Router, Router},
		{Pub, Sub}, {Sub, Pub}, {Pub, XSub}, {XSub, Pub},
		{XPub, Sub}, {Sub, XPub}, {XPub, XSub}, {XSub, XPub},
	}
	for _, pr := range pairs {
		for _, transport := range []string{"tcp", "ipc", "ws"} {
			for _, zloopBinds := range []bool{true, false} {
				who := "libzmq binds"
				if zloopBinds {
					who = "zloop binds"
				}
				name := fmt.Sprintf("zloop %v to libzmq %v over %s, %s", pr.zloop, pr.libzmq, transport, who)
				t.Run(name, func(t *testing.T) {
					var opts []Option
					if pr.zloop == Router && pr.libzmq == Router {
						opts = append(opts, WithRoutingID([]byte("zloop")), WithRouterMandatory(true))
					}
					z, l := linkOpts(t, pr.zloop, pr.libzmq.String(), zloopBinds, transport, opts, func(l *testpeer.Peer) {
						if pr.libzmq == Router && pr.zloop == Router {
							l.SetBytes("ROUTING_ID", []byte("libzmq"))
						}
					})
					switch pr.zloop {
					case Push, Pull, Pair, Req, Rep:
						if pr.libzmq != Router && pr.libzmq != Dealer {
							exchange(t, z, l, pr.zloop)
							// Round trips leave the connection idle before each send, so those
							// frames went out as direct writes of the sender, and libzmq took them.
							if (pr.zloop == Req || pr.zloop == Rep) && z.Stats().SenderWrites == 0 {
								t.Fatal("no direct write in a round trip")
							}
							return
						}
					}
					exchangePattern(t, z, l, pr.zloop, pr.libzmq)
				})
			}
		}
	}
}

func exchange(t *testing.T, z *Socket, l *testpeer.Peer, zt Type) {
	exchangeMsgs(t, z, l, zt, testMessages())
}

func exchangeMsgs(t *testing.T, z *Socket, l *testpeer.Peer, zt Type, msgs [][][]byte) {
	ctx := testCtx(t)
	const wait = 20 * time.Second
	switch zt {
	case Push, Pair:
		for _, m := range msgs {
			if err := z.Send(ctx, m...); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.RecvN(len(msgs), wait)
		if err != nil {
			t.Fatal(err)
		}
		for i := range msgs {
			if !sameMsg(got[i], msgs[i]) {
				t.Fatalf("libzmq received message %d wrong: %d frames", i, len(got[i]))
			}
		}
		if zt == Push {
			return
		}
		fallthrough
	case Pull:
		for _, m := range msgs {
			l.Send(m...)
		}
		for i, want := range msgs {
			got, err := z.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMsg(got, want) {
				t.Fatalf("zloop received message %d wrong: %d frames", i, len(got))
			}
		}
	case Req:
		for i, m := range msgs {
			if err := z.Send(ctx, m...); err != nil {
				t.Fatal(err)
			}
			req, err := l.Recv(wait)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMsg(req, m) {
				t.Fatalf("libzmq REP got request %d wrong", i)
			}
			l.Send(append([][]byte{[]byte("re")}, req...)...)
			rep, err := z.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMsg(rep, append([][]byte{[]byte("re")}, m...)) {
				t.Fatalf("reply %d wrong", i)
			}
		}
	case Rep:
		done := make(chan error, 1)
		go func() {
			for range msgs {
				req, err := z.Recv(ctx)
				if err != nil {
					done <- err
					return
				}
				if err := z.Send(ctx, append([][]byte{[]byte("re")}, req...)...); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for i, m := range msgs {
			l.Send(m...)
			rep, err := l.Recv(wait)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMsg(rep, append([][]byte{[]byte("re")}, m...)) {
				t.Fatalf("reply %d wrong", i)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A libzmq peer that dies mid-stream and is restarted on the same endpoint is reconnected to, and
// traffic resumes.
func TestInteropPeerRestart(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	push := newSocket(t, r, Push, WithLinger(0), WithReconnectIvl(20*time.Millisecond, 0))
	first := testpeer.Start(t, "PULL")
	ep := first.Bind("tcp://127.0.0.1:*")
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	sendErr := make(chan error, 1)
	go func() {
		// Keep a steady stream going across the restart.
		for i := 0; ; i++ {
			if err := push.Send(ctx, []byte(fmt.Sprintf("m%d", i))); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	if _, err := first.RecvN(100, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	first.Kill()
	second := testpeer.Start(t, "PULL")
	if got := second.Bind(ep); got != ep {
		t.Fatalf("rebound at %s, want %s", got, ep)
	}
	if _, err := second.RecvN(100, 20*time.Second); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	cancel()
	if err := <-sendErr; err != context.Canceled {
		t.Fatal(err)
	}
}

// zloop binding: a libzmq PUSH that dies and a new one that connects are both served.
func TestInteropConnectingPeerRestart(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		l := testpeer.Start(t, "PUSH")
		l.Connect(ep)
		want := []byte(fmt.Sprintf("round %d", round))
		l.Send(want)
		got, err := pull.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[0], want) {
			t.Fatalf("got %q, want %q", got[0], want)
		}
		l.Kill()
	}
}
