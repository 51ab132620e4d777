package reactor

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"
)

// pauseModes are the two ways a connection with a full reader stops reading: muted in the loop's
// poller (the default on Linux and the BSDs) and detached from gnet (the portable fallback).
var pauseModes = []struct {
	name string
	cfg  Config
}{
	{"mute", Config{Loops: 1}},
	{"detach", Config{Loops: 1, PortablePause: true}},
}

// checkPauses fails t unless the connections paused the way cfg asks: muted at once, or detached
// once gnet holds pauseSoftLimit bytes, which only a bulk transfer reaches.
func checkPauses(t *testing.T, r *Reactor, cfg Config, bulk bool) {
	t.Helper()
	st := r.Stats()
	ok := st.Pauses > 0 && st.Detaches == 0
	if cfg.PortablePause {
		ok = st.Detaches == st.Pauses && (st.Detaches > 0 || !bulk)
	}
	if !ok {
		t.Fatalf("%d pauses, %d of them detaches, with PortablePause %v", st.Pauses, st.Detaches, cfg.PortablePause)
	}
	if st.MutedReads != 0 {
		t.Fatalf("gnet read %d times for a muted connection", st.MutedReads)
	}
}

// waitStalled waits until cond holds and counter has not moved for a while: the sender that counts
// in it is held back by full queues and kernel buffers. (Queues at their HWM alone do not say so:
// the loop may still be handing messages to a kernel with room left.)
func waitStalled(t *testing.T, what string, cond func() bool, counter *atomic.Int64) {
	t.Helper()
	const stallFor = 200 * time.Millisecond
	last := int64(-1)
	since := time.Now()
	waitFor(t, what, func() bool {
		if v := counter.Load(); v != last || !cond() {
			last, since = v, time.Now()
			return false
		}
		return time.Since(since) >= stallFor
	})
}

// A reader that stops reading: its connection pauses once RCVHWM messages wait (muted, or detached
// from gnet once a bulk transfer piled up pauseSoftLimit bytes), so TCP pushes back and the sender's
// queue fills to its SNDHWM; the reader's queue never holds more than RCVHWM. Once the reader has
// taken its queue down to the low-water mark the connection reads again and the queue refills; in
// the end every message arrives intact and in order.
func TestPauseAtRcvHWM(t *testing.T) {
	for _, mode := range pauseModes {
		for _, tr := range []string{"tcp", "ipc", "ws"} {
			t.Run(mode.name+"/"+tr, func(t *testing.T) { testPauseAtRcvHWM(t, mode.cfg, tr) })
		}
	}
}

func testPauseAtRcvHWM(t *testing.T, cfg Config, tr string) {
	const (
		size  = 64 << 10
		hwm   = 16
		count = 256 // 16 MiB: far more than the kernel buffers and gnet hold between the two
	)
	r := newTestReactor(t, cfg)
	pullOpts, pushOpts := testOptions("PULL"), testOptions("PUSH")
	pullOpts.RcvHWM, pushOpts.SndHWM = hwm, hwm
	k := pair(t, r, tr, pullOpts, pushOpts)

	var sent atomic.Int64
	sendErr := make(chan error, 1)
	go func() {
		payload := make([]byte, size)
		for i := 0; i < count; i++ {
			binary.LittleEndian.PutUint64(payload, uint64(i))
			if err := trySendWait(k.co, k.cp, newMsg(payload)); err != nil {
				sendErr <- err
				return
			}
			sent.Add(1)
		}
		sendErr <- nil
	}()
	waitStalled(t, "both HWMs reached and the sender held back", func() bool {
		return k.bp.InLen() >= hwm && k.cp.OutLen() >= hwm
	}, &sent)
	if n := k.bp.InLen(); n != hwm {
		t.Fatalf("the reader's queue holds %d messages, RCVHWM is %d", n, hwm)
	}
	if s := sent.Load(); s >= count {
		t.Fatal("everything was sent while the reader did not read")
	}
	paused := r.Stats().Pauses
	if paused == 0 {
		t.Fatal("the full reader's connection did not pause")
	}

	next := uint64(0)
	take := func() {
		t.Helper()
		m, err := recvWait(k.bo, k.bp)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Release()
		if m.Len() != 1 || len(m.Frame(0)) != size {
			t.Fatalf("message %d: %d frames, %d bytes", next, m.Len(), len(m.Frame(0)))
		}
		if got := binary.LittleEndian.Uint64(m.Frame(0)); got != next {
			t.Fatalf("message %d carries sequence %d", next, got)
		}
		next++
	}
	for k.bp.InLen() > lowWater(hwm) {
		take()
	}
	waitFor(t, "the reader's queue refilled after it reached the low-water mark", func() bool {
		return k.bp.InLen() == hwm && r.Stats().Pauses > paused
	})
	for next < count {
		take()
		if n := k.bp.InLen(); n > hwm {
			t.Fatalf("the reader's queue holds %d messages, RCVHWM is %d", n, hwm)
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	checkPauses(t, r, cfg, true)
}
