package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/proc"
)

// memory is what /proc/<pid>/status says of a process's resident set, in kB.
type memory struct{ RSS, HWM int64 }

// parseStatus reads VmRSS and VmHWM from the text of /proc/<pid>/status.
func parseStatus(text string) (memory, error) {
	var m memory
	found := 0
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("/proc status: %q", line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc status: %q: %w", line, err)
		}
		if k == "VmRSS" {
			m.RSS = n
		} else {
			m.HWM = n
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("/proc status: no VmRSS and VmHWM")
	}
	return m, nil
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(string(b))
}

// resetPeak asks the kernel to set pid's VmHWM to its current VmRSS (clear_refs "5", Linux 4.0).
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// endpoint returns a fresh endpoint of transport tr to bind.
func endpoint(tr, dir string, seq int) (string, error) {
	if tr == "ipc" {
		return "ipc://" + filepath.Join(dir, fmt.Sprintf("echo-%d.sock", seq)), nil
	}
	port, err := contract.FreePort()
	if err != nil {
		return "", err
	}
	if tr == "ws" {
		return fmt.Sprintf("ws://127.0.0.1:%d/zmq", port), nil
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", port), nil
}

var seq int

// server is one running bin/<impl>/echo; exec's copying goroutine writes its stderr to log.
type server struct {
	*proc.Proc
	log proc.Log
}

func (s *server) errText() string { return s.log.String() }

// startServer starts bin/<impl>/echo ENDPOINT and waits until it prints READY.
func startServer(o *options, impl, ep string) (*server, error) {
	s := &server{}
	cmd := exec.Command(filepath.Join(o.bin, impl, "echo"), ep)
	cmd.Stderr = &s.log
	ready := make(chan bool, 1) // proc.Start's goroutine says once whether READY came
	var err error
	s.Proc, err = proc.Start(cmd, func(out io.Reader) {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.TrimSpace(sc.Text()) == "READY" {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		_, _ = io.Copy(io.Discard, out)
	})
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(o.serverReady)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if ok {
			return s, nil
		}
		return nil, fmt.Errorf("echo server exited before READY (%v): %s", s.Err(), s.errText())
	case <-timer.C:
		s.Stop(0)
		return nil, fmt.Errorf("echo server not READY after %v: %s", o.serverReady, s.errText())
	}
}

// sampler polls pid's VmRSS every interval until stopped, keeping the largest.
type sampler struct {
	max  int64
	stop chan struct{}
	done chan struct{}
}

func startSampler(pid int, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if m, err := readMemory(pid); err == nil && m.RSS > s.max {
				s.max = m.RSS
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) end() int64 {
	close(s.stop)
	<-s.done
	return s.max
}

// measure runs case c against a fresh server of impl over transport tr.
func measure(ctx context.Context, o *options, impl, tr string, c testCase) (contract.Result, error) {
	res := contract.Result{Status: contract.StatusError, Tool: "echorss", Role: "echo", Impl: impl, Size: c.Size, Count: c.Count}
	fail := func(err error) (contract.Result, error) {
		res.Figures = []contract.Figure{{Key: "transport", Value: tr}}
		return res, err
	}
	seq++
	ep, err := endpoint(tr, o.dir, seq)
	if err != nil {
		return fail(err)
	}
	srv, err := startServer(o, impl, ep)
	if err != nil {
		return fail(err)
	}
	pid := srv.Pid()
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop(0)
		}
	}()
	base, err := readMemory(pid)
	if err != nil {
		return fail(err)
	}
	reset := resetPeak(pid)
	smp := startSampler(pid, o.sample)
	cctx, cancel := context.WithTimeout(ctx, o.timeout)
	elapsed, cerr := runClient(cctx, ep, c)
	cancel()
	sampled := smp.end()
	end, merr := readMemory(pid)
	stopped = true
	rc := srv.Stop(o.grace)
	switch {
	case cerr != nil:
		return fail(fmt.Errorf("client: %w (server: %s)", cerr, srv.errText()))
	case merr != nil:
		return fail(merr)
	case rc != 0:
		return fail(fmt.Errorf("echo server exited %d (%v): %s", rc, srv.Cmd.ProcessState, srv.errText()))
	}
	growth := end.HWM - base.RSS
	res.Status = contract.StatusOK
	res.Add("transport", "%s", tr)
	res.Add("inflight_bytes", "%d", c.inflight())
	res.Add("rss_base_kb", "%d", base.RSS)
	res.Add("hwm_kb", "%d", end.HWM)
	res.Add("rss_end_kb", "%d", end.RSS)
	res.Add("rss_max_sampled_kb", "%d", sampled)
	res.Add("growth_kb", "%d", growth)
	res.Add("growth_x", "%.3f", float64(growth)*1024/float64(c.inflight()))
	res.Add("client_s", "%.3f", elapsed.Seconds())
	res.Add("hwm_reset", "%d", map[bool]int{false: 0, true: 1}[reset])
	return res, nil
}
