package reactor

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/zloop/zloop/pool"
)

// unacceptedPubs dials a PUB pipe for each SNDHWM of hwms to a listener that never accepts: the
// pipes queue, their handshake never done. When the test ends the dialers are closed (again, for a
// test that closed them itself: a pipe without a connection closes at once) and the pipes drained.
func unacceptedPubs(t *testing.T, r *Reactor, hwms ...int) []*Dialer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var dialers []*Dialer
	for _, hwm := range hwms {
		opts := testOptions("PUB")
		opts.SndHWM = hwm
		d, err := r.Connect("tcp://"+ln.Addr().String(), opts, newOwner(t, "pub"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { <-d.Close(0); d.Pipe().Drain() })
		dialers = append(dialers, d)
	}
	return dialers
}

// FanOut counts SNDHWM per pipe exactly as TrySend does: a pipe at its limit misses the message and
// the others still get it; the message is held once per pipe that took it, and the pipes that drop
// what they hold release it, the last of them recycling it (poisoned with checking on).
func TestFanOutHWMPerPipe(t *testing.T) {
	if !pool.Checking() {
		pool.SetDebug(true)
		defer pool.SetDebug(false)
	}
	r := newTestReactor(t, Config{Loops: 1})
	dialers := unacceptedPubs(t, r, 3, 5)
	pipes := []*Pipe{dialers[0].Pipe(), dialers[1].Pipe()}
	var f FanOut
	var views [][]byte
	for i, want := range []int{2, 2, 2, 1, 1, 0} {
		m := pool.NewMsg()
		m.AppendFrame([]byte{'m', byte(i)})
		views = append(views, m.Frame(0))
		if got := f.Send(m, pipes); got != want {
			t.Fatalf("message %d went to %d pipes, want %d", i, got, want)
		}
	}
	if a, b := pipes[0].OutLen(), pipes[1].OutLen(); a != 3 || b != 5 {
		t.Fatalf("queued %d and %d, want the HWMs 3 and 5", a, b)
	}
	if string(views[4]) != "m\x04" {
		t.Fatalf("a message one pipe still holds was recycled: %q", views[4])
	}
	if views[5][0] != pool.PoisonByte {
		t.Fatalf("a message no pipe took was not recycled: %q", views[5])
	}
	for _, d := range dialers {
		<-d.Close(0)
	}
	for _, p := range pipes {
		p.Drain()
	}
	for i, v := range views {
		if v[0] != pool.PoisonByte {
			t.Fatalf("message %d not recycled after every pipe dropped it: %q", i, v)
		}
	}
}

// A fan-out's refusal at SNDHWM asks for no PipeWritable, while TrySend's does: the owner's
// handler takes the socket's lock, which a publisher sending flat out holds nearly all the time,
// and the loop that reported room after every hand it wrote waited for that lock instead of
// writing (issue 11: a quarter of the deliveries of libzmq at 1,000 subscribers).
func TestFanOutRefusalAsksNoWritable(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var pipes []*Pipe
	for _, d := range unacceptedPubs(t, r, 2, 2, 2) {
		pipes = append(pipes, d.Pipe())
	}
	var f FanOut
	// One pipe (TrySend's path, which may write directly) and several (the loops').
	for _, to := range [][]*Pipe{pipes[:1], pipes[1:]} {
		for i, want := range []int{len(to), len(to), 0, 0} {
			if got := f.Send(newTestMsg(i), to); got != want {
				t.Fatalf("message %d went to %d of %d pipes, want %d", i, got, len(to), want)
			}
		}
		for _, p := range to {
			p.mu.Lock()
			asked := p.sawFull
			p.mu.Unlock()
			if asked {
				t.Fatalf("a fan-out's refusal to %d pipes asked for PipeWritable", len(to))
			}
		}
	}
	p := pipes[0]
	m := newTestMsg(9)
	if p.TrySend(m) {
		t.Fatal("TrySend took a message past SNDHWM")
	}
	m.Release()
	p.mu.Lock()
	asked := p.sawFull
	p.mu.Unlock()
	if !asked {
		t.Fatal("TrySend's refusal did not ask for PipeWritable")
	}
}

// A pipe a fan-out found full is skipped until its loop has written some of its queue, and then
// taken back: every message it accepted arrives once and in order, and once its queue is below
// SNDHWM it is never skipped (Pipe.fanFull is only a hint, cleared wherever room is made).
func TestFanOutFullPipeComesBack(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	bopts := testOptions("PUB")
	bopts.SndHWM = 4
	copts := testOptions("SUB")
	copts.RcvHWM = 4
	k := pair(t, r, "tcp", bopts, copts)
	// A second pipe, never connected, that is full after its first four: the fan-out goes to
	// several pipes, and skips this one from then on.
	idle := unacceptedPubs(t, r, bopts.SndHWM)[0].Pipe()
	const size = 4 << 10
	var f FanOut
	to := []*Pipe{idle, k.bp}
	var accepted []uint64
	seq := uint64(0)
	send := func() {
		before := idle.OutLen()
		if f.Send(newMsg(seqMsg(seq, size)), to)-(idle.OutLen()-before) == 1 {
			accepted = append(accepted, seq)
		}
		seq++
	}
	// Nobody reads: the reader's connection pauses, the kernel's buffers and gnet's fill, then
	// the pipe, and a fan-out finds it full.
	deadline := time.Now().Add(waitLimit)
	for !k.bp.fanFull.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("the pipe never filled (%d messages taken)", len(accepted))
		}
		send()
	}
	full := len(accepted)
	for range 50 {
		send() // mostly skipped: dropped, as at SNDHWM
	}
	// Read while sending: the pipe empties and comes back into the fan-out.
	var got []uint64
	take := func() {
		for m := k.cp.TryRecv(); m != nil; m = k.cp.TryRecv() {
			b := m.Frame(0)
			s := binary.LittleEndian.Uint64(b)
			if err := checkSeq(b, s, size); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
			m.Release()
		}
	}
	for len(accepted) < full+500 {
		if time.Now().After(deadline) {
			t.Fatalf("the pipe took %d messages after it was full, want 500", len(accepted)-full)
		}
		send()
		take()
	}
	for len(got) < len(accepted) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d messages taken arrived", len(got), len(accepted))
		}
		take()
		select {
		case <-k.co.readable:
		case <-time.After(10 * time.Millisecond): // a read resumed by TryRecv fills the pipe again
		}
	}
	if !slices.Equal(got, accepted) {
		t.Fatalf("arrived %v..., want the %d taken in order", got[:min(len(got), 20)], len(accepted))
	}
	waitFor(t, "the queue written", func() bool { return k.bp.OutLen() == 0 })
	if k.bp.fanFull.Load() {
		t.Fatal("an empty pipe is still skipped")
	}
	if !idle.fanFull.Load() || idle.OutLen() != 4 {
		t.Fatalf("the unconnected pipe holds %d, want its SNDHWM 4, and skipped", idle.OutLen())
	}
	if n := f.Send(newMsg(seqMsg(seq, size)), to); n != 1 {
		t.Fatalf("an empty pipe and a full one took %d of a fan-out's message, want 1", n)
	}
	if b := recv(t, k.co, k.cp); binary.LittleEndian.Uint64(b[0]) != seq {
		t.Fatalf("got seq %d, want %d", binary.LittleEndian.Uint64(b[0]), seq)
	}
}
