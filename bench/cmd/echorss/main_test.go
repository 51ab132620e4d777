package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/zloop/zloop/bench/internal/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseStatus(t *testing.T) {
	m, err := parseStatus("Name:\techo\nVmPeak:\t  100 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\nThreads:\t3\n")
	if err != nil || m != (memory{RSS: 4096, HWM: 5120}) {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"Name:\techo\n", "VmHWM:\t5 MB\nVmRSS:\t4 kB\n", "VmHWM:\tx kB\nVmRSS:\t4 kB\n"} {
		if _, err := parseStatus(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	// This process's own status parses, with a peak no lower than the current RSS.
	m, err = readMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Fatalf("self: %+v %v", m, err)
	}
}

func TestParseCases(t *testing.T) {
	cs, err := parseCases("1x200000000, 10x20_000_000")
	if err != nil || len(cs) != 2 || cs[0] != (testCase{1, 200e6}) || cs[1].inflight() != 200e6 {
		t.Fatalf("%v %v", cs, err)
	}
	for _, bad := range []string{"", "200000000", "0x5", "1x0", "1x-5", "x5", "1001x5", "1x2000000000"} {
		if _, err := parseCases(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// buildServers builds bin/zloop/echo with go and bin/libzmq-c/echo with gcc, as the Makefile
// does, and returns the bin directory and the impls built. Without gcc or libzmq's headers the
// C server is left out, unless CI=true, where that is a failure.
func buildServers(t *testing.T) (string, []string) {
	t.Helper()
	bin := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "zloop", "echo"), "../zloop/echo").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	impls := []string{"zloop"}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libzmq").Output()
	if err == nil {
		if err = os.MkdirAll(filepath.Join(bin, "libzmq-c"), 0o755); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", filepath.Join(bin, "libzmq-c", "echo"),
			filepath.Join("..", "..", "c", "echo.c")}, strings.Fields(string(flags))...)
		if out, err = exec.Command("gcc", args...).CombinedOutput(); err != nil {
			err = fmt.Errorf("%w\n%s", err, out)
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the C echo server: %v", err)
		}
		t.Logf("the C echo server is left out: %v", err)
		return bin, impls
	}
	return bin, append(impls, "libzmq-c")
}

// The whole command with small messages: a fresh server per case, transport and impl, every
// reply checked by the client, the figures present and consistent, the table written.
func TestMeasureAll(t *testing.T) {
	bin, impls := buildServers(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-bin", bin, "-out", out, "-name", "x", "-impls", strings.Join(impls, ","),
		"-transports", "tcp,ipc,ws", "-cases", "1x3000000,3x1000000", "-timeout", "30s"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "x.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "RESULT ") {
			continue
		}
		n++
		r, err := contract.ParseResult(line)
		if err != nil || r.Status != contract.StatusOK {
			t.Fatalf("%q: %v", line, err)
		}
		base, _ := figure(r, "rss_base_kb")
		hwm, _ := figure(r, "hwm_kb")
		growth, _ := figure(r, "growth_kb")
		if base <= 0 || hwm < base || growth != hwm-base {
			t.Fatalf("figures: %s", line)
		}
		if x, _ := figure(r, "growth_x"); x*float64(r.Count*r.Size) < growth*1024*0.999 || x*float64(r.Count*r.Size) > growth*1024*1.001+1e3 {
			t.Fatalf("growth_x: %s", line)
		}
	}
	if want := len(impls) * 3 * 2; n != want {
		t.Fatalf("%d RESULT lines, want %d:\n%s", n, want, raw)
	}
	md, err := os.ReadFile(filepath.Join(out, "x.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| in flight | transport | zloop peak growth MB | zloop x in flight |", "| 3 x 1 MB | ws |"} {
		if !strings.Contains(string(md), s) {
			t.Fatalf("no %q in\n%s", s, md)
		}
	}
}

func TestMeasureAllErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-bin", t.TempDir(), "-impls", "zloop"}, // no bin/zloop/echo
		{"-cases", "5"},
		{"-transports", "udp"},
		{"-runs", "0"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append(args, "-out", t.TempDir()), &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, stderr.String())
		}
	}
}
