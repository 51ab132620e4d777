package contract

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kind is the ZeroMQ socket type a role uses.
type Kind int

// The socket types of the two tools.
const (
	Push Kind = iota // thr send
	Pull             // thr recv
	Req              // lat req
	Rep              // lat rep
)

func (k Kind) String() string {
	switch k {
	case Push:
		return "PUSH"
	case Pull:
		return "PULL"
	case Req:
		return "REQ"
	case Rep:
		return "REP"
	}
	return "UNKNOWN"
}

// KindOf returns the socket type of role.
func KindOf(role string) Kind {
	switch role {
	case RoleSend:
		return Push
	case RoleRecv:
		return Pull
	case RoleReq:
		return Req
	}
	return Rep
}

// Socket is one open socket of an implementation. Only the goroutine that runs Run calls its
// methods, one at a time. ctx carries the process deadline; an implementation that cannot
// interrupt a blocking call may ignore it (Main's watchdog ends the process at the deadline).
type Socket interface {
	// Send sends payload as a one-frame message. The implementation copies payload (into a
	// fresh message each time, the policy every implementation follows), so the caller may
	// change it as soon as Send returns.
	Send(ctx context.Context, payload []byte) error
	// Recv receives a message and returns the body of its one frame, valid until the next call
	// on the socket. A message of more or fewer frames is an error wrapping ErrCheck.
	Recv(ctx context.Context) ([]byte, error)
	// WaitPeerGone blocks until every peer that completed a handshake has disconnected again,
	// or ctx ends. The thr sender calls it after its last Send: linger only promises that the
	// messages reached the kernel, and a receiver paused at RCVHWM when the sender's connection
	// closes may lose what is still in its socket buffer (libzmq 4.3.4 does over ipc, where the
	// peer's close raises EPOLLHUP). Waiting until the receiver, which exits after COUNT
	// messages, hangs up makes "all flushed" mean "all delivered" for any pair.
	WaitPeerGone(ctx context.Context) error
	// Echo receives one request and sends it back unchanged (REP), returning its body size.
	Echo(ctx context.Context) (int, error)
	// Close closes the socket. With flush it waits until everything queued has been sent
	// (linger -1); without, it drops it (linger 0), which is what a failed run needs.
	Close(flush bool) error
}

// Filler is a Socket that can send a message it builds in its library's own buffer, as a program
// that produces a large body where the message will hold it (zloop's ReserveFrame and Spare,
// libzmq's zmq_msg_init_size): thr send uses it for --fill, and the payload is never copied.
type Filler interface {
	// SendFilled sends a one-frame message of size bytes. With check its first 8 bytes carry seq
	// (little-endian); the other bytes are whatever the buffer held.
	SendFilled(ctx context.Context, size int, seq uint64, check bool) error
}

// Impl is an implementation under measurement.
type Impl interface {
	// Name is the impl= value.
	Name() string
	// Open creates a socket of kind with SNDHWM and RCVHWM set to a.HWM when a.HWM >= 0
	// (else the library's default) and LINGER -1, then binds or connects it to a.Endpoint.
	Open(ctx context.Context, kind Kind, a *Args) (Socket, error)
	// Shutdown releases the library (context or reactor) after the socket was closed.
	Shutdown() error
}

// PeerCount follows a socket's monitor events to tell when the peers that completed a handshake
// have all disconnected again; adapters use it for Socket.WaitPeerGone.
type PeerCount struct{ up, handshakes int }

// Handshake records a HANDSHAKE_SUCCEEDED event.
func (p *PeerCount) Handshake() { p.up++; p.handshakes++ }

// Disconnected records a DISCONNECTED event.
func (p *PeerCount) Disconnected() {
	if p.up > 0 {
		p.up--
	}
}

// Gone reports whether at least one peer came and every such peer has gone.
func (p *PeerCount) Gone() bool { return p.handshakes > 0 && p.up == 0 }

// Main runs tool with os.Args and exits with the contract's exit code after printing the one
// RESULT line. Call it from main and nothing else.
func Main(tool string, impl Impl) {
	os.Exit(Command(tool, impl, os.Args[1:], os.Stdout, os.Stderr))
}

// Command is Main with its inputs and outputs explicit; it returns the exit code, except when the
// process deadline passes: then the watchdog prints a timeout RESULT and calls os.Exit(3) itself,
// since a blocking library call (libzmq's) may never return.
func Command(tool string, impl Impl, argv []string, stdout, stderr io.Writer) int {
	a, err := Parse(tool, argv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, Usage(tool))
		r := a.result(impl.Name(), StatusError)
		fmt.Fprintln(stdout, r.String())
		return StatusError.ExitCode()
	}

	var once sync.Once
	code := 0
	emit := func(r Result, exit bool) {
		once.Do(func() {
			fmt.Fprintln(stdout, r.String())
			code = r.Status.ExitCode()
			if exit {
				os.Exit(code)
			}
		})
	}
	// The run's own deadline comes a little before the watchdog's, so that an implementation
	// that honours ctx reports its own timeout (with done=) and closes cleanly.
	watchdog := time.AfterFunc(a.Timeout, func() {
		fmt.Fprintf(stderr, "%s %s: process deadline of %v passed\n", tool, a.Role, a.Timeout)
		emit(a.result(impl.Name(), StatusTimeout), true)
	})
	defer watchdog.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), a.Timeout-min(500*time.Millisecond, a.Timeout/10))
	defer cancel()

	if a.CPUProfile != "" {
		f, err := os.Create(a.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "cpuprofile:", err)
			emit(a.result(impl.Name(), StatusError), false)
			return code
		}
		defer f.Close()
		defer pprof.StopCPUProfile() // before emit: os.Exit would skip it
	}
	r, err := Run(ctx, &a, impl)
	if err != nil {
		fmt.Fprintf(stderr, "%s %s %s: %v\n", tool, a.Role, impl.Name(), err)
	}
	if a.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	emit(r, false)
	return code
}

func (a *Args) result(impl string, s Status) Result {
	return Result{Status: s, Tool: a.Tool, Role: a.Role, Impl: impl, Size: a.Size, Count: a.Count}
}

// sample is a runtime.MemStats and rusage reading at one end of a timed loop.
type sample struct {
	t                     time.Time
	mallocs, bytes, numGC uint64
	cpu                   time.Duration
}

func takeSample() sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return sample{
		mallocs: ms.Mallocs,
		bytes:   ms.TotalAlloc,
		numGC:   uint64(ms.NumGC),
		cpu:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		t:       time.Now(), // last, so that ReadMemStats's stop-the-world is outside the clock
	}
}

// heapObjects counts the heap allocations made so far. ReadMemStats stops the world for a few
// microseconds, but unlike runtime/metrics it counts exactly: the metric moves a span at a time.
func heapObjects() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// steady measures allocations over the second half of a loop, once pipes, pools and buffers have
// filled: allocs_per_msg spreads that warm-up over the whole count, steady_allocs_per_msg leaves it
// out (an extension of the contract).
type steady struct {
	from, end   int // loop indexes: counting starts before from and stops before end
	start, stop uint64
}

func newSteady(count int) steady { return steady{from: count / 2} }

// at is called with each loop index before its message.
func (s *steady) at(i int) {
	if i == s.from {
		s.start = heapObjects()
	}
}

// done is called once the loop ended before index end, before anything else allocates.
func (s *steady) done(end int) { s.end, s.stop = end, heapObjects() }

// add appends steady_allocs_per_msg.
func (s *steady) add(r *Result) {
	if n := s.end - s.from; n > 0 {
		r.Add("steady_allocs_per_msg", "%.4f", float64(s.stop-s.start)/float64(n))
	}
}

// addRate appends msg_per_s: whole messages at 1000/s and above, three decimals below, where
// large messages (a few per second at 64 MiB) would otherwise lose their precision.
func addRate(r *Result, mps float64) {
	if mps < 1000 {
		r.Add("msg_per_s", "%.3f", mps)
		return
	}
	r.Add("msg_per_s", "%.0f", mps)
}

// addCosts appends the Go heap figures and CPU seconds between before and after, per message for
// n messages (per round trip for lat).
func addCosts(r *Result, before, after sample, n int) {
	d := float64(max(n, 1))
	r.Add("allocs_per_msg", "%.3f", float64(after.mallocs-before.mallocs)/d)
	r.Add("bytes_per_msg", "%.1f", float64(after.bytes-before.bytes)/d)
	r.Add("num_gc", "%d", after.numGC-before.numGC)
	r.Add("cpu_s", "%.3f", (after.cpu - before.cpu).Seconds())
}

// Run opens the socket for a.Role, runs the timed loop and closes everything. It returns the
// result to print, and the error behind a status other than ok (nil for ok). The statuses follow
// the error: ErrCheck gives check_failed, ctx's deadline gives timeout, anything else error.
func Run(ctx context.Context, a *Args, impl Impl) (Result, error) {
	r := a.result(impl.Name(), StatusOK)
	s, err := impl.Open(ctx, KindOf(a.Role), a)
	if err != nil {
		err = fmt.Errorf("open: %w", err)
		r.Status = statusOf(ctx, err)
		_ = impl.Shutdown()
		return r, err
	}
	var done int
	switch a.Role {
	case RoleSend:
		done, err = thrSend(ctx, a, s, &r)
	case RoleRecv:
		done, err = thrRecv(ctx, a, s, &r)
	case RoleReq:
		done, err = latReq(ctx, a, s, &r)
	default:
		done, err = latRep(ctx, a, s, &r)
	}
	if err != nil {
		r.Status = statusOf(ctx, err)
		r.Figures = append(r.Figures[:0], Figure{"done", fmt.Sprint(done)})
		_ = s.Close(false)
		_ = impl.Shutdown()
		return r, err
	}
	if a.Role != RoleSend { // the sender's flush is part of its timed region
		if err := s.Close(true); err != nil {
			r.Status = StatusError
			return r, fmt.Errorf("close: %w", err)
		}
	}
	if err := impl.Shutdown(); err != nil {
		r.Status = StatusError
		return r, fmt.Errorf("shutdown: %w", err)
	}
	return r, nil
}

func statusOf(ctx context.Context, err error) Status {
	switch {
	case errors.Is(err, ErrCheck):
		return StatusCheckFailed
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return StatusTimeout
	}
	return StatusError
}

// checkMsg checks the i-th received body: its size always, its sequence number with seq.
func checkMsg(a *Args, i int, b []byte, seq bool) error {
	if len(b) != a.Size {
		return fmt.Errorf("%w: message %d has %d bytes, want %d", ErrCheck, i, len(b), a.Size)
	}
	if seq {
		if got := binary.LittleEndian.Uint64(b); got != uint64(i) {
			return fmt.Errorf("%w: message %d carries sequence number %d", ErrCheck, i, got)
		}
	}
	return nil
}

func thrSend(ctx context.Context, a *Args, s Socket, r *Result) (int, error) {
	var payload []byte
	f, _ := s.(Filler)
	if a.Fill && f == nil {
		return 0, fmt.Errorf("%w: --fill: this implementation cannot build a message in place", ErrUsage)
	}
	if !a.Fill {
		payload = make([]byte, a.Size)
	}
	st := newSteady(a.Count)
	before := takeSample()
	for i := 0; i < a.Count; i++ {
		st.at(i)
		if a.Fill {
			if err := f.SendFilled(ctx, a.Size, uint64(i), a.Check); err != nil {
				return i, err
			}
			continue
		}
		if a.Check {
			binary.LittleEndian.PutUint64(payload, uint64(i))
		}
		if err := s.Send(ctx, payload); err != nil {
			return i, err
		}
	}
	st.done(a.Count) // before the flush, whose closing allocations are not per message
	// libzmq's ws engine does not report the peer's hang-up to the monitor, so over ws:// the
	// sender closes after linger alone, as with --no-wait.
	if !a.NoWait && !strings.HasPrefix(a.Endpoint, "ws://") {
		if err := s.WaitPeerGone(ctx); err != nil {
			return a.Count, fmt.Errorf("waiting for the receiver to hang up: %w", err)
		}
	}
	if err := s.Close(true); err != nil {
		return a.Count, fmt.Errorf("flush: %w", err)
	}
	after := takeSample()
	el := after.t.Sub(before.t).Seconds()
	r.Add("elapsed_s", "%.6f", el)
	addRate(r, float64(a.Count)/el)
	addCosts(r, before, after, a.Count)
	st.add(r)
	return a.Count, nil
}

func thrRecv(ctx context.Context, a *Args, s Socket, r *Result) (int, error) {
	b, err := s.Recv(ctx)
	if err != nil {
		return 0, err
	}
	if err := checkMsg(a, 0, b, a.Check); err != nil {
		return 0, err
	}
	// As libzmq's local_thr: the clock starts at the first message and COUNT messages are
	// counted over the time of the COUNT-1 that follow it.
	st := newSteady(a.Count)
	before := takeSample()
	for i := 1; i < a.Count; i++ {
		st.at(i)
		b, err := s.Recv(ctx)
		if err != nil {
			return i, err
		}
		if err := checkMsg(a, i, b, a.Check); err != nil {
			return i, err
		}
	}
	st.done(a.Count)
	after := takeSample()
	el := after.t.Sub(before.t).Seconds()
	mps := 0.0
	if el > 0 {
		mps = float64(a.Count) / el
	}
	addRate(r, mps)
	r.Add("mbit_per_s", "%.3f", mps*float64(a.Size)*8/1e6)
	r.Add("elapsed_s", "%.6f", el)
	addCosts(r, before, after, a.Count-1)
	st.add(r)
	return a.Count, nil
}

func latReq(ctx context.Context, a *Args, s Socket, r *Result) (int, error) {
	payload := make([]byte, a.Size)
	rtts := make([]int64, a.Count)
	// With room for it, each request carries its number and the reply must echo it: a REP that
	// answers the wrong request, or a stale reply, would otherwise go unnoticed.
	seq := a.Size >= 8
	ss := newSteady(a.Count)
	before := takeSample()
	prev := before.t
	for i := 0; i < a.Count; i++ {
		ss.at(i)
		if seq {
			binary.LittleEndian.PutUint64(payload, uint64(i))
		}
		if err := s.Send(ctx, payload); err != nil {
			return i, err
		}
		b, err := s.Recv(ctx)
		if err != nil {
			return i, err
		}
		now := time.Now()
		if err := checkMsg(a, i, b, seq); err != nil {
			return i, err
		}
		rtts[i] = int64(now.Sub(prev))
		prev = now
	}
	ss.done(a.Count)
	after := takeSample()
	total := prev.Sub(before.t)
	st := SummariseRTT(rtts[a.Warmup:])
	r.Add("rtt_mean_us", "%.2f", st.Mean/1e3)
	r.Add("rtt_p50_us", "%.2f", float64(st.P50)/1e3)
	r.Add("rtt_p99_us", "%.2f", float64(st.P99)/1e3)
	r.Add("rtt_max_us", "%.2f", float64(st.Max)/1e3)
	r.Add("avg_oneway_us", "%.2f", float64(total)/1e3/float64(2*a.Count))
	r.Add("samples", "%d", st.N)
	r.Add("warmup", "%d", a.Warmup)
	addCosts(r, before, after, a.Count)
	ss.add(r)
	return a.Count, nil
}

func latRep(ctx context.Context, a *Args, s Socket, r *Result) (int, error) {
	n, err := s.Echo(ctx)
	if err != nil {
		return 0, err
	}
	if n != a.Size {
		return 0, fmt.Errorf("%w: request 0 has %d bytes, want %d", ErrCheck, n, a.Size)
	}
	// The first request may wait for the REQ side to start; time from it on.
	st := newSteady(a.Count)
	before := takeSample()
	for i := 1; i < a.Count; i++ {
		st.at(i)
		n, err := s.Echo(ctx)
		if err != nil {
			return i, err
		}
		if n != a.Size {
			return i, fmt.Errorf("%w: request %d has %d bytes, want %d", ErrCheck, i, n, a.Size)
		}
	}
	st.done(a.Count)
	after := takeSample()
	r.Add("elapsed_s", "%.6f", after.t.Sub(before.t).Seconds())
	addCosts(r, before, after, a.Count-1)
	st.add(r)
	return a.Count, nil
}
