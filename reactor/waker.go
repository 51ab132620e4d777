package reactor

import (
	"slices"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// A waker wakes one loop from other goroutines without allocating: gnet's Execute and Wake allocate a
// closure and a queue node per call, which would be an allocation per burst of messages. Each loop
// owns one end of a socketpair (a loopback TCP pair on Windows: waker_windows.go), enrolled like a
// connection; writing a byte to the other end makes the loop run OnTraffic for it, and that runs
// every task posted since the last wake.
type waker struct {
	l   *loop
	fd  wakeEnd // the write end; owned by the reactor, closed after the loops stopped
	gfd int     // the read end as gnet registered it (set in OnOpen)

	mu      sync.Mutex
	tasks   []task // posted, under mu
	running []task // the tasks run takes: loop-owned, swapped with tasks under mu
	pending bool   // a byte is on its way: later posts need not write another
	closed  bool   // the reactor stopped: no more tasks

	// passed, on the loop: the next turn runs its tasks instead of passing (run). Set by a pass, and
	// by later for a turn cut short by its budget.
	passed bool

	// fdMu keeps close from closing fd (and the kernel from reusing its number) while a post
	// writes to it; the byte is written outside mu, so that the loop it wakes does not find mu
	// still taken by the poster.
	fdMu     sync.Mutex
	fdClosed bool
}

type taskKind uint8

const (
	taskDrain    taskKind = iota // write what the connection's pipe queued
	taskResume                   // read again: the pipe's reader made room
	taskTick                     // run the loop's timers
	taskReadable                 // tell an inproc pipe's owner it became readable
	taskWritable                 // tell an inproc pipe's owner it has room again
	taskDetached                 // tell an inproc pipe's owner the pair is closed
	taskOutput                   // the connection's socket is writable: its held body goes on
	taskAuth                     // the ZAP handler answered the connection's call (z)
)

type task struct {
	c    *conn
	p    *Pipe
	z    *ZAPCall
	kind taskKind
}

// newWaker creates the pair and enrolls its read end; OnOpen binds it to its loop.
func (r *Reactor) newWaker() (*waker, error) {
	nc, end, err := wakePair()
	if err != nil {
		return nil, err
	}
	w := &waker{fd: end}
	if _, err := r.cli.EnrollContext(nc, w); err != nil {
		_ = nc.Close() // gnet closes it on Unix whatever happens, but not on every path on Windows
		end.close()
		return nil, err
	}
	return w, nil
}

// post queues a task for the loop and wakes it if it is not already being woken. Any goroutine.
func (w *waker) post(c *conn, kind taskKind) { w.postTask(task{c: c, kind: kind}) }

func (w *waker) postTask(t task) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.tasks = append(w.tasks, t)
	wake := !w.pending
	w.pending = true
	w.mu.Unlock()
	if wake { // only the first post of a burst writes
		w.wake()
	}
}

// postDrains posts a drain for each connection of cs on w's loop, under one lock and with at most
// one wake-up, and returns the others (other loops'), moved to the front of cs; the rest of cs is
// cleared. A fan-out's batch (FanOut.post). Any goroutine.
func (w *waker) postDrains(cs []*conn) []*conn {
	rest := cs[:0]
	w.mu.Lock()
	closed := w.closed // the reactor stopped: the loop drains nothing any more
	for _, c := range cs {
		if c.loop.w != w {
			rest = append(rest, c)
		} else if !closed {
			w.tasks = append(w.tasks, task{c: c, kind: taskDrain})
		}
	}
	wake := !closed && !w.pending
	w.pending = w.pending || wake
	w.mu.Unlock()
	if wake {
		w.wake()
	}
	clear(cs[len(rest):])
	return rest
}

// wake writes the wake-up byte; the poster that set pending calls it, without mu.
func (w *waker) wake() {
	// The loop may run the task before the byte arrives (woken for another reason): the byte
	// then wakes it for nothing, which is harmless; it is never missing while a task waits.
	// EAGAIN means the pair is full of wake-ups the loop has yet to read: it will run.
	w.fdMu.Lock()
	if !w.fdClosed {
		w.fd.wake()
	}
	w.fdMu.Unlock()
}

// later puts tasks the loop's turn had no room for (turnBudget) back in front of those posted
// meanwhile, and wakes the loop for its next turn: gnet polls the other descriptors first, so that
// turn does not pass (run). On the loop, from run; it clears tasks.
func (w *waker) later(tasks []task) {
	w.passed = true
	w.mu.Lock()
	w.tasks = slices.Insert(w.tasks, 0, tasks...)
	wake := !w.pending
	w.pending = true
	w.mu.Unlock()
	clear(tasks)
	if wake {
		w.wake()
	}
	w.l.yieldToEnroller()
}

// close closes the write end once no post can write to it any more. Called by Reactor.Shutdown after
// the loops stopped.
func (w *waker) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.fdMu.Lock()
	w.fdClosed = true
	w.fd.close()
	w.fdMu.Unlock()
}

// run executes the posted tasks, on the loop, from OnTraffic of the waker's connection.
func (w *waker) run(gc gnet.Conn) {
	if n := gc.InboundBuffered(); n > 0 {
		_, _ = gc.Discard(n)
	}
	pass := !w.passed && w.l.serving(time.Now().UnixNano())
	w.mu.Lock()
	if pass {
		// A loop serving many peers (a ROUTER's thousand DEALERs) lets the descriptors ready now
		// go first: a new byte puts the waker behind them, so the replies its tasks write leave
		// after the poll's reads, together, instead of at the waker's place among them, where the
		// replies to requests read after it waited a whole poll more (the round trips' p99; the runs
		// are in bench/results/HISTORY.md). Once: the next turn runs (later keeps a turn cut
		// short from passing again), so a task waits one poll more at most. A turn with nothing
		// posted passes too: skipping it saves a byte's write and read and measured no better.
		w.pending = true // the byte below is on its way: posts need not write another
		w.mu.Unlock()
		w.passed = true
		w.l.passedTurns.Add(1)
		w.wake()
		return
	}
	// One lock per wake-up: the posted tasks and the loop's emptied list trade places.
	w.tasks, w.running = w.running[:0], w.tasks
	w.pending = false
	w.mu.Unlock()
	w.passed = false
	tasks := w.running
	start := w.l.written()
	for i, t := range tasks {
		if i > 0 && w.l.written()-start >= turnBudget {
			w.later(tasks[i:])
			break
		}
		switch t.kind {
		case taskDrain:
			if !t.c.closed() && t.c.in != inDetached {
				t.c.drain()
			}
		case taskResume:
			t.c.resume()
		case taskTick:
			w.l.tick()
		case taskReadable:
			t.p.owner.PipeReadable(t.p)
		case taskWritable:
			t.p.owner.PipeWritable(t.p)
		case taskDetached:
			t.p.owner.PipeDetached(t.p, true)
		case taskOutput:
			t.c.writable()
		case taskAuth:
			t.c.authAnswered(t.z, true)
		}
		tasks[i] = task{}
	}
}
