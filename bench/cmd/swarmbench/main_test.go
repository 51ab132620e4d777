package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseCases(t *testing.T) {
	cs, err := parseCases("standard", 0)
	if err != nil || len(cs) != len(standard) || cs[1].N != 10000 {
		t.Fatalf("%v, %v", cs, err)
	}
	cs, err = parseCases("all", 0)
	if err != nil || cs[len(cs)-1].Name != "idle-100k" || cs[len(cs)-1].N != 100000 {
		t.Fatalf("%v, %v", cs, err)
	}
	cs, err = parseCases("echo-1k-k4, idle-100k", 50)
	if err != nil || len(cs) != 2 || cs[0].Inflight != 4 || cs[0].N != 50 || cs[1].N != 50 {
		t.Fatalf("%v, %v", cs, err)
	}
	cs, err = parseCases("serve,echo-1k-k1", 0)
	if err != nil || len(cs) != 3 || cs[0].Server != "router-serve" || cs[1].Inflight != 4 || cs[2].Server != "router-echo" {
		t.Fatalf("%v, %v", cs, err)
	}
	// -n must not change the table of standard cases itself.
	if standard[0].N != 1000 {
		t.Fatal("parseCases edited the standard cases")
	}
	for _, bad := range []string{"", "nope", "fanout-1k,nope"} {
		if _, err := parseCases(bad, 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseCases("standard", 6*perProcess+1); err == nil {
		t.Error("-n past six processes accepted")
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
	}{
		{1, []int{1}}, {19950, []int{19950}}, {19951, []int{9976, 9975}},
		{100000, []int{16667, 16667, 16667, 16667, 16666, 16666}},
	} {
		got := split(c.n)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("split(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	c := testCase{"echo-1k-k4", "dealer", "router-echo", 1000, 4, nil, 0}
	plays := []play{
		{Case: c, Impl: "a", Round: 1, Figures: map[string]float64{"rt_per_s": 100, "rtt_p99_us": 10}},
		{Case: c, Impl: "b", Round: 1, Figures: map[string]float64{"rt_per_s": 50, "rtt_p99_us": 40}},
		{Case: c, Impl: "a", Round: 2, Figures: map[string]float64{"rt_per_s": 300, "rtt_p99_us": 30}},
		{Case: c, Impl: "b", Round: 2, Err: fmt.Errorf("broken")},
		{Case: c, Impl: "a", Round: 3, Figures: map[string]float64{"rt_per_s": 200, "rtt_p99_us": 20}},
		{Case: c, Impl: "b", Round: 3, Figures: map[string]float64{"rt_per_s": 400, "rtt_p99_us": 10}},
	}
	rows := aggregate(plays, []testCase{c}, []string{"a", "b"})
	if len(rows) != 4 { // round trips, p50, p99, server CPU per round trip
		t.Fatalf("%d rows", len(rows))
	}
	rt, p99 := rows[0], rows[2]
	if rt.Median["a"] != 200 || rt.Median["b"] != 225 || rt.Runs["b"] != 2 || rt.Tries["b"] != 3 {
		t.Fatalf("round trips %+v", rt)
	}
	// Paired by round: round 2 has no b; a beat b in round 1 (2x) and lost in round 3 (0.5x).
	if fmt.Sprint(rt.Paired) != "[2 0.5]" || rt.roundsBetter() != 1 {
		t.Fatalf("round trips by round %v, %d better", rt.Paired, rt.roundsBetter())
	}
	// RTT: lower is better, so a at 20 us against b at 25 us (medians) is 1.25 times as good; by
	// round a did better in round 1 (10 against 40 us) only.
	if p99.Metric.Key != "rtt_p99_us" || p99.ratio([]string{"a", "b"}) != 0.8 || p99.advantage([]string{"a", "b"}) != 1.25 ||
		fmt.Sprint(p99.Paired) != "[0.25 2]" || p99.roundsBetter() != 1 {
		t.Fatalf("p99 %+v", p99)
	}
	var md, svg bytes.Buffer
	if err := renderMarkdown(&md, rows, []string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| echo-1k-k4 (1000 conns) | round trips | 200/s | 225/s (2/3) | 0.89 | 1.25 | 1 of 2 |") {
		t.Fatalf("table:\n%s", md.String())
	}
	if err := renderSVG(&svg, rows, []string{"a", "b"}); err != nil || !strings.Contains(svg.String(), "1.25x") {
		t.Fatalf("svg %v:\n%s", err, svg.String())
	}
}

// buildTools builds the swarm, the zloop server and the libzmq server into dir, as the Makefile
// does. Without gcc or libzmq the C server is left out (a failure under CI=true).
func buildTools(t *testing.T, dir string) (impls []string) {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for out, pkg := range map[string]string{"swarm": "../swarm", filepath.Join("zloop", "server"): "../zloop/server"} {
		cmd := exec.Command(gobin, "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	impls = []string{"zloop"}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "libzmq").Output()
	if err == nil {
		_, err = exec.LookPath("gcc")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no gcc or libzmq for the C server: %v", err)
		}
		t.Logf("the C server is left out: %v", err)
		return impls
	}
	_ = os.MkdirAll(filepath.Join(dir, "libzmq-c"), 0o755)
	args := append([]string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", filepath.Join(dir, "libzmq-c", "server"), "../../c/server.c"},
		strings.Fields(string(flags))...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return append(impls, "libzmq-c")
}

// The whole runner, tiny: three cases at 20 connections against every server that could be built.
func TestRunnerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tools")
	}
	dir := t.TempDir()
	impls := buildTools(t, dir)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-bin", dir, "-out", out, "-name", "e2e", "-impls", strings.Join(impls, ","), "-runs", "1", "-n", "20",
		"-cases", "fanout-1k,echo-1k-k4,idle-10k", "-warmup", "0.1", "-window", "0.3", "-timeout", "30s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "e2e.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\nRESULT status=ok tool=swarm "); n != 3*len(impls) {
		t.Fatalf("%d ok RESULT lines, want %d:\n%s", n, 3*len(impls), raw)
	}
	for _, f := range []string{"e2e.md", "e2e.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "e2e.md"))
	if !strings.Contains(string(md), "| fanout-1k (20 conns) | deliveries |") {
		t.Fatalf("table:\n%s", md)
	}
}

// TestReportPoolsRuns reads two runs' raw lines: rounds pair only within their own run.
func TestReportPoolsRuns(t *testing.T) {
	dir := t.TempDir()
	a := "# swarmbench 2026-12-05T17:41:38Z host vm\n" +
		"# case=echo-1k-k4 impl=zloop round=1 n=1000 procs=1 status=ok rt_per_s=300 rtt_p99_us=10\n" +
		"RESULT status=ok tool=swarm role=dealer\n" +
		"# case=echo-1k-k4 impl=libzmq-c round=1 n=1000 procs=1 status=ok rt_per_s=100 rtt_p99_us=20\n"
	b := "# case=echo-1k-k4 impl=zloop round=1 n=1000 procs=1 status=ok rt_per_s=100 rtt_p99_us=40\n" +
		"# case=echo-1k-k4 impl=libzmq-c round=1 n=1000 procs=1 status=ok rt_per_s=200 rtt_p99_us=20\n" +
		"# case=echo-1k-k4 impl=zloop round=2 n=1000 procs=1 status=error\n" +
		"# case=echo-1k-k4 impl=libzmq-c round=2 n=1000 procs=1 status=ok rt_per_s=200 rtt_p99_us=20\n"
	fa, fb := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	for f, s := range map[string]string{fa: a, fb: b} {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	code := run([]string{"-report", fa + "," + fb, "-impls", "zloop,libzmq-c", "-out", dir, "-name", "pooled"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "pooled.md"))
	if err != nil {
		t.Fatal(err)
	}
	// zloop: 300 and 100 (median 200), libzmq-c 100, 200, 200 (median 200, one run errored on
	// zloop's side); by round 3 and 0.5: median 1.75, one of two at least as good.
	for _, want := range []string{
		"| echo-1k-k4 (1000 conns) | round trips | 200/s (2/3) | 200/s | 1.00 | 1.75 | 1 of 2 |",
		"| echo-1k-k4 (1000 conns) | RTT p99 | 25 us (2/3) | 20 us | 1.25 | 1.25 | 1 of 2 |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
	if code := run([]string{"-report", filepath.Join(dir, "none.txt"), "-name", "x", "-out", dir}, &out, &errb); code != 2 {
		t.Errorf("a missing file: exit %d", code)
	}
}
