package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
)

func newRunner(bin string, log *bytes.Buffer) *runner {
	return &runner{bin: bin, transport: "tcp", timeout: 10 * time.Second, grace: time.Second, log: log}
}

func TestRunPairOK(t *testing.T) {
	var log bytes.Buffer
	r := newRunner(fakeBin(t, "ok"), &log)
	for _, tc := range []test{{contract.ToolThr, 64, 100}, {contract.ToolLat, 32, 50}} {
		rec := r.runPair(context.Background(), tc, pair{"ok", "ok"}, 1)
		if !rec.ok() {
			t.Fatalf("%s: not ok: %+v\n%s", tc, rec, log.String())
		}
		if len(rec.Results) != 2 || rec.CPU[0] < 0 || rec.CPU[1] < 0 {
			t.Fatalf("%s: %+v", tc, rec)
		}
		c, s := rec.roles()
		if rec.Results[0].Role != s || rec.Results[1].Role != c {
			t.Fatalf("results not server first: %+v", rec.Results)
		}
	}
}

// A server that fails: the client is never started, and the record says so.
func TestRunPairServerFails(t *testing.T) {
	var log bytes.Buffer
	r := newRunner(fakeBin(t, "ok", "fail"), &log)
	rec := r.runPair(context.Background(), test{contract.ToolThr, 8, 10}, pair{"ok", "fail"}, 1)
	if rec.ok() || rec.RC != [2]int{-1, 1} {
		t.Fatalf("%+v", rec)
	}
	if len(rec.Results) != 1 || rec.Results[0].Status != contract.StatusError {
		t.Fatalf("results %+v", rec.Results)
	}
	if !strings.Contains(log.String(), "failing as asked") {
		t.Fatalf("the failing tool's stderr is not in the log:\n%s", log.String())
	}
}

// Tools that outlive their deadline are killed with everything they started.
func TestRunPairKillsHangingTools(t *testing.T) {
	var log bytes.Buffer
	r := newRunner(fakeBin(t, "hang"), &log)
	r.timeout, r.grace = 300*time.Millisecond, 300*time.Millisecond
	pids := filepath.Join(t.TempDir(), "pids")
	t.Setenv("COMPARE_FAKE_PIDS", pids)
	start := time.Now()
	rec := r.runPair(context.Background(), test{contract.ToolThr, 8, 10}, pair{"hang", "hang"}, 1)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("runPair took %v", el)
	}
	if rec.ok() || rec.RC != [2]int{-1, -1} || !strings.Contains(log.String(), "killed") {
		t.Fatalf("%+v\n%s", rec, log.String())
	}
	all := readPids(t, pids)
	if len(all) != 4 {
		t.Fatalf("want 4 pids (two tools, two children), got %v", all)
	}
	// The children are orphans that init reaps in its own time: poll, with a deadline.
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, pid := range all {
		for !gone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d is still alive", pid)
			}
			<-tick.C
		}
	}
}

// A cancelled context (SIGINT to the runner) ends the pair at once.
func TestRunPairCancelled(t *testing.T) {
	var log bytes.Buffer
	r := newRunner(fakeBin(t, "hang"), &log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	rec := r.runPair(ctx, test{contract.ToolLat, 8, 10}, pair{"hang", "hang"}, 1)
	if rec.ok() || time.Since(start) > 5*time.Second {
		t.Fatalf("%+v after %v", rec, time.Since(start))
	}
}

// gone reports whether pid has exited (a zombie waiting for init counts as gone).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// The whole command: interleaved rounds, the raw file, the table and the chart, and -from.
func TestRunCommand(t *testing.T) {
	bin := fakeBin(t, "ok", "ok2")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-bin", bin, "-out", out, "-name", "x", "-impls", "ok,ok2", "-pairs", "self,ok:ok2",
		"-sizes", "8,16", "-counts", "10", "-lat", "4:10", "-runs", "2", "-timeout", "10s",
		"-baselines", "ok:ok"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "x.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "# tool=") {
			f := strings.Fields(line)
			order = append(order, f[1]+" "+f[2]+" "+f[4]+" "+f[8])
		}
	}
	want := []string{}
	for _, round := range []string{"round=1", "round=2"} {
		for _, tc := range []string{"tool=thr size=8", "tool=thr size=16", "tool=lat size=4"} {
			for _, p := range []string{"pair=ok->ok", "pair=ok2->ok2", "pair=ok->ok2"} {
				tool, size, _ := strings.Cut(tc, " ")
				want = append(want, tool+" "+p+" "+size+" "+round)
			}
		}
	}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Fatalf("run order:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	if got := strings.Count(string(raw), "\nRESULT status=ok "); got != 2*len(want) {
		t.Fatalf("%d ok RESULT lines for %d runs:\n%s", got, len(want), raw)
	}
	md, err := os.ReadFile(filepath.Join(out, "x.md"))
	if err != nil {
		t.Fatal(err)
	}
	// fakeTool reports 1000*SIZE msg/s: ok->ok2 at 16 B is 16,000 msg/s, the baseline's too.
	if !strings.Contains(string(md), "| ok -> ok2 | 2/2 | 16,000 | 16,000 - 16,000 | 128 | 1.00 (1.00, 2 of 2) |") {
		t.Fatalf("table:\n%s", md)
	}
	if !strings.Contains(stdout.String(), "### thr 16 B x 10 messages") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
	svg, err := os.ReadFile(filepath.Join(out, "x.svg"))
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg, 9)

	// -from reads the raw file back to the same table.
	out2 := t.TempDir()
	stdout.Reset()
	if code := run([]string{"-from", filepath.Join(out, "x.txt"), "-out", out2, "-name", "y", "-baselines", "ok:ok"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-from: exit %d\n%s", code, stderr.String())
	}
	md2, err := os.ReadFile(filepath.Join(out2, "y.md"))
	if err != nil {
		t.Fatal(err)
	}
	tables := func(b []byte) string { _, s, _ := strings.Cut(string(b), "###"); return s }
	if tables(md) != tables(md2) {
		t.Fatalf("-from gives another table:\n%s\nvs\n%s", md, md2)
	}
	// ... and keeps the command the raw file was made by.
	if !strings.Contains(string(md2), "re-rendered from `x.txt`.\n\nCommand: `compare -") {
		t.Fatalf("-from's preamble:\n%s", md2)
	}
}

// Several transports interleave within each round, the limit line runs first in each, and the
// table has a section per transport with a "% of limit" column.
func TestRunCommandLimitTransports(t *testing.T) {
	bin := fakeBin(t, "ok", "loopback")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-bin", bin, "-out", out, "-name", "x", "-impls", "ok", "-pairs", "self",
		"-sizes", "8", "-counts", "10", "-lat", "4:10", "-runs", "2", "-timeout", "10s",
		"-baselines", "ok:ok", "-transport", "tcp,ipc,ws", "-limit", "-hwm", "4", "-check"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "x.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "# tool=") {
			f := strings.Fields(line)
			order = append(order, strings.Join([]string{f[1], f[2], f[3], f[8]}, " "))
		}
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && f[1] == "tool=thr" && f[6] != "flags=--check,--hwm,4" || len(f) > 6 && f[1] == "tool=lat" && f[6] != "flags=--hwm,4" {
			t.Fatalf("flags: %s", line)
		}
	}
	var want []string
	for _, round := range []string{"round=1", "round=2"} {
		for _, tr := range []string{"tcp", "ipc", "ws"} {
			for _, p := range []string{"loopback->loopback", "ok->ok"} {
				want = append(want, "tool=thr pair="+p+" transport="+tr+" "+round)
			}
		}
		for _, tr := range []string{"tcp", "ipc", "ws"} { // lat does not run the limit line
			want = append(want, "tool=lat pair=ok->ok transport="+tr+" "+round)
		}
	}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Fatalf("run order:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	md, err := os.ReadFile(filepath.Join(out, "x.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"### thr 8 B x 10 messages (PUSH -> PULL) over ipc",
		"### lat 4 B x 10 round trips (REQ -> REP) over ws",
		"| sender -> receiver | ok | msg/s median | min - max | Mb/s | x ok->ok (by round) | % of limit |",
		"| loopback -> loopback | 2/2 | 16,000 | 16,000 - 16,000 | 128 | 2.00 (2.00, 2 of 2) | 100% |",
		"| ok -> ok | 2/2 | 8,000 | 8,000 - 8,000 | 64 | 1.00 (1.00, 2 of 2) | 50% |",
	} {
		if !strings.Contains(string(md), s) {
			t.Fatalf("no %q in the table:\n%s", s, md)
		}
	}
	// -from finds the limit line in the raw file and keeps its column.
	stdout.Reset()
	if code := run([]string{"-from", filepath.Join(out, "x.txt"), "-out", t.TempDir(), "-name", "y", "-baselines", "ok:ok"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-from: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| ok -> ok | 2/2 | 8,000 | 8,000 - 8,000 | 64 | 1.00 (1.00, 2 of 2) | 50% |") {
		t.Fatalf("-from table:\n%s", stdout.String())
	}
}

func TestRunCommandErrors(t *testing.T) {
	bin := fakeBin(t, "ok")
	for _, args := range [][]string{
		{"-bin", bin, "-impls", "ok", "-pairs", "ok:missing"},
		{"-bin", bin, "-impls", "ok,gone", "-pairs", "self"}, // no bin/gone
		{"-bin", bin, "-impls", "ok", "-pairs", "self", "-sizes", "1,2", "-counts", "1,2,3"},
		{"-bin", bin, "-impls", "ok", "-pairs", "self", "-runs", "0"},
		{"-bin", bin, "-impls", "ok", "-pairs", "self", "-lat", "64"},
		{"-bin", bin, "-impls", "ok", "-pairs", "self", "-transport", "tcp,udp"},
		{"-bin", bin, "-impls", "ok", "-pairs", "self", "-transport", ","},
		{"-bin", bin, "-impls", "ok", "-pairs", "self", "-limit"}, // no bin/loopback
		{"-bin", bin, "-no-such-flag"},
		{"-bin", bin, "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append(args, "-out", t.TempDir()), &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, stderr.String())
		}
	}
	// A failed pair makes the exit status 1, with the table still written.
	bin = fakeBin(t, "ok", "fail")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-bin", bin, "-out", out, "-name", "f", "-impls", "ok,fail", "-pairs", "ok:fail,ok:ok",
		"-sizes", "8", "-counts", "5", "-lat", "none", "-runs", "1"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| ok -> fail | 0/1 | - |") {
		t.Fatalf("table:\n%s", stdout.String())
	}
}

// An implementation with a thr tool and no lat tool (the copying limit lines) runs thr tests, and
// is refused before the first run when lat tests are asked of it.
func TestRunThrOnlyImpl(t *testing.T) {
	bin := fakeBin(t, "ok")
	if err := os.Remove(filepath.Join(bin, "ok", "lat")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-bin", bin, "-out", t.TempDir(), "-impls", "ok", "-pairs", "self", "-sizes", "8", "-counts", "10", "-runs", "1", "-lat", "none"}, &stdout, &stderr); code != 0 {
		t.Fatalf("thr only: exit %d\n%s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-bin", bin, "-out", t.TempDir(), "-impls", "ok", "-pairs", "self", "-sizes", "8", "-counts", "10", "-runs", "1", "-lat", "8:10"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "lat") {
		t.Fatalf("lat without a lat tool: exit %d, want 2\n%s", code, stderr.String())
	}
}
