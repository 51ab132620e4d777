package reactor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
)

// pauseModes are the two ways a connection with a full reader stops reading: muted in the loop's
// poller (the default on Linux and the BSDs) and detached from gnet (the portable fallback).
var pauseModes = []struct {
	name string
	cfg  Config
}{
	{"mute", Config{Loops: 1}},
	{"detach", Config{Loops: 1, portablePause: true}},
}

// checkPauses fails t unless the connections paused the way cfg asks: muted at once, or detached
// once gnet holds pauseSoftLimit bytes, which only a bulk transfer reaches.
func checkPauses(t *testing.T, r *Reactor, cfg Config, bulk bool) {
	t.Helper()
	st := r.Stats()
	ok := st.Pauses > 0 && st.Detaches == 0
	if cfg.portablePause {
		ok = st.Detaches == st.Pauses && (st.Detaches > 0 || !bulk)
	}
	if !ok {
		t.Fatalf("%d pauses, %d of them detaches, with portablePause %v", st.Pauses, st.Detaches, cfg.portablePause)
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

// With RCVHWM 1 a full queue still pauses the connection (the low-water mark is below the HWM), and
// every message arrives.
func TestPauseRcvHWMOne(t *testing.T) {
	for _, mode := range pauseModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newTestReactor(t, mode.cfg)
			pullOpts := testOptions("PULL")
			pullOpts.RcvHWM = 1
			k := pair(t, r, "tcp", pullOpts, testOptions("PUSH"))
			const n = 2000
			for i := 0; i < n; i++ {
				send(t, k.co, k.cp, []byte{byte(i)})
			}
			waitFor(t, "the reader's queue full", func() bool { return k.bp.InLen() == 1 })
			for i := 0; i < n; i++ {
				if m := recv(t, k.bo, k.bp); m[0][0] != byte(i) {
					t.Fatalf("message %d: %q", i, m)
				}
			}
			checkPauses(t, r, mode.cfg, false)
		})
	}
}

// A peer that sends more than the reader's HWM and closes at once: everything it sent before
// closing is still delivered, in order, although the connection was paused (or detached from gnet,
// for a bulk transfer) when the EOF came; only then does the pipe end. Over ipc the peer's close
// raises EPOLLHUP, which epoll reports even for a muted descriptor and on which gnet closes
// without reading: what the kernel still holds must not be lost with it.
func TestEOFWhilePausedDeliversAll(t *testing.T) {
	for _, mode := range pauseModes {
		for _, tr := range []string{"tcp", "ipc"} {
			for _, bulk := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/bulk=%v", mode.name, tr, bulk)
				t.Run(name, func(t *testing.T) { testEOFWhilePaused(t, mode.cfg, tr, bulk) })
			}
		}
	}
}

func testEOFWhilePaused(t *testing.T, cfg Config, tr string, bulk bool) {
	r := newTestReactor(t, cfg)
	o := newOwner(t, "pull")
	opts := testOptions("PULL")
	opts.RcvHWM = 10
	l := listen(t, r, bindAddr(tr), opts, o)
	n, size := 20000, 8
	if bulk {
		n, size = 128, 64<<10
	}
	peer := rawDial(t, l.Endpoint(), "PUSH")
	p := o.waitAttached(t)
	var batch []byte
	for i := 0; i < n; i++ {
		batch = codec.AppendFrame(batch, 0, seqMsg(uint64(i), size))
	}
	wrote := make(chan error, 1)
	go func() { // a bulk write blocks until the reader has taken most of it
		_, err := peer.Conn.Write(batch)
		_ = peer.Conn.Close()
		wrote <- err
	}()
	// The reader starts once the connection paused, so that the EOF finds it paused (or, for a
	// bulk transfer, detached) whatever the pace of the transport.
	// Detaching counts as a pause only when it happens, once gnet holds pauseSoftLimit bytes.
	countsPause := bulk || !cfg.portablePause
	waitFor(t, "the connection paused", func() bool {
		return p.InLen() == 10 && (r.Stats().Pauses > 0 || !countsPause)
	})
	for i := 0; i < n; i++ {
		m, err := recvWait(o, p)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		err = checkSeq(m.Frame(0), uint64(i), size)
		m.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if d := o.waitDetached(t); d.p != p || !d.final {
		t.Fatal("the accepted pipe did not end with its connection")
	}
	if e := o.waitEvent(t, EventDisconnected); !errors.Is(e.Err, io.EOF) {
		t.Fatalf("disconnected with %v, want EOF", e.Err)
	}
	if m := p.TryRecv(); m != nil {
		t.Fatal("more messages than were sent")
	}
	checkPauses(t, r, cfg, bulk)
}

// A STREAM (raw) connection has the same HWM: chunks stop being read once RCVHWM of them wait, and
// every byte still arrives, in order.
func TestPauseRaw(t *testing.T) {
	for _, mode := range pauseModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newTestReactor(t, mode.cfg)
			o := newOwner(t, "stream")
			opts := &Options{raw: true, RcvHWM: 1}
			l := listen(t, r, "tcp://127.0.0.1:*", opts, o)
			network, addr := netAddr(t, l.Endpoint())
			nc, err := net.Dial(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			p := o.waitAttached(t)
			data := make([]byte, 4<<20)
			fillSeq(data, 7)
			wrote := make(chan error, 1)
			go func() { _, err := nc.Write(data); wrote <- err }()
			var got []byte
			for len(got) < len(data) {
				m := recv(t, o, p)
				if len(m) != 1 {
					t.Fatalf("a raw message of %d frames", len(m))
				}
				got = append(got, m[0]...)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			if err := checkSeq(got, 7, len(data)); err != nil {
				t.Fatal(err)
			}
			checkPauses(t, r, mode.cfg, true)
		})
	}
}

// A peer that does not read: the loop stops encoding once gnet holds sendBound bytes (the rest stays
// in the pipe, where SNDHWM can bound it), and resumes as the kernel takes data again, so that
// everything arrives in order once the peer reads.
func TestSendBoundBlocks(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	var sc Counters
	o, p, peer := stalledPush(t, r, &sc, func(o *Options) { o.SndHWM = 0 })
	const n, size = 1000, 1000 // 1 MB: four times sendBound
	for i := 0; i < n; i++ {
		send(t, o, p, seqMsg(uint64(i), size))
	}
	waitFor(t, "the loop blocked at sendBound with messages left in the pipe", func() bool {
		return sc.Stats().Blocks > 0 && p.OutLen() > 0
	})
	if r.Stats().Blocks < sc.Stats().Blocks {
		t.Fatal("the reactor counted fewer blocks than the pipe's counters")
	}
	for i := 0; i < n; i++ {
		m, err := peer.Recv(waitLimit)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := checkSeq(m[0], uint64(i), size); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.OutLen(); n != 0 {
		t.Fatalf("%d messages still queued after the peer read them all", n)
	}
}
