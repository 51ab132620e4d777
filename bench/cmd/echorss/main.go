// Command echorss measures how much memory an echo server needs for large messages: the peak RSS
// growth of the server process (VmHWM from /proc/<pid>/status, less its VmRSS once it listens)
// while a client sends it large messages and reads them back, against the bytes in flight. It is
// a memory figure read from a separate process; the client's time is printed, never asserted.
//
//	echorss -impls zloop,libzmq-c -transports tcp,ws -cases 1x200000000,10x20000000 -runs 1
//
// Each case COUNTxSIZE sends COUNT messages of SIZE bytes at once, one on each of COUNT DEALER
// connections (libzmq through cgo, the same client for every server), then reads every reply
// back and checks it byte for byte. Every (run, case, transport, impl) gets a fresh server,
// bin/<impl>/echo ENDPOINT (a ROUTER that sends each message back), started as a process of its
// own: its RSS once it prints READY is the baseline, then its peak (VmHWM) is reset through
// /proc/<pid>/clear_refs (hwm_reset=1; without it the peak since start counts), and VmRSS is also
// sampled every 10 ms as a cross-check. Runs are interleaved: run 1 of every case and impl, then
// run 2, and so on.
//
// Output: a RESULT line per server (tool=echorss role=echo impl= size= count=, then transport,
// inflight_bytes, rss_base_kb, hwm_kb, rss_end_kb, rss_max_sampled_kb, growth_kb, growth_x,
// client_s, hwm_reset) on stdout and in OUT/NAME.txt, and a Markdown table of medians in
// OUT/NAME.md and on stdout. Exit status: 0 when every run was ok, 1 when some were not, 2 on bad
// flags or I/O errors.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/proc"
)

var errConfig = errors.New("echorss: bad flags")

// testCase is COUNT messages of SIZE bytes in flight at once, on COUNT connections.
type testCase struct{ Count, Size int }

func (c testCase) String() string { return fmt.Sprintf("%dx%d", c.Count, c.Size) }

func (c testCase) inflight() int64 { return int64(c.Count) * int64(c.Size) }

type options struct {
	bin, out, name     string
	impls, transports  string
	cases              string
	runs               int
	timeout            time.Duration
	sample             time.Duration
	dir                string // for ipc sockets
	stdout, stderr     io.Writer
	serverReady, grace time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	o := options{stdout: stdout, stderr: stderr, serverReady: 10 * time.Second, grace: 5 * time.Second}
	fs := flag.NewFlagSet("echorss", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bin, "bin", "bin", "directory holding `DIR`/<impl>/echo")
	fs.StringVar(&o.out, "out", "results", "directory for the raw lines and the table")
	fs.StringVar(&o.name, "name", "", "base name of the output files (default <date>-echorss)")
	fs.StringVar(&o.impls, "impls", "zloop,libzmq-c", "echo servers: bin/<impl>/echo")
	fs.StringVar(&o.transports, "transports", "tcp,ws", "tcp, ipc, ws, comma-separated")
	fs.StringVar(&o.cases, "cases", "1x200000000,10x20000000", "COUNTxSIZE: COUNT messages of SIZE bytes in flight at once, one per connection")
	fs.IntVar(&o.runs, "runs", 1, "interleaved repeats")
	fs.DurationVar(&o.timeout, "timeout", 120*time.Second, "deadline of each client run")
	fs.DurationVar(&o.sample, "sample", 10*time.Millisecond, "VmRSS sampling interval (the cross-check of VmHWM)")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "echorss: unexpected arguments %q\n", fs.Args())
		return 2
	}
	code, err := measureAll(&o)
	if err != nil {
		fmt.Fprintln(stderr, "echorss:", err)
		return 2
	}
	return code
}

func parseCases(spec string) ([]testCase, error) {
	var out []testCase
	for _, item := range strings.Split(spec, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		c, s, ok := strings.Cut(item, "x")
		count, err1 := strconv.Atoi(c)
		size, err2 := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if !ok || err1 != nil || err2 != nil || count < 1 || count > 1000 || size < 1 || size > contract.MaxSize {
			return nil, fmt.Errorf("%w: case %q is not COUNTxSIZE (1..1000 x 1..%d)", errConfig, item, contract.MaxSize)
		}
		out = append(out, testCase{count, size})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no -cases", errConfig)
	}
	return out, nil
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

func measureAll(o *options) (int, error) {
	cases, err := parseCases(o.cases)
	if err != nil {
		return 0, err
	}
	impls, transports := parseList(o.impls), parseList(o.transports)
	if len(impls) == 0 || len(transports) == 0 || o.runs < 1 || o.timeout <= 0 || o.sample <= 0 {
		return 0, fmt.Errorf("%w: -impls, -transports, -runs, -timeout and -sample must be given", errConfig)
	}
	for _, tr := range transports {
		if tr != "tcp" && tr != "ipc" && tr != "ws" {
			return 0, fmt.Errorf("%w: transport %q is not tcp, ipc or ws", errConfig, tr)
		}
	}
	for _, impl := range impls {
		if _, err := os.Stat(filepath.Join(o.bin, impl, "echo")); err != nil {
			return 0, fmt.Errorf("%w (build it: make %s)", err, impl)
		}
	}
	if o.name == "" {
		o.name = time.Now().Format("2006-01-02") + "-echorss"
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return 0, err
	}
	if o.dir, err = os.MkdirTemp("", "echorss-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(o.dir)
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
	cmdline := "echorss " + strings.Join(os.Args[1:], " ")
	fmt.Fprintf(raw, "# echorss %s %s\n# %s\n", started.UTC().Format(time.RFC3339), meta, cmdline)
	var results []contract.Result
	code := 0
	total, n := o.runs*len(cases)*len(transports)*len(impls), 0
	for round := 1; round <= o.runs; round++ {
		for _, c := range cases {
			for _, tr := range transports {
				for _, impl := range impls {
					if ctx.Err() != nil {
						return 1, errors.New("interrupted")
					}
					n++
					res, err := measure(ctx, o, impl, tr, c)
					if err != nil {
						code = 1
						fmt.Fprintf(o.stderr, "echorss: %s %s %s: %v\n", impl, tr, c, err)
					}
					results = append(results, res)
					fmt.Fprintf(raw, "# round=%d\n%s\n", round, res.String())
					fmt.Fprintln(o.stdout, res.String())
					fmt.Fprintf(o.stderr, "[%d/%d] round %d %s %s %s: %s\n", n, total, round, c, tr, impl, progress(res))
				}
			}
		}
	}
	if err := raw.Sync(); err != nil {
		return 0, err
	}
	pre := []string{
		fmt.Sprintf("Run %s, %s, %d run(s) of each, %s.", started.UTC().Format("2006-01-02 15:04 MST"), meta, o.runs,
			time.Since(started).Round(time.Second)),
		"",
		fmt.Sprintf("Raw RESULT lines: `%s.txt`. Command: `%s`.", o.name, cmdline),
	}
	md, err := os.Create(base + ".md")
	if err != nil {
		return 0, err
	}
	err = renderMarkdown(io.MultiWriter(md, o.stdout), results, impls, pre)
	if cerr := md.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(o.stdout, "wrote %s.txt and %s.md\n", base, base)
	return code, nil
}

func progress(r contract.Result) string {
	if r.Status != contract.StatusOK {
		return string(r.Status)
	}
	g, _ := r.Get("growth_kb")
	x, _ := r.Get("growth_x")
	s, _ := r.Get("client_s")
	return fmt.Sprintf("growth %s kB (%sx in flight), client %s s", g, x, s)
}
