package reactor

import (
	"sync/atomic"
	"testing"
)

// loopEcho is a LoopOwner that echoes every message from inside PipeReadable with TrySendLoop,
// and checks that doing so posted nothing to the loop's waker: the reply waits in the pipe for the
// drain at the end of the read.
type loopEcho struct {
	*testOwner
	echoed, refused, posted atomic.Int64
}

func (o *loopEcho) HandlesOnLoop() {}

func (o *loopEcho) PipeReadable(p *Pipe) {
	for m := p.TryRecv(); m != nil; m = p.TryRecv() {
		if !p.TrySendLoop(m) {
			m.Release()
			o.refused.Add(1)
			continue
		}
		o.echoed.Add(1)
		// On the loop: p.conn is this loop's connection, written only here.
		w := p.conn.loop.w
		w.mu.Lock()
		for _, t := range w.tasks {
			if t.kind == taskDrain && t.c == p.conn {
				o.posted.Add(1)
			}
		}
		w.mu.Unlock()
	}
}

// TestTrySendLoop: a LoopOwner's replies made during PipeReadable reach the peer, over each framer,
// with no drain posted to the loop for them; TrySendLoop from another goroutine is an ordinary
// queued send.
func TestTrySendLoop(t *testing.T) {
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			echo := &loopEcho{testOwner: newOwner(t, "echo")}
			l, err := r.Listen(bindAddr(tr), testOptions("ROUTER"), echo)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			co := newOwner(t, "dealer")
			d := connect(t, r, l.Endpoint(), testOptions("DEALER"), co)
			cp := co.waitAttached(t)
			if cp != d.Pipe() {
				t.Fatal("dialer attached another pipe")
			}
			bp := echo.waitAttached(t)
			const n = 200
			for i := 0; i < n; i++ {
				send(t, co, cp, seqMsg(uint64(i), 32))
			}
			for i := 0; i < n; i++ {
				got := recv(t, co, cp)
				if err := checkSeq(got[0], uint64(i), 32); err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
			}
			if echo.echoed.Load() != n || echo.refused.Load() != 0 {
				t.Fatalf("echoed %d, refused %d, want %d and 0", echo.echoed.Load(), echo.refused.Load(), n)
			}
			if k := echo.posted.Load(); k != 0 {
				t.Fatalf("%d replies made on the loop posted a drain to it", k)
			}
			// Off the loop, it is a queued send that wakes the loop.
			if !bp.TrySendLoop(newMsg([]byte("from outside"))) {
				t.Fatal("TrySendLoop off the loop refused")
			}
			if got := recv(t, co, cp); string(got[0]) != "from outside" {
				t.Fatalf("got %q", got)
			}
		})
	}
}
