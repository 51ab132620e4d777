package sockets

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

func waitPolled(t *testing.T, p *Poller) []Polled {
	t.Helper()
	got, err := p.Wait(withTimeout(t, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func has(got []Polled, s *Socket, ev Events) bool {
	for _, g := range got {
		if g.Socket == s && g.Events&ev == ev {
			return true
		}
	}
	return false
}

// Wait sleeps until one of many sockets is readable, reports exactly the ready ones, and the
// message that proved readability is the next one Recv returns.
func TestPollerReadable(t *testing.T) {
	r := newReactor(t)
	var pulls, pushes []*Socket
	poller := NewPoller()
	defer poller.Close()
	for i := 0; i < 3; i++ {
		pull := newSocket(t, r, Pull)
		push := newSocket(t, r, Push)
		connect(t, push, bindTCP(t, pull))
		pulls, pushes = append(pulls, pull), append(pushes, push)
		if err := poller.Add(pull, PollIn); err != nil {
			t.Fatal(err)
		}
	}
	if err := poller.Add(pulls[0], PollIn); !errors.Is(err, ErrInvalid) {
		t.Fatalf("adding twice: %v", err)
	}
	if got, err := poller.Wait(withTimeout(t, 20*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("nothing ready: %v %v", got, err)
	}

	// A waiting poller wakes for a message that arrives later.
	done := make(chan []Polled, 1)
	go func() {
		got, _ := poller.Wait(withTimeout(t, 20*time.Second))
		done <- got
	}()
	mustSend(t, pushes[1], []byte("one"))
	got := <-done
	if len(got) != 1 || !has(got, pulls[1], PollIn) {
		t.Fatalf("Wait returned %v", got)
	}
	expect(t, "PULL 1", 0, mustRecv(t, pulls[1]), frames([]byte("one")))

	mustSend(t, pushes[0], []byte("a"))
	mustSend(t, pushes[2], []byte("c"))
	waitFor(t, "both readable", func() bool {
		got := waitPolled(t, poller)
		return len(got) == 2
	})
	expect(t, "PULL 0", 0, mustRecv(t, pulls[0]), frames([]byte("a")))
	expect(t, "PULL 2", 0, mustRecv(t, pulls[2]), frames([]byte("c")))

	if err := poller.Remove(pulls[1]); err != nil {
		t.Fatal(err)
	}
	mustSend(t, pushes[1], []byte("ignored"))
	mustSend(t, pushes[2], []byte("seen"))
	got = waitPolled(t, poller)
	if has(got, pulls[1], PollIn) || !has(got, pulls[2], PollIn) {
		t.Fatalf("after Remove: %v", got)
	}
}

// A SUB is readable only for messages it will deliver; REQ and REP are writable and readable by
// their state machines; PUB is always writable.
func TestPollerStates(t *testing.T) {
	r := newReactor(t)
	pub := newSocket(t, r, Pub)
	sub := newSocket(t, r, Sub)
	if err := sub.Subscribe([]byte("yes")); err != nil {
		t.Fatal(err)
	}
	// The publisher is a raw peer, so that a message the SUB must filter out does reach it.
	raw := rawConnect(t, bindTCP(t, sub), 1, "PUB")
	raw.frame(t) // the subscription
	poller := NewPoller()
	defer poller.Close()
	if err := poller.Add(sub, PollIn|PollOut); err != nil {
		t.Fatal(err)
	}
	if err := poller.Add(pub, PollOut); err != nil {
		t.Fatal(err)
	}
	got := waitPolled(t, poller)
	if len(got) != 1 || got[0].Socket != pub || got[0].Events != PollOut {
		t.Fatalf("idle PUB and SUB: %v", got)
	}
	if err := poller.Modify(pub, 0); err != nil {
		t.Fatal(err)
	}
	raw.send(t, 0, []byte("no, not this one"))
	waitFor(t, "the filtered message received", func() bool { in, _ := pipeLens(sub); return in == 1 })
	if got, err := poller.Wait(withTimeout(t, 20*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SUB with a filtered message: %v %v", got, err)
	}
	raw.send(t, 0, []byte("yes, this one"))
	got = waitPolled(t, poller)
	if len(got) != 1 || !has(got, sub, PollIn) {
		t.Fatalf("SUB with a message: %v", got)
	}
	expect(t, "SUB", 0, mustRecv(t, sub), frames([]byte("yes, this one")))

	rep := newSocket(t, r, Rep)
	req := newSocket(t, r, Req)
	connect(t, req, bindTCP(t, rep))
	p2 := NewPoller()
	defer p2.Close()
	for _, s := range []*Socket{req, rep} {
		if err := p2.Add(s, PollIn|PollOut); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "REQ writable", func() bool { return has(waitPolled(t, p2), req, PollOut) })
	mustSend(t, req, []byte("q"))
	got = waitPolled(t, p2)
	if has(got, req, PollOut) || !has(got, rep, PollIn) || has(got, rep, PollOut) {
		t.Fatalf("after the request: %v", got)
	}
	// REP's request is held by the poller: Send before Recv is still a state error.
	if err := rep.Send(testCtx(t), []byte("too early")); !errors.Is(err, ErrState) {
		t.Fatalf("REP Send before Recv: %v", err)
	}
	expect(t, "REP", 0, mustRecv(t, rep), frames([]byte("q")))
	got = waitPolled(t, p2)
	if !has(got, rep, PollOut) {
		t.Fatalf("REP after Recv: %v", got)
	}
	mustSend(t, rep, []byte("a"))
	waitFor(t, "REQ readable", func() bool { return has(waitPolled(t, p2), req, PollIn) })
	expect(t, "REQ", 0, mustRecv(t, req), frames([]byte("a")))
}

// A closed socket is reported ready (its calls fail at once) and a closed poller fails Wait.
func TestPollerClose(t *testing.T) {
	r := newReactor(t)
	s := newSocket(t, r, Pull)
	poller := NewPoller()
	if err := poller.Add(s, PollIn); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		got, err := poller.Wait(withTimeout(t, 20*time.Second))
		if err == nil && !has(got, s, PollIn) {
			err = fmt.Errorf("got %v", got)
		}
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	// A closed socket counts as ready, so a Wait that ran before Close below would return it: swap
	// it for one that never becomes ready, and the Wait can only end by the poller's Close.
	if err := poller.Remove(s); err != nil {
		t.Fatal(err)
	}
	if err := poller.Add(newSocket(t, r, Pull), PollIn); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := poller.Wait(withTimeout(t, 20*time.Second))
		done <- err
	}()
	// The goroutine may be in Wait already or not yet: either way it ends with ErrClosed.
	if err := poller.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on a closed poller: %v", err)
	}
}

// A waiting poller costs no CPU: it sleeps on a channel, not in a polling loop.
func TestPollerDoesNotSpin(t *testing.T) {
	if raceEnabled {
		t.Skip("CPU accounting is meaningless under the race detector")
	}
	r := newReactor(t)
	poller := NewPoller()
	defer poller.Close()
	for i := 0; i < 10; i++ {
		if err := poller.Add(newSocket(t, r, Pull), PollIn); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	before := cpuTime()
	start := time.Now()
	go func() {
		defer wg.Done()
		_, _ = poller.Wait(withTimeout(t, 200*time.Millisecond))
	}()
	wg.Wait()
	wall, cpu := time.Since(start), cpuTime()-before
	if cpu > wall/4 {
		t.Fatalf("waiting %v cost %v of CPU", wall, cpu)
	}
	runtime.KeepAlive(poller)
}

// The count of watching Pollers, which a loop reads without the socket's lock, follows both watch
// and unwatch: a stale count would have every readable pipe take the lock for nobody.
func TestWatchCount(t *testing.T) {
	s := newSocket(t, newReactor(t), Router)
	a, b := make(chan struct{}, 1), make(chan struct{}, 1)
	s.watch(a)
	s.watch(b)
	if n := s.nwatch.Load(); n != 2 {
		t.Fatalf("%d watchers counted, want 2", n)
	}
	s.unwatch(a)
	s.unwatch(b)
	if n := s.nwatch.Load(); n != 0 {
		t.Fatalf("%d watchers counted after both left, want 0", n)
	}
}
