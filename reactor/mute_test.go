//go:build !poll_opt

package reactor

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// onLoop runs f on l's loop and waits for it.
func onLoop(t *testing.T, l *loop, f func()) {
	t.Helper()
	done := make(chan struct{})
	err := l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		f()
		close(done)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not run a task")
	}
}

func testLoops(t *testing.T, r *Reactor) []*loop {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var ls []*loop
	for _, l := range r.loops {
		ls = append(ls, l)
	}
	if len(ls) != len(r.wakers) {
		t.Fatalf("%d loops for %d wakers", len(ls), len(r.wakers))
	}
	return ls
}

// Muting reaches into gnet's unexported poller (mute_linux.go, mute_kqueue.go). A gnet upgrade that
// renames or reshapes it makes every loop fall back to detaching, which still works but costs a
// goroutine and some twenty allocations per pause: this test is what notices. On every loop it
// finds the poller's descriptor, mutes the loop's own waker in it, and checks that a wake-up is then
// not delivered (gnet runs a task of its own after polling, and the waker's byte was ready before
// that poll) and is delivered once unmuted.
func TestMuteFindsPoller(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("gnet has no poller on Windows: nothing is muted there (mute_other.go)")
	}
	r, err := New(Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, l := range testLoops(t, r) {
		var ep int
		onLoop(t, l, func() { ep = l.muter() })
		if ep < 0 {
			t.Fatalf("loop %d: gnet's poller descriptor not found (gnet upgraded?): muting falls back to detaching", i)
		}
		var muteErr error
		onLoop(t, l, func() { muteErr = mute(ep, l.w.gfd) })
		if muteErr != nil {
			t.Fatalf("loop %d: mute: %v", i, muteErr)
		}
		l.w.post(nil, taskTick)
		for range 3 {
			onLoop(t, l, func() {})
		}
		if woken := !wakePending(l.w); woken {
			t.Fatalf("loop %d: the muted waker was read", i)
		}
		onLoop(t, l, func() { muteErr = unmute(ep, l.w.gfd, false) })
		if muteErr != nil {
			t.Fatalf("loop %d: unmute: %v", i, muteErr)
		}
		deadline := time.Now().Add(10 * time.Second)
		for wakePending(l.w) {
			if time.Now().After(deadline) {
				t.Fatalf("loop %d: the unmuted waker was never read", i)
			}
			time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
		}
	}
}

func wakePending(w *waker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

// portablePause turns muting off, so that tests can run the detaching fallback.
func TestPortablePauseDoesNotMute(t *testing.T) {
	r, err := New(Config{Loops: 1, portablePause: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, l := range testLoops(t, r) {
		var ep int
		onLoop(t, l, func() { ep = l.muter() })
		if ep != -1 {
			t.Fatalf("muter() = %d with portablePause", ep)
		}
	}
}
