// Command compare runs the bench tools (bin/<impl>/{thr,lat}) for chosen sender/receiver pairs,
// cross-implementation pairs included, and reports medians side by side.
//
// Every repeat runs every test for every pair once, round-robin (repeat 1 of all of them, then
// repeat 2, ...), so that drift on a noisy machine hits all pairs alike. It writes the raw
// RESULT lines (under a '#' header per pair that cmd/benchsum also reads) to OUT/NAME.txt as they
// come, then a Markdown table to OUT/NAME.md (and stdout) and a chart to OUT/NAME.svg. With -from
// it only reads a raw file back and writes the table and chart again.
//
//	compare -impls zloop,libzmq,libzmq-c,gozmq -pairs self,zloop:libzmq,libzmq:zloop \
//	        -sizes 64,1024,65536 -counts 2000000,500000,20000 -lat 64:20000 -runs 3
//
// Exit status: 0 when every run was ok, 1 when some were not, 2 on bad flags or I/O errors.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zloop/zloop/bench/internal/benchtls"
	"github.com/zloop/zloop/bench/internal/proc"
)

// options are the flags.
type options struct {
	bin, out, name, from      string
	impls, pairs, latPairs    string
	sizes, counts, lat, scale string
	baselines, transport      string
	runs, hwm                 int
	timeout, grace, idleWait  time.Duration
	idleMax                   float64
	check, limit, curve, fill bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bin, "bin", "bin", "directory holding `DIR`/<impl>/{thr,lat}")
	fs.StringVar(&o.out, "out", "results", "directory for the raw lines, table and chart")
	fs.StringVar(&o.name, "name", "", "base name of the output files (default <date>-compare)")
	fs.StringVar(&o.from, "from", "", "only read this raw file back and write the table and chart")
	fs.StringVar(&o.impls, "impls", "zloop,libzmq,libzmq-c,gozmq", "implementations that -pairs may name")
	fs.StringVar(&o.pairs, "pairs", "self,zloop:libzmq,libzmq:zloop,zloop:libzmq-c,libzmq-c:zloop",
		"thr pairs SENDER:RECEIVER; 'self' is each impl to itself, '*' any impl")
	fs.StringVar(&o.latPairs, "lat-pairs", "", "lat pairs REQ:REP, same syntax (default: -pairs)")
	fs.StringVar(&o.sizes, "sizes", "64,1024,65536", "thr message sizes in bytes")
	fs.StringVar(&o.counts, "counts", "2000000,500000,20000", "thr message counts: one, or one per size")
	fs.StringVar(&o.lat, "lat", "64:20000", "lat tests SIZE:COUNT, or none")
	fs.StringVar(&o.scale, "scale", "", "IMPL=FACTOR,...: scale the counts of pairs with a slow impl")
	fs.StringVar(&o.baselines, "baselines", "libzmq:libzmq,libzmq-c:libzmq-c", "pairs the ratio columns compare against")
	fs.StringVar(&o.transport, "transport", "tcp", "tcp, ipc, ws, tls or wss, or several (tcp,ipc,ws), interleaved within each round; "+
		"over tls and wss, libzmq's tools run behind stunnel4")
	fs.IntVar(&o.runs, "runs", 3, "interleaved repeats")
	fs.IntVar(&o.hwm, "hwm", -1, "pass --hwm N to every tool (SNDHWM and RCVHWM; default: the libraries' own, 1000)")
	fs.DurationVar(&o.timeout, "timeout", 150*time.Second, "--timeout of every tool")
	fs.DurationVar(&o.grace, "grace", 5*time.Second, "kill a tool this long after its --timeout")
	fs.DurationVar(&o.idleWait, "idle-wait", 0, "before each pair, wait up to this long for other processes' load to drop to -idle-max")
	fs.Float64Var(&o.idleMax, "idle-max", 0.15, "the share of all CPUs others may use when a pair starts (with -idle-wait)")
	fs.BoolVar(&o.fill, "fill", false, "pass --fill to thr: each sender builds its messages in its library's buffer instead of copying a payload (zloop ReserveFrame, libzmq zmq_msg_init_size)")
	fs.BoolVar(&o.curve, "curve", false, "pass --curve to every tool (CURVE security, the contract's test keys; the limit line stays plain)")
	fs.BoolVar(&o.check, "check", false, "pass --check to thr (sequence numbers; costs a little)")
	fs.BoolVar(&o.limit, "limit", false, "add the limit line to the thr tests: loopback->loopback, the same "+
		"messages over one plain TCP or unix socket (bin/loopback), and a '% of limit' column")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "compare: unexpected arguments %q\n", fs.Args())
		return 2
	}
	code, err := compare(&o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "compare:", err)
		return 2
	}
	return code
}

func compare(o *options, stdout, stderr io.Writer) (int, error) {
	impls := parseList(o.impls)
	baselines, err := parsePairs(o.baselines, append(impls, listedImpls(o.baselines)...))
	if err != nil {
		return 0, err
	}
	if o.name == "" {
		o.name = time.Now().Format("2006-01-02") + "-compare"
	}
	base := filepath.Join(o.out, o.name)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return 0, err
	}
	if o.from != "" {
		b, err := os.ReadFile(o.from)
		if err != nil {
			return 0, err
		}
		recs, err := readRecords(bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		first := fmt.Sprintf("Re-rendered from `%s`.", o.from)
		// The raw file's first line says when and where, "# compare TIME MACHINE", and its second
		// how it was run, "# compare FLAGS".
		lines := strings.SplitN(string(b), "\n", 3)
		if strings.HasPrefix(lines[0], "# compare ") {
			when, where, _ := strings.Cut(strings.TrimPrefix(lines[0], "# compare "), " ")
			first = fmt.Sprintf("Run %s, %s; re-rendered from `%s`.", when, where, filepath.Base(o.from))
		}
		pre := []string{first}
		if len(lines) > 1 && strings.HasPrefix(lines[1], "# compare -") {
			pre = append(pre, "", fmt.Sprintf("Command: `%s`.", strings.TrimPrefix(lines[1], "# ")))
		}
		return report(recs, baselines, pre, base, stdout)
	}

	thrPairs, err := parsePairs(o.pairs, impls)
	if err != nil {
		return 0, err
	}
	latPairs := thrPairs
	if o.latPairs != "" {
		if latPairs, err = parsePairs(o.latPairs, impls); err != nil {
			return 0, err
		}
	}
	if o.limit {
		thrPairs, impls = withLimit(thrPairs, impls)
	}
	transports, err := parseTransports(o.transport)
	if err != nil {
		return 0, err
	}
	if (slices.Contains(transports, "tls") || slices.Contains(transports, "wss")) && os.Getenv(benchtls.Env) == "" {
		// One throwaway CA and server certificate for the run, for every tool and stunnel.
		dir, err := os.MkdirTemp("", "zloop-compare-tls-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		if err := benchtls.WriteDir(dir); err != nil {
			return 0, err
		}
		if err := os.Setenv(benchtls.Env, dir); err != nil {
			return 0, err
		}
		defer os.Unsetenv(benchtls.Env)
	}
	thr, err := parseThrTests(o.sizes, o.counts)
	if err != nil {
		return 0, err
	}
	lat, err := parseLatTests(o.lat)
	if err != nil {
		return 0, err
	}
	scale, err := parseScale(o.scale)
	if err != nil {
		return 0, err
	}
	if o.runs < 1 || o.timeout <= 0 || o.grace <= 0 {
		return 0, fmt.Errorf("%w: -runs, -timeout and -grace must be positive", errConfig)
	}
	if len(thr)+len(lat) == 0 || len(thrPairs) == 0 {
		return 0, fmt.Errorf("%w: nothing to run", errConfig)
	}
	// Every tool a test uses must exist before the first run, not fail an hour in.
	for _, use := range []struct {
		tool  string
		tests int
		pairs []pair
	}{{"thr", len(thr), thrPairs}, {"lat", len(lat), latPairs}} {
		if use.tests == 0 {
			continue
		}
		for _, p := range use.pairs {
			for _, impl := range []string{p.Client, p.Server} {
				if _, err := os.Stat(filepath.Join(o.bin, impl, use.tool)); err != nil {
					return 0, fmt.Errorf("%w (build it: make %s)", err, impl)
				}
			}
		}
	}
	raw, err := os.Create(base + ".txt")
	if err != nil {
		return 0, err
	}
	defer raw.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &runner{bin: o.bin, timeout: o.timeout, grace: o.grace, log: stderr,
		idleWait: o.idleWait, idleMax: o.idleMax}
	if o.check {
		r.thrArg = []string{"--check"}
	}
	if o.fill {
		r.thrArg = append(r.thrArg, "--fill")
	}
	if o.hwm >= 0 {
		r.args = []string{"--hwm", strconv.Itoa(o.hwm)}
	}
	if o.curve {
		r.args = append(r.args, "--curve")
	}
	meta := machine()
	started := time.Now()
	fmt.Fprintf(raw, "# compare %s %s\n# %s\n", started.UTC().Format(time.RFC3339), meta, commandLine())
	var recs []record
	total := o.runs * len(transports) * (len(thr)*len(thrPairs) + len(lat)*len(latPairs))
	for round := 1; round <= o.runs; round++ {
		for _, t := range append(append([]test(nil), thr...), lat...) {
			pairs := thrPairs
			if t.Tool == "lat" {
				pairs = latPairs
			}
			for _, tr := range transports {
				r.transport = tr
				for _, p := range pairs {
					if ctx.Err() != nil {
						break
					}
					rec := r.runPair(ctx, scaled(t, p, scale), p, round)
					recs = append(recs, rec)
					fmt.Fprintln(raw, rec.header())
					for _, res := range rec.Results {
						fmt.Fprintln(raw, res.String())
					}
					fmt.Fprintf(stderr, "[%d/%d] round %d %s %s %s: %s\n", len(recs), total, round, rec.Test, tr, p, progress(&rec))
				}
			}
		}
	}
	if err := raw.Sync(); err != nil {
		return 0, err
	}
	pre := []string{
		fmt.Sprintf("Run %s, %s, transport %s, %d interleaved run(s) per pair, %s.",
			started.UTC().Format("2006-01-02 15:04 MST"), meta, o.transport, o.runs, time.Since(started).Round(time.Second)),
		"",
		fmt.Sprintf("Raw RESULT lines: `%s.txt`. Command: `%s`.", o.name, commandLine()),
		"",
		"Medians over the ok runs, with min - max. Ratio columns `x A->B`: how many times faster than that " +
			"pair's median (msg/s over its msg/s for thr, its p50 over this p50 for lat; > 1 is faster). " +
			"CPU s: user+system seconds of each whole process (from wait4). allocs/msg: Go heap allocations " +
			"per message in the timed loop (`-` for C); steady allocs/msg: the same over its second half only, once " +
			"pipes, pools and buffers have filled.",
	}
	if line := loadLine(recs, o.idleWait, o.idleMax); line != "" {
		pre = append(pre, "", line)
	}
	code, err := report(recs, baselines, pre, base, stdout)
	if ctx.Err() != nil {
		return 1, errors.Join(err, errors.New("interrupted"))
	}
	return code, err
}

// report writes the table (to stdout and base.md) and the chart (base.svg) of recs and returns 1
// when some run was not ok. Records of the limit line add its column to the baselines.
func report(recs []record, baselines []pair, preamble []string, base string, stdout io.Writer) (int, error) {
	secs := aggregate(recs)
	if !slices.Contains(baselines, limitPair) && slices.ContainsFunc(recs, func(r record) bool { return r.Pair == limitPair }) {
		baselines = append(baselines, limitPair)
	}
	md, err := os.Create(base + ".md")
	if err != nil {
		return 0, err
	}
	err = renderMarkdown(io.MultiWriter(md, stdout), secs, baselines, preamble)
	if cerr := md.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	svg, err := os.Create(base + ".svg")
	if err != nil {
		return 0, err
	}
	sub := ""
	if len(preamble) > 0 {
		sub = strings.ReplaceAll(preamble[0], "`", "")
	}
	err = renderSVG(svg, secs, sub)
	if cerr := svg.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(stdout, "wrote %s.md and %s.svg\n", base, base)
	for _, r := range recs {
		if !r.ok() {
			return 1, nil
		}
	}
	return 0, nil
}

// loadLine describes the other processes' load measured before each pair, if it was.
func loadLine(recs []record, wait time.Duration, max float64) string {
	var busy []float64
	over, waited := 0, 0.0
	for _, r := range recs {
		if r.Busy >= 0 {
			busy = append(busy, r.Busy)
			if r.Busy > max {
				over++
			}
			waited += r.Waited
		}
	}
	if len(busy) == 0 {
		return ""
	}
	st := summarise(busy)
	return fmt.Sprintf("Load from other processes just before each pair (share of all CPUs): median %.0f%%, max %.0f%%; "+
		"%d of %d pairs started above %.0f%% after waiting up to %v; %.0f s spent waiting in all.",
		100*st.Median, 100*st.Max, over, len(busy), 100*max, wait, waited)
}

// listedImpls returns the implementations a pair list names, so that -baselines may name pairs
// of implementations that are not run (their columns then say "-").
func listedImpls(spec string) []string {
	var out []string
	for _, item := range parseList(spec) {
		if c, s, ok := strings.Cut(item, ":"); ok {
			out = append(out, c, s)
		}
	}
	return out
}

func progress(r *record) string {
	if !r.ok() {
		return fmt.Sprintf("FAILED rc=%d/%d", r.RC[0], r.RC[1])
	}
	c, s := r.roles()
	if r.Test.Tool == "lat" {
		res, _ := r.result(c)
		p50, _ := res.Get("rtt_p50_us")
		p99, _ := res.Get("rtt_p99_us")
		return fmt.Sprintf("p50 %s us, p99 %s us", p50, p99)
	}
	res, _ := r.result(s)
	mps, _ := res.Get("msg_per_s")
	return fmt.Sprintf("%s msg/s", mps)
}

// machine describes where the run happened, for the table and the raw file.
func machine() string {
	libzmq := "?"
	if out, err := exec.Command("pkg-config", "--modversion", "libzmq").Output(); err == nil {
		libzmq = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, libzmq %s", proc.Machine(), libzmq)
}

func commandLine() string {
	return "compare " + strings.Join(os.Args[1:], " ")
}
