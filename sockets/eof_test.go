package sockets

import (
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
)

// A peer that sends more than the receiver's HWM and closes at once: everything it sent before
// closing is still delivered, in order, although the connection was paused when the EOF came.
// Over ipc the peer's close raises EPOLLHUP, which epoll reports even for a muted descriptor and
// on which gnet closes without reading: what the kernel still holds must not be lost with it.
func TestEOFWhilePausedDeliversAll(t *testing.T) {
	for _, mode := range pauseModes {
		for _, ep := range []string{"tcp://127.0.0.1:*", "ipc://*"} {
			t.Run(mode.name+"/"+ep[:3], func(t *testing.T) { testEOFWhilePaused(t, mode.cfg, ep) })
		}
	}
}

func testEOFWhilePaused(t *testing.T, cfg reactor.Config, bind string) {
	r := newReactorWith(t, cfg)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithRcvHWM(10))
	ep, err := pull.Bind(bind)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	peer := rawDial(t, ep, "PUSH")
	var batch []byte
	for i := 0; i < n; i++ {
		batch = append(batch, 0, 8)
		batch = append(batch, seqMsg(uint64(i), 8)...)
	}
	if _, err := peer.Conn.Write(batch); err != nil {
		t.Fatal(err)
	}
	_ = peer.Conn.Close()
	for i := 0; i < n; i++ {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := checkSeq(m[0], uint64(i), 8); err != nil {
			t.Fatal(err)
		}
	}
	checkPauses(t, r, cfg, false)
}

// The same with libzmq as the sender: it closes with linger right after sending.
func TestInteropEOFWhilePaused(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	// tcp only: over ipc the kernel takes little of libzmq's many small writes once we stop reading,
	// so libzmq still holds most of it when its linger runs out, and drops it (as it does towards a
	// paused libzmq receiver). The raw peer of TestEOFWhilePausedDeliversAll covers ipc.
	for _, mode := range pauseModes {
		t.Run(mode.name, func(t *testing.T) { testInteropEOFWhilePaused(t, mode.cfg) })
	}
}

func testInteropEOFWhilePaused(t *testing.T, cfg reactor.Config) {
	r := newReactorWith(t, cfg)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithRcvHWM(10))
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	l := testpeer.Start(t, "PUSH")
	l.SetInt("SNDHWM", 0)
	l.Connect(ep)
	l.SendN(n, []byte("payload"))
	l.Close()
	for i := 0; i < n; i++ {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, n, err)
		}
		if string(m[0]) != "payload" {
			t.Fatalf("message %d: %q", i, m[0])
		}
	}
	if _, err := pull.Recv(withTimeout(t, 50*time.Millisecond)); err == nil {
		t.Fatal("more messages than were sent")
	}
	checkPauses(t, r, cfg, false)
}
