//go:build linux

package swarm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zloop/zloop/bench/internal/contract"
)

// Main runs the swarm command and returns its exit code: 0 ok, 1 usage or connection error,
// 3 timeout (the contract's codes).
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a, err := Parse(argv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "usage:", Usage)
		res := contract.Result{Status: contract.StatusError, Tool: "swarm", Role: string(a.Mode), Impl: a.Impl, Count: a.N}
		fmt.Fprintln(stdout, res.String())
		return 1
	}
	res, err := Run(&a, stdin, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "swarm:", err)
	}
	fmt.Fprintln(stdout, res.String())
	return res.Status.ExitCode()
}

// Run opens a.N connections and measures what a.Mode measures. Once every handshake completed it
// prints "CONNECTED n=N connect_s=S" on out; the sub and dealer modes then wait for a line on in
// (unless a.Go), the runner's word that the server is sending, before their warm-up and window.
func Run(a *Args, in io.Reader, out io.Writer) (contract.Result, error) {
	res := contract.Result{Status: contract.StatusError, Tool: "swarm", Role: string(a.Mode), Impl: a.Impl, Count: a.N}
	if a.Mode == ModeDealer {
		res.Size = a.Size
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Timeout)
	defer cancel()
	t0 := time.Now()
	sh := &shared{a: a, hello: hello(a.Mode), clock: func() int64 { return int64(time.Since(t0)) }}
	rss0, rssErr := readRSS(a.Pids)
	if rssErr != nil {
		return res, rssErr
	}
	cpu0 := cpuTime()
	loops := make([]*loop, 0, a.Threads)
	done := make(chan struct{}, a.Threads)
	for t := range a.Threads {
		first, last := a.N*t/a.Threads, a.N*(t+1)/a.Threads
		l, err := newLoop(sh, first, last-first)
		if err != nil {
			sh.stop.Store(true)
			for range loops {
				<-done
			}
			return res, err
		}
		loops = append(loops, l)
		go func() { l.run(); done <- struct{}{} }()
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sh.stop.Store(true)
			for range loops {
				<-done
			}
		}
	}
	defer stop()
	sum := func(f func(*loop) int64) (n int64) {
		for _, l := range loops {
			n += f(l)
		}
		return n
	}
	fail := func(err error) (contract.Result, error) {
		if ctx.Err() != nil {
			res.Status = contract.StatusTimeout
		}
		res.Figures = append(res.Figures, contract.Figure{Key: "done", Value: strconv.FormatInt(sum(func(l *loop) int64 { return l.up.Load() }), 10)},
			contract.Figure{Key: "closed", Value: strconv.FormatInt(sum(func(l *loop) int64 { return l.closed.Load() }), 10)})
		return res, err
	}
	// Every connection through its handshake, or the first failure.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for sum(func(l *loop) int64 { return l.up.Load() }) < int64(a.N) {
		if err := sh.firstErr(); err != nil {
			return fail(err)
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("%d of %d connections up at the deadline", sum(func(l *loop) int64 { return l.up.Load() }), a.N))
		case <-tick.C:
		}
	}
	connect := time.Since(t0)
	connectCPU := cpuTime() - cpu0
	fmt.Fprintf(out, "CONNECTED n=%d connect_s=%.3f\n", a.N, connect.Seconds())
	if f, ok := out.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	res.Add("connect_s", "%.3f", connect.Seconds())
	res.Add("conn_per_s", "%.0f", float64(a.N)/connect.Seconds())
	res.Add("connect_client_cpu", "%.2f", connectCPU.Seconds()/connect.Seconds())

	wait := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return errors.New("deadline during the measurement")
		}
		return sh.firstErr()
	}
	switch a.Mode {
	case ModeIdle:
		if len(a.Pids) > 0 {
			if err := wait(a.Settle); err != nil {
				return fail(err)
			}
			rss1, err := readRSS(a.Pids)
			if err != nil {
				return fail(err)
			}
			res.Add("rss_before_kb", "%d", rss0)
			res.Add("rss_after_kb", "%d", rss1)
			res.Add("rss_per_conn_b", "%.0f", float64(rss1-rss0)*1024/float64(a.N))
		}
		// The hold is the servers' idle time: their CPU over it (heartbeats, timers) per second.
		cpu0, cpuErr := readCPU(a.Pids)
		p0, h0 := sum(func(l *loop) int64 { return l.pings.Load() }), time.Now()
		if err := wait(a.Hold); err != nil {
			return fail(err)
		}
		if a.Hold > 0 && len(a.Pids) > 0 && cpuErr == nil {
			cpu1, err := readCPU(a.Pids)
			if err != nil {
				return fail(err)
			}
			el := time.Since(h0).Seconds()
			pings := sum(func(l *loop) int64 { return l.pings.Load() }) - p0
			res.Add("hold_s", "%.3f", el)
			res.Add("server_cpu_per_s", "%.4f", (cpu1-cpu0)/el)
			res.Add("pings", "%d", pings)
			res.Add("pings_per_s", "%.0f", float64(pings)/el)
		}
	case ModeSub, ModeDealer:
		if !a.Go {
			if err := waitLine(ctx, in); err != nil {
				return fail(err)
			}
		}
		sh.go_.Store(true)
		if err := wait(a.Warmup); err != nil {
			return fail(err)
		}
		m0, c0, w0 := sum(func(l *loop) int64 { return l.msgs.Load() }), cpuTime(), time.Now()
		s0, sErr := readCPU(a.Pids)
		sh.measuring.Store(true)
		if err := wait(a.Window); err != nil {
			return fail(err)
		}
		sh.measuring.Store(false)
		m1, c1, w1 := sum(func(l *loop) int64 { return l.msgs.Load() }), cpuTime(), time.Now()
		el := w1.Sub(w0).Seconds()
		if s1, err := readCPU(a.Pids); len(a.Pids) > 0 && sErr == nil && err == nil {
			// The servers' CPU over the window: divided by the rate, what a message costs them.
			res.Add("server_cpu_per_s", "%.4f", (s1-s0)/el)
		}
		if a.Mode == ModeSub {
			res.Add("deliveries_per_s", "%.0f", float64(m1-m0)/el)
		} else {
			stop()
			var rtts []int64
			for _, l := range loops {
				rtts = append(rtts, l.rtts...)
			}
			st := contract.SummariseRTT(rtts)
			res.Add("rt_per_s", "%.0f", float64(m1-m0)/el)
			res.Add("rtt_p50_us", "%.1f", float64(st.P50)/1e3)
			res.Add("rtt_p99_us", "%.1f", float64(st.P99)/1e3)
			res.Add("rtt_max_us", "%.1f", float64(st.Max)/1e3)
			res.Add("samples", "%d", st.N)
		}
		res.Add("window_s", "%.3f", el)
		res.Add("client_cpu", "%.2f", (c1-c0).Seconds()/el)
	}
	res.Add("threads", "%d", a.Threads)
	stop()
	if err := sh.firstErr(); err != nil {
		return fail(err)
	}
	res.Status = contract.StatusOK
	return res, nil
}

// waitLine waits for one line on in, or the deadline.
func waitLine(ctx context.Context, in io.Reader) error {
	got := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(in).ReadString('\n')
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			return fmt.Errorf("waiting for the start line: %w", err)
		}
		return nil
	case <-ctx.Done():
		return errors.New("deadline while waiting for the start line")
	}
}

// cpuTime is this process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readRSS sums VmRSS (kB) of the processes pids.
func readRSS(pids []int) (int64, error) { return sumProc(pids, "status", ParseVmRSS) }

// readCPU sums the user and system CPU seconds of the processes pids so far, all their threads.
func readCPU(pids []int) (float64, error) { return sumProc(pids, "stat", ParseStatCPU) }

// sumProc sums what parse reads from /proc/PID/file of each of pids.
func sumProc[T int64 | float64](pids []int, file string, parse func(string) (T, error)) (T, error) {
	var total T
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
		if err != nil {
			return 0, err
		}
		v, err := parse(string(b))
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		total += v
	}
	return total, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux this runs on.
const clockTicks = 100

// ParseStatCPU reads utime plus stime (fields 14 and 15, in clock ticks) from the text of
// /proc/PID/stat, in seconds. The command name (field 2) may hold spaces and parentheses, so the
// fields are counted after its last ')'.
func ParseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat")
	}
	f := strings.Fields(stat[i+1:]) // from field 3 (state) on
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad utime or stime in /proc stat")
	}
	return float64(ut+st) / clockTicks, nil
}

// ParseVmRSS reads VmRSS in kB from the text of /proc/PID/status.
func ParseVmRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errors.New("no VmRSS line in /proc status")
}
