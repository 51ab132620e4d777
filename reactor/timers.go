package reactor

import "time"

// timerHeap orders a loop's connections by the next deadline of their session (handshake timeout,
// heartbeats), so that a tick touches only the connections that are due, however many the loop has.
// A key may be earlier than its session's real deadline: watch only ever moves keys earlier, and tick
// re-keys an entry that comes up early. A read, which pushes the heartbeat timeout later, then costs a
// comparison rather than a heap operation. A key is the deadline as nanoseconds since the loop's
// epoch (monotonic), 8 bytes in every connection rather than a time.Time's 24.
type timerHeap []*conn

// timerKey is t as a key of l's timer heap.
func (l *loop) timerKey(t time.Time) int64 { return int64(t.Sub(l.epoch)) }

// timerTime is the time of key k.
func (l *loop) timerTime(k int64) time.Time { return l.epoch.Add(time.Duration(k)) }

func (h *timerHeap) push(c *conn) {
	c.timerIdx = int32(len(*h))
	*h = append(*h, c)
	h.up(int(c.timerIdx))
}

// remove takes the entry at i out of the heap.
func (h *timerHeap) remove(i int) {
	s := *h
	last := len(s) - 1
	c := s[i]
	if i != last {
		s[i] = s[last]
		s[i].timerIdx = int32(i)
	}
	s[last] = nil
	*h = s[:last]
	c.timerIdx = -1
	if i != last {
		h.down(i)
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[i].timerAt >= h[p].timerAt {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(h) && h[l].timerAt < h[small].timerAt {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].timerAt < h[small].timerAt {
			small = r
		}
		if small == i {
			return
		}
		h.swap(i, small)
		i = small
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timerIdx, h[j].timerIdx = int32(i), int32(j)
}

// watch (re)schedules c's session timers after anything that may have changed its deadline.
func (l *loop) watch(c *conn) {
	d := c.sess.NextDeadline()
	if d.IsZero() {
		return // an entry left in the heap is dropped when it comes up
	}
	k := l.timerKey(d)
	switch {
	case c.timerIdx < 0:
		c.timerAt = k
		l.timers.push(c)
	case k < c.timerAt:
		c.timerAt = k
		l.timers.up(int(c.timerIdx))
	default:
		return // a later deadline: the earlier key re-keys itself when it comes up
	}
	l.arm(d)
}

// runDue runs the timers of every connection that is due at now, and returns the earliest deadline
// left (zero: none). Each entry comes up at most twice (once early, once due), which bounds the loop
// even if a session kept a deadline in the past.
func (l *loop) runDue(now time.Time) time.Time {
	nk := l.timerKey(now)
	for budget := 2*len(l.timers) + 1; len(l.timers) > 0 && budget > 0; budget-- {
		c := l.timers[0]
		if c.timerAt > nk {
			return l.timerTime(c.timerAt)
		}
		if c.closed() || c.gc == nil {
			l.timers.remove(0) // closed, or detached: opened() watches it again
			continue
		}
		d := c.sess.NextDeadline()
		switch {
		case d.IsZero():
			l.timers.remove(0)
		case d.After(now):
			c.timerAt = l.timerKey(d) // it came up early: re-key
			l.timers.down(0)
		default:
			l.timers.remove(0)
			c.runTimers(now) // watches c again
		}
	}
	if len(l.timers) > 0 {
		return l.timerTime(l.timers[0].timerAt)
	}
	return time.Time{}
}
