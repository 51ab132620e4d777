package ctools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/gozmqbench"
	"github.com/zloop/zloop/bench/internal/libzmqbench"
	"github.com/zloop/zloop/bench/internal/zloopbench"
	"github.com/zloop/zloop/internal/leaktest"
)

// binDir holds the built thr and lat, or is "" when they could not be built (why: buildErr).
var binDir, buildErr = "", error(nil)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ctools")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildErr = build(dir)
	if buildErr == nil {
		binDir = dir
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// leaktest's options: zloop (TestPairsCurve) leaves gnet's worker pool behind by design.
		if err := goleak.Find(leaktest.Options()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// build compiles bench/c as the Makefile does.
func build(dir string) error {
	if _, err := exec.LookPath("gcc"); err != nil {
		return err
	}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libzmq").Output()
	if err != nil {
		return fmt.Errorf("pkg-config libzmq: %w", err)
	}
	src := filepath.Join("..", "..", "c")
	for _, tool := range []string{"thr", "lat"} {
		args := []string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", filepath.Join(dir, tool),
			filepath.Join(src, tool+".c"), filepath.Join(src, "contract.c")}
		args = append(args, strings.Fields(string(flags))...)
		args = append(args, "-lpthread", "-lm")
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("gcc %s: %v\n%s", tool, err, out)
		}
	}
	return nil
}

func need(t *testing.T) {
	t.Helper()
	if binDir == "" {
		t.Skip("C tools not built:", buildErr)
	}
}

// proc is a running C tool.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

func start(t *testing.T, tool, args string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(filepath.Join(binDir, tool), strings.Fields(args)...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	return p
}

// wait waits for p (at most 30 s) and returns its exit code and parsed RESULT line.
func (p *proc) wait(t *testing.T) (int, contract.Result) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not end; stderr: %s", p.cmd.Args, p.stderr.String())
	}
	out := p.stdout.String()
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "RESULT ") {
		t.Fatalf("%v: stdout %q is not one RESULT line; stderr: %s", p.cmd.Args, out, p.stderr.String())
	}
	r, err := contract.ParseResult(out)
	if err != nil {
		t.Fatal(err)
	}
	return p.cmd.ProcessState.ExitCode(), r
}

// failingImpl stands for libzmq-c in contract.Command: its sockets fail to open, as the C tools'
// do on the parity test's endpoint.
type failingImpl struct{}

func (failingImpl) Name() string { return "libzmq-c" }
func (failingImpl) Open(context.Context, contract.Kind, *contract.Args) (contract.Socket, error) {
	return nil, errors.New("no such transport")
}
func (failingImpl) Shutdown() error { return nil }

// Every command line gets the RESULT line and the exit code the Go tools give it. The endpoint
// bogus:// makes both fail at bind/connect, after parsing, so accepted lines compare too.
func TestParseParity(t *testing.T) {
	need(t)
	for _, tc := range []struct{ tool, args string }{
		{"thr", "recv bind bogus://x 64 2000000"},
		{"thr", "--check send --timeout 2.5 connect bogus://x -hwm=10 1024 7 --no-wait"},
		{"thr", "recv bind bogus://x 8 10 --check=true --hwm 0"},
		{"thr", "recv bind bogus://x 8 10 --check=F"},
		{"thr", "recv bind bogus://x +64 10"},
		{"lat", "req connect bogus://x 64 20000"},
		{"lat", "rep bind bogus://x 1 2 --warmup=1 --timeout=1e3"},
		{"thr", ""},
		{"thr", "recv bind bogus://x 64"},
		{"thr", "recv bind bogus://x 64 10 extra"},
		{"thr", "req bind bogus://x 64 10"},
		{"lat", "send bind bogus://x 64 10"},
		{"thr", "recv listen bogus://x 64 10"},
		{"thr", "recv bind 127.0.0.1:5555 64 10"},
		{"thr", "recv bind bogus://x x 10"},
		{"thr", "recv bind bogus://x -1 10"},
		{"thr", "recv bind bogus://x 2000000000 10"},
		{"thr", "recv bind bogus://x 64 0"},
		{"thr", "recv bind bogus://x 64 ten"},
		{"thr", "recv bind bogus://x 4 10 --check"},
		{"thr", "recv bind bogus://x 64 10 --warmup 1"},
		{"lat", "req bind bogus://x 64 10 --check"},
		{"lat", "req bind bogus://x 64 10 --no-wait"},
		{"lat", "req bind bogus://x 64 10 --warmup 10"},
		{"lat", "req bind bogus://x 64 10 --warmup -1"},
		{"thr", "recv bind bogus://x 64 10 --timeout"},
		{"thr", "recv bind bogus://x 64 10 --timeout 0"},
		{"thr", "recv bind bogus://x 64 10 --timeout -3"},
		{"thr", "recv bind bogus://x 64 10 --timeout NaN"},
		{"thr", "recv bind bogus://x 64 10 --timeout 2e6"},
		{"thr", "recv bind bogus://x 64 10 --hwm -5"},
		{"thr", "recv bind bogus://x 64 10 --hwm=x"},
		{"thr", "recv bind bogus://x 64 10 --check=maybe"},
		{"thr", "recv bind bogus://x 64 10 --no-wait=1"},
		{"thr", "recv bind bogus://x 64 10 --verbose"},
		{"thr", "recv bind bogus://x 64 10 --cpuprofile /tmp/p"}, // a Go-only extension
		{"thr", "recv bind bogus://x 64 10 --curve"},
		{"lat", "req connect bogus://x 64 10 --curve --hwm 5"},
		{"thr", "send connect bogus://x 64 10 --curve=1"},
		{"thr", "weird=role bind bogus://x 64 10"},
		{"thr", "--fill send connect bogus://x 64 10"},
		{"thr", "send connect bogus://x 64 10 --fill=1"},
		{"lat", "req bind bogus://x 64 10 --fill"},
	} {
		var gout, gerr bytes.Buffer
		argv := strings.Fields(tc.args)
		gcode := contract.Command(tc.tool, failingImpl{}, argv, &gout, &gerr)
		p := start(t, tc.tool, tc.args)
		code, _ := p.wait(t)
		want := gout.String()
		if strings.Contains(tc.args, "--cpuprofile") { // C rejects it as an unknown flag
			want, gcode = "RESULT status=error tool=thr role=- impl=libzmq-c size=0 count=0\n", 1
		}
		if p.stdout.String() != want || code != gcode {
			t.Errorf("%s %q:\n C: exit %d %q (stderr %q)\nGo: exit %d %q", tc.tool, tc.args, code, p.stdout.String(), p.stderr.String(), gcode, want)
		}
	}
}

func freeTCP(t *testing.T) string {
	t.Helper()
	ep, err := contract.FreeTCP()
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func goImpl(name string) contract.Impl {
	switch name {
	case "gozmq":
		return new(gozmqbench.Impl)
	case "zloop":
		return new(zloopbench.Impl)
	}
	return new(libzmqbench.Impl)
}

// runGo runs one side of a pair in this process.
func runGo(tool, args, impl string) (contract.Result, error) {
	a, err := contract.Parse(tool, strings.Fields(args))
	if err != nil {
		return contract.Result{}, err // not t.Fatal: this runs off the test's goroutine
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return contract.Run(ctx, &a, goImpl(impl))
}

// pair runs a C side against a Go side (or against another C side when other is "c"); cBinds
// says which one binds. It returns the C side's result and the other's.
func pair(t *testing.T, tool, server, client string, cBinds bool, other string) (contract.Result, contract.Result) {
	t.Helper()
	if other == "c" {
		sp := start(t, tool, server+" --timeout 20")
		waitListening(t, server)
		cp := start(t, tool, client+" --timeout 20")
		scode, sres := sp.wait(t)
		ccode, cres := cp.wait(t)
		if scode != 0 || ccode != 0 || sres.Status != contract.StatusOK || cres.Status != contract.StatusOK {
			t.Fatalf("server: exit %d %s %s\nclient: exit %d %s %s", scode, sres.String(), sp.stderr.String(), ccode, cres.String(), cp.stderr.String())
		}
		return sres, cres
	}
	cArgs, oArgs := server, client
	if !cBinds {
		cArgs, oArgs = client, server
	}
	var p *proc
	if cBinds {
		p = start(t, tool, cArgs+" --timeout 20")
		waitListening(t, server)
	}
	var ores contract.Result
	var oerr error
	done := make(chan struct{})
	go func() { defer close(done); ores, oerr = runGo(tool, oArgs, other) }()
	if !cBinds {
		waitListening(t, server)
		p = start(t, tool, cArgs+" --timeout 20")
	}
	code, cres := p.wait(t)
	<-done
	if code != 0 || cres.Status != contract.StatusOK || oerr != nil || ores.Status != contract.StatusOK {
		t.Fatalf("C: exit %d %s (stderr %s)\n%s: %v %s", code, cres.String(), p.stderr.String(), other, oerr, ores.String())
	}
	return cres, ores
}

// waitListening polls until the bind side of args listens (tcp: a connection is accepted; ipc:
// the socket file exists).
func waitListening(t *testing.T, args string) {
	t.Helper()
	ep := strings.Fields(args)[2]
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if path, ok := strings.CutPrefix(ep, "ipc://"); ok {
			if _, err := os.Stat(path); err == nil {
				return
			}
		} else if ok := tcpListening(ep); ok {
			return
		}
		<-tick.C
	}
	t.Fatalf("%s does not listen", ep)
}

// tcpListening looks for a LISTEN socket on the endpoint's port in /proc/net/tcp: a probe
// connection would be a peer of the tool under test.
func tcpListening(ep string) bool {
	port, _ := strconv.Atoi(ep[strings.LastIndexByte(ep, ':')+1:])
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return true // cannot tell: every connecting side retries
	}
	want := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
			return true
		}
	}
	return false
}

func figure(t *testing.T, r contract.Result, key string) float64 {
	t.Helper()
	v, ok := r.Get(key)
	if !ok {
		t.Fatalf("%s has no %s", r.String(), key)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The C tools against themselves and the Go ones, binding and connecting, over tcp and ipc, with
// more messages than the HWM and every sequence number checked.
func TestPairs(t *testing.T) {
	need(t)
	for _, other := range []string{"c", "libzmq", "gozmq"} {
		for _, cBinds := range []bool{true, false} {
			if other == "c" && !cBinds {
				continue
			}
			for _, tr := range []string{"tcp", "ipc"} {
				t.Run(fmt.Sprintf("%s/cbinds=%v/%s", other, cBinds, tr), func(t *testing.T) {
					ep := func() string {
						if tr == "tcp" {
							return freeTCP(t)
						}
						return "ipc://" + filepath.Join(t.TempDir(), "x.sock")
					}
					e := ep()
					c, o := pair(t, "thr", "recv bind "+e+" 100 5000 --check --hwm 100", "send connect "+e+" 100 5000 --check --hwm 100", cBinds, other)
					recv := c
					if !cBinds {
						recv = o
					}
					mps, el := figure(t, recv, "msg_per_s"), figure(t, recv, "elapsed_s")
					// elapsed_s is printed to the microsecond: over a run of 2 ms its rounding alone
					// moves the product by up to mps x 0.5 us, more than one message.
					slack := 1 + mps*0.5e-6
					if mps <= 0 || el <= 0 || math.Abs(mps*el-5000) > slack {
						t.Fatalf("msg_per_s x elapsed_s != count: %s", recv.String())
					}
					if _, ok := c.Get("allocs_per_msg"); ok {
						t.Fatalf("the C tool reports Go heap figures: %s", c.String())
					}
					figure(t, c, "cpu_s")

					e = ep()
					c, o = pair(t, "lat", "rep bind "+e+" 64 300", "req connect "+e+" 64 300 --warmup 50", cBinds, other)
					req := o
					if !cBinds {
						req = c
					}
					p50, p99, mx := figure(t, req, "rtt_p50_us"), figure(t, req, "rtt_p99_us"), figure(t, req, "rtt_max_us")
					if !(p50 > 0 && p50 <= p99 && p99 <= mx) || figure(t, req, "samples") != 250 || figure(t, req, "avg_oneway_us") <= 0 {
						t.Fatalf("rtt figures: %s", req.String())
					}
				})
			}
		}
	}
}

// --fill: the C sender sends zmq_msg_init_size's buffers, numbered, whole and in order, to the C
// receiver and to libzmq's through cgo.
func TestPairsFill(t *testing.T) {
	need(t)
	for _, other := range []string{"c", "libzmq"} {
		t.Run(other, func(t *testing.T) {
			e := freeTCP(t)
			pair(t, "thr", "recv bind "+e+" 100000 300 --check --hwm 10", "send connect "+e+" 100000 300 --check --hwm 10 --fill", false, other)
		})
	}
}

// --curve: the C tools and zloop's (and libzmq's through cgo) agree on the contract's keys and who
// is the server, both ways, thr and lat over tcp.
func TestPairsCurve(t *testing.T) {
	need(t)
	for _, other := range []string{"c", "zloop", "libzmq"} {
		for _, cBinds := range []bool{true, false} {
			if other == "c" && !cBinds {
				continue
			}
			t.Run(fmt.Sprintf("%s/cbinds=%v", other, cBinds), func(t *testing.T) {
				e := freeTCP(t)
				c, o := pair(t, "thr", "recv bind "+e+" 100 2000 --check --curve", "send connect "+e+" 100 2000 --check --curve", cBinds, other)
				recv := c
				if !cBinds {
					recv = o
				}
				if mps, el := figure(t, recv, "msg_per_s"), figure(t, recv, "elapsed_s"); mps*el < 1999 || mps*el > 2001 {
					t.Fatalf("msg_per_s x elapsed_s != count: %s", recv.String())
				}
				e = freeTCP(t)
				c, o = pair(t, "lat", "rep bind "+e+" 64 200 --curve", "req connect "+e+" 64 200 --warmup 20 --curve", cBinds, other)
				req := o
				if !cBinds {
					req = c
				}
				if figure(t, req, "samples") != 180 {
					t.Fatalf("rtt figures: %s", req.String())
				}
			})
		}
	}
}

// The receiver's --check catches a sender without sequence numbers (every payload says 0), at
// message 1: status check_failed, exit code 2, done=1.
func TestCheckFailed(t *testing.T) {
	need(t)
	e := freeTCP(t)
	p := start(t, "thr", "recv bind "+e+" 16 100 --check --timeout 20")
	waitListening(t, "recv bind "+e)
	// A C sender, killed at the test's end: with its receiver gone, its linger may never end.
	start(t, "thr", "send connect "+e+" 16 100 --no-wait --timeout 10")
	code, r := p.wait(t)
	if code != 2 || r.Status != contract.StatusCheckFailed {
		t.Fatalf("exit %d %s", code, r.String())
	}
	if v, _ := r.Get("done"); v != "1" {
		t.Fatalf("done=%s: %s", v, r.String())
	}
}

// A receiver whose sender never comes ends at its deadline: status timeout, exit code 3.
func TestTimeout(t *testing.T) {
	need(t)
	for _, args := range []string{"thr recv bind " + freeTCP(t) + " 8 10 --timeout 0.3", "lat req connect " + freeTCP(t) + " 8 10 --timeout 0.3"} {
		f := strings.Fields(args)
		start := time.Now()
		p := startArgs(t, f[0], f[1:])
		code, r := p.wait(t)
		if code != 3 || r.Status != contract.StatusTimeout || time.Since(start) > 5*time.Second {
			t.Fatalf("%s: exit %d %s after %v", args, code, r.String(), time.Since(start))
		}
		if v, _ := r.Get("done"); v != "0" {
			t.Fatalf("%s: done=%s", args, v)
		}
	}
}

func startArgs(t *testing.T, tool string, args []string) *proc {
	t.Helper()
	return start(t, tool, strings.Join(args, " "))
}
