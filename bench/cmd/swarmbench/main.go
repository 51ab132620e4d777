// Command swarmbench plays the swarm servers of zloop and libzmq side by side against the same
// swarm client (bench/CONTRACT.md, "swarm"), interleaved (every case with every server, then the
// next round), and writes the medians as a Markdown table and an SVG chart:
//
//	swarmbench -bin bin -out results -runs 3                 # the standard cases
//	swarmbench -cases fanout-1k,echo-1k-k4 -runs 1           # some of them
//	swarmbench -cases all                                    # with idle-100k (6 servers, slow)
//	swarmbench -n 100 -window 1 -warmup 0.3 -runs 1          # every case at 100 connections
//	swarmbench -report results/a.txt,results/b.txt -name pooled  # earlier runs' raw lines, pooled
//
// For each case, run and server it starts the case's server processes (bin/<impl>/server MODE
// ENDPOINT, one per 19,950 connections at most: the descriptor cap), then one swarm per server
// (bin/swarm, from 127.0.<i>.2 and up), waits until every swarm printed CONNECTED, tells a pub server
// to start (a line on its stdin) and the swarms to measure (a line on theirs), and collects their
// RESULT lines. Output: OUT/NAME.txt (the raw lines), OUT/NAME.md (the table) and OUT/NAME.svg.
// Exit status: 0 when every run was ok, 1 when some were not, 2 on bad flags or I/O errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/zloop/zloop/bench/internal/proc"
)

var errConfig = errors.New("swarmbench: bad flags")

// testCase is one line of the comparison.
type testCase struct {
	Name     string
	Mode     string // swarm mode: idle, sub, dealer
	Server   string // server mode: idle, pub, router-echo
	N        int    // connections over all processes
	Inflight int    // dealer: requests in flight per connection
	// Flags go to every server of the case; Hold is how long an idle swarm keeps its
	// connections after the RSS reading, the window of the servers' idle CPU (seconds).
	Flags []string
	Hold  float64
}

// standard are the cases of issue 11; idle-100k runs only when asked for (-cases all or by name).
var standard = []testCase{
	{"fanout-1k", "sub", "pub", 1000, 0, nil, 0},
	{"fanout-10k", "sub", "pub", 10000, 0, nil, 0},
	{"echo-1k-k1", "dealer", "router-echo", 1000, 1, nil, 0},
	{"echo-1k-k4", "dealer", "router-echo", 1000, 4, nil, 0},
	{"idle-10k", "idle", "idle", 10000, 0, nil, 0},
	{"idle-19950", "idle", "idle", 19950, 0, nil, 0},
}

var big = testCase{"idle-100k", "idle", "idle", 100000, 0, nil, 0}

// heartbeat: idle connections with the server's ZMQ_HEARTBEAT_IVL at 5 s (timeout 15 s), held
// 20 s, the swarm answering every PING: the servers' CPU per second of idle time, that is what
// the PINGs (4,000 a second at 19,950 connections) and their timers cost. Run by name, or with
// -cases heartbeat. libzmq 4.3.4 does not get through idle-hb-20k's connects (its I/O thread
// spends itself in cancel_timer, a walk over every timer of the poller, at each PONG and
// handshake); idle-hb-5k is the largest of the two it finishes.
var hbFlags = []string{"--heartbeat", "5000", "--heartbeat-timeout", "15000"}

var heartbeat = []testCase{
	{"idle-hb-5k", "idle", "idle", 5000, 0, hbFlags, 20},
	{"idle-hb-20k", "idle", "idle", 19950, 0, hbFlags, 20},
}

// serve are the ROUTER echo cases with zloop's loop-resident handler API (server router-serve;
// libzmq's server runs its router-echo for them): run by name, or all of them with -cases serve.
var serve = []testCase{
	{"serve-1k-k1", "dealer", "router-serve", 1000, 1, nil, 0},
	{"serve-1k-k4", "dealer", "router-serve", 1000, 4, nil, 0},
}

// perProcess is the most connections one server (or swarm) process takes under the cap of 20,000
// descriptors.
const perProcess = 19950

type options struct {
	bin, swarm, out, name string
	impls, cases          string
	report                string
	runs, n, threads      int
	warmup, window        float64
	timeout, grace        time.Duration
	serverReady           time.Duration
	stdout, stderr        io.Writer
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(argv []string, stdout, stderr io.Writer) int {
	o := options{stdout: stdout, stderr: stderr, serverReady: 10 * time.Second}
	fs := flag.NewFlagSet("swarmbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bin, "bin", "bin", "directory holding `DIR`/<impl>/server")
	fs.StringVar(&o.swarm, "swarm", "", "the swarm client (default BIN/swarm)")
	fs.StringVar(&o.out, "out", "results", "directory for the raw lines, the table and the chart")
	fs.StringVar(&o.name, "name", "", "base name of the output files (default <date>-swarm)")
	fs.StringVar(&o.impls, "impls", "zloop,libzmq-c", "servers: bin/<impl>/server; ratios are the first over the second")
	fs.StringVar(&o.cases, "cases", "standard", "case names, comma-separated; standard, all (standard and idle-100k), serve (echo through the handler API), heartbeat (idle-hb-5k, idle-hb-20k)")
	fs.StringVar(&o.report, "report", "", "run nothing: pool the raw lines of these `FILES` (comma-separated) into OUT/NAME.md")
	fs.IntVar(&o.runs, "runs", 3, "interleaved repeats (the table shows medians)")
	fs.IntVar(&o.n, "n", 0, "connections of every case instead of its own (a quick run)")
	fs.IntVar(&o.threads, "threads", 1, "epoll loops of each swarm client")
	fs.Float64Var(&o.warmup, "warmup", 1, "seconds between the start and the window (sub, dealer)")
	fs.Float64Var(&o.window, "window", 3, "seconds measured (sub, dealer)")
	fs.DurationVar(&o.timeout, "timeout", 180*time.Second, "deadline of each swarm")
	fs.DurationVar(&o.grace, "grace", 5*time.Second, "how long a server may take to exit after SIGTERM")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "swarmbench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.report != "" {
		err := reportFiles(&o)
		if err != nil {
			fmt.Fprintln(stderr, "swarmbench:", err)
			return 2
		}
		return 0
	}
	code, err := benchAll(&o)
	if err != nil {
		fmt.Fprintln(stderr, "swarmbench:", err)
		return 2
	}
	return code
}

func reportFiles(o *options) error {
	impls := parseList(o.impls)
	if len(impls) == 0 || o.name == "" {
		return fmt.Errorf("%w: -report needs -impls and -name", errConfig)
	}
	return report(o, parseList(o.report), impls)
}

// parseCases resolves -cases and -n into the cases to run.
func parseCases(spec string, n int) ([]testCase, error) {
	var out []testCase
	for _, name := range strings.Split(spec, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case "standard":
			out = append(out, standard...)
		case "all":
			out = append(out, standard...)
			out = append(out, big)
		case "serve":
			out = append(out, serve...)
		case "heartbeat":
			out = append(out, heartbeat...)
		default:
			c, err := caseNamed(name)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no -cases", errConfig)
	}
	if n < 0 || n > 6*perProcess {
		return nil, fmt.Errorf("%w: -n %d", errConfig, n)
	}
	if n > 0 {
		for i := range out {
			out[i].N = n
		}
	}
	return out, nil
}

// caseNamed returns the case of that name, among all swarmbench knows.
func caseNamed(name string) (testCase, error) {
	for _, c := range slices.Concat(standard, []testCase{big}, serve, heartbeat) {
		if c.Name == name {
			return c, nil
		}
	}
	return testCase{}, fmt.Errorf("%w: unknown case %q", errConfig, name)
}

// writeFile creates path and renders into it, and into tee too when it is not nil.
func writeFile(path string, tee io.Writer, render func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var w io.Writer = f
	if tee != nil {
		w = io.MultiWriter(f, tee)
	}
	err = render(w)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// split spreads n connections over as few processes as the descriptor cap allows.
func split(n int) []int {
	procs := (n + perProcess - 1) / perProcess
	out := make([]int, procs)
	for i := range out {
		out[i] = n/procs + map[bool]int{true: 1}[i < n%procs]
	}
	return out
}

func parseList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func benchAll(o *options) (int, error) {
	cases, err := parseCases(o.cases, o.n)
	if err != nil {
		return 0, err
	}
	impls := parseList(o.impls)
	if len(impls) == 0 || o.runs < 1 || o.window <= 0 || o.warmup < 0 || o.threads < 1 {
		return 0, fmt.Errorf("%w: -impls, -runs, -window, -warmup and -threads must be positive", errConfig)
	}
	if o.swarm == "" {
		o.swarm = filepath.Join(o.bin, "swarm")
	}
	if _, err := os.Stat(o.swarm); err != nil {
		return 0, fmt.Errorf("%w (build it: make -C bench swarm-tools)", err)
	}
	for _, impl := range impls {
		if _, err := os.Stat(filepath.Join(o.bin, impl, "server")); err != nil {
			return 0, fmt.Errorf("%w (build it: make -C bench swarm-tools)", err)
		}
	}
	if o.name == "" {
		o.name = time.Now().Format("2006-01-02") + "-swarm"
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return 0, err
	}
	base := filepath.Join(o.out, o.name)
	raw, err := os.Create(base + ".txt")
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	meta := proc.Machine()
	cmdline := "swarmbench " + strings.Join(os.Args[1:], " ")
	fmt.Fprintf(raw, "# swarmbench %s %s\n# %s\n", started.UTC().Format(time.RFC3339), meta, cmdline)
	var plays []play
	code := 0
	total, k := o.runs*len(cases)*len(impls), 0
	for round := 1; round <= o.runs; round++ {
		for _, c := range cases {
			for _, impl := range impls {
				if ctx.Err() != nil {
					return 1, errors.New("interrupted")
				}
				k++
				p := playCase(ctx, o, c, impl)
				p.Round = round
				if p.Err != nil {
					code = 1
				}
				plays = append(plays, p)
				fmt.Fprint(raw, p.raw())
				fmt.Fprintf(o.stderr, "[%d/%d] round %d %s %s: %s\n", k, total, round, c.Name, impl, p.summary())
			}
		}
	}
	if err := raw.Sync(); err != nil {
		return 0, err
	}
	rows := aggregate(plays, cases, impls)
	pre := []string{
		fmt.Sprintf("Run %s, %s, %d interleaved run(s) of each, %s.", started.UTC().Format("2006-01-02 15:04 MST"), meta,
			o.runs, time.Since(started).Round(time.Second)),
		"",
		fmt.Sprintf("Raw lines: `%s.txt`. Command: `%s`.", o.name, cmdline),
	}
	if err := writeFile(base+".md", o.stdout, func(w io.Writer) error { return renderMarkdown(w, rows, impls, pre) }); err != nil {
		return 0, err
	}
	if err := writeFile(base+".svg", nil, func(w io.Writer) error { return renderSVG(w, rows, impls) }); err != nil {
		return 0, err
	}
	fmt.Fprintf(o.stdout, "wrote %s.txt, %s.md and %s.svg\n", base, base, base)
	return code, nil
}
