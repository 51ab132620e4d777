package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/zloop/zloop/bench/internal/contract"
)

func TestMain(m *testing.M) {
	// The runner's tests start this test binary as their thr and lat tools (fakeTool).
	if os.Getenv("COMPARE_FAKE") != "" {
		os.Exit(fakeTool())
	}
	goleak.VerifyTestMain(m)
}

// fakeTool is a stand-in for bin/<impl>/<tool>, chosen by the name of the directory it was
// started from: "ok" (and "loopback", the limit line, at twice the rate) follows the contract (the bind side listens until the connect side has
// come and gone) and reports figures derived from SIZE, "fail" exits 1 at once, and "hang"
// listens or connects, starts a child, records both pids in $COMPARE_FAKE_PIDS and never ends.
func fakeTool() int {
	impl, tool := filepath.Base(filepath.Dir(os.Args[0])), filepath.Base(os.Args[0])
	if os.Getenv("COMPARE_FAKE") == "child" {
		return hang()
	}
	a, err := contract.Parse(tool, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res := contract.Result{Status: contract.StatusOK, Tool: tool, Role: a.Role, Impl: impl, Size: a.Size, Count: a.Count}
	if impl == "fail" {
		res.Status = contract.StatusError
		fmt.Println(res.String())
		fmt.Fprintln(os.Stderr, "fake: failing as asked")
		return 1
	}
	// tcp:// and ws:// on TCP, ipc:// on a unix socket, as the real tools.
	netw, addr := "tcp", strings.TrimPrefix(a.Endpoint, "tcp://")
	switch {
	case strings.HasPrefix(a.Endpoint, "ws://"):
		addr = strings.TrimSuffix(strings.TrimPrefix(a.Endpoint, "ws://"), "/zmq")
	case strings.HasPrefix(a.Endpoint, "ipc://"):
		netw, addr = "unix", strings.TrimPrefix(a.Endpoint, "ipc://")
	}
	if a.Bind {
		l, err := net.Listen(netw, addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer l.Close()
		if impl == "hang" {
			return hang()
		}
		c, err := l.Accept()
		if err != nil {
			return 1
		}
		_, _ = io.Copy(io.Discard, c) // until the connect side closes
		c.Close()
	} else {
		c, err := net.Dial(netw, addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if impl == "hang" {
			return hang()
		}
		c.Close()
	}
	switch a.Role {
	case contract.RoleRecv:
		if impl == limitImpl { // the limit line, twice as fast as the others
			res.Add("msg_per_s", "%d", 2000*a.Size)
			res.Add("mbit_per_s", "%d", 16*a.Size)
			break
		}
		res.Add("msg_per_s", "%d", 1000*a.Size)
		res.Add("mbit_per_s", "%d", 8*a.Size)
	case contract.RoleReq:
		res.Add("rtt_p50_us", "%d", a.Size)
		res.Add("rtt_p99_us", "%d", 2*a.Size)
	}
	res.Add("allocs_per_msg", "%.3f", 0.5)
	fmt.Println(res.String())
	return 0
}

// hang starts a child (unless it is one), writes its pids down and waits for a signal that only
// SIGKILL answers.
func hang() int {
	pids := []int{os.Getpid()}
	if os.Getenv("COMPARE_FAKE") != "child" {
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "COMPARE_FAKE=child")
		if err := child.Start(); err != nil {
			return 1
		}
		pids = append(pids, child.Process.Pid)
	}
	if name := os.Getenv("COMPARE_FAKE_PIDS"); name != "" && len(pids) > 1 {
		f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			for _, p := range pids {
				fmt.Fprintln(f, p)
			}
			f.Close()
		}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt) // keeps the runtime from calling the wait a deadlock
	<-ch
	return 1
}

// fakeBin makes DIR/<impl>/{thr,lat} links to this test binary for each impl and sets
// COMPARE_FAKE for the test, so that the runner starts fakeTool.
func fakeBin(t *testing.T, impls ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, impl := range impls {
		if err := os.MkdirAll(filepath.Join(dir, impl), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"thr", "lat"} {
			if err := os.Symlink(self, filepath.Join(dir, impl, tool)); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("COMPARE_FAKE", "1")
	// Under -race a Go program sleeps a second at exit for late reports; the fakes need not.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return dir
}

func readPids(t *testing.T, name string) []int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
