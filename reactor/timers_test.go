package reactor

import (
	"math/rand/v2"
	"testing"
	"time"
)

// checkHeap fails t unless h is a min-heap on timerAt whose entries know their index.
func checkHeap(t *testing.T, h timerHeap) {
	t.Helper()
	for i, c := range h {
		if int(c.timerIdx) != i {
			t.Fatalf("entry %d says it is at %d", i, c.timerIdx)
		}
		if i > 0 && c.timerAt < h[(i-1)/2].timerAt {
			t.Fatalf("entry %d is earlier than its parent", i)
		}
	}
}

// Random pushes, removals from anywhere and keys moved earlier keep the heap ordered, and draining it
// yields the keys in order.
func TestTimerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	l := &loop{epoch: time.Now()}
	base := l.epoch.Add(time.Second)
	var h timerHeap
	var out []*conn
	for step := 0; step < 5000; step++ {
		switch op := rng.IntN(10); {
		case op < 5 || len(h) == 0:
			var c *conn
			if len(out) > 0 {
				c, out = out[len(out)-1], out[:len(out)-1]
			} else {
				c = &conn{timerIdx: -1}
			}
			c.timerAt = l.timerKey(base.Add(time.Duration(rng.IntN(1000)) * time.Millisecond))
			h.push(c)
		case op < 8:
			i := rng.IntN(len(h))
			c := h[i]
			h.remove(i)
			if c.timerIdx != -1 {
				t.Fatal("a removed entry keeps its index")
			}
			out = append(out, c)
		default:
			c := h[rng.IntN(len(h))]
			c.timerAt = l.timerKey(l.timerTime(c.timerAt).Add(-time.Duration(rng.IntN(500)) * time.Millisecond))
			h.up(int(c.timerIdx))
		}
		checkHeap(t, h)
	}
	var last time.Time
	for len(h) > 0 {
		c := h[0]
		if l.timerTime(c.timerAt).Before(last) {
			t.Fatal("drained out of order")
		}
		last = l.timerTime(c.timerAt)
		h.remove(0)
		checkHeap(t, h)
	}
}
