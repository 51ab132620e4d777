package reactor

import (
	"net"
	"testing"

	"github.com/zloop/zloop/pool"
)

// FanOut counts SNDHWM per pipe exactly as TrySend does: a pipe at its limit misses the message and
// the others still get it; the message is held once per pipe that took it, and the pipes that drop
// what they hold release it, the last of them recycling it (poisoned with checking on).
func TestFanOutHWMPerPipe(t *testing.T) {
	if !pool.Checking() {
		pool.SetDebug(true)
		defer pool.SetDebug(false)
	}
	r := newTestReactor(t, Config{Loops: 1})
	// A listener that never accepts: the dialed pipes queue, their handshake never done.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var pipes []*Pipe
	var dialers []*Dialer
	for _, hwm := range []int{3, 5} {
		opts := testOptions("PUB")
		opts.SndHWM = hwm
		d, err := r.Connect("tcp://"+ln.Addr().String(), opts, newOwner(t, "pub"))
		if err != nil {
			t.Fatal(err)
		}
		dialers = append(dialers, d)
		pipes = append(pipes, d.Pipe())
	}
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
