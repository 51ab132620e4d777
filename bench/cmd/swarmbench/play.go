package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/proc"
)

// play is one case against one server implementation: its figures, merged over its processes.
type play struct {
	Case    testCase
	Impl    string
	Round   int
	Figures map[string]float64
	Results []contract.Result // one per swarm process
	Notes   []string          // the servers' and swarms' complaints
	Err     error
}

// child is a started server or swarm. proc.Start's goroutine sends its stdout on lines, line by
// line, then waits for it; exec's copying goroutine writes its stderr to errb.
type child struct {
	*proc.Proc
	stdin io.WriteCloser
	lines chan string // closed at the end of stdout, before Done
	errb  proc.Log
}

func (c *child) errText() string { return c.errb.String() }

func start(name string, args ...string) (*child, error) {
	c := &child{lines: make(chan string, 64), errb: proc.Log{Max: 4096}}
	cmd := exec.Command(name, args...)
	cmd.Stderr = &c.errb
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	c.Proc, err = proc.Start(cmd, func(out io.Reader) {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// expect waits for a line starting with prefix and returns it.
func (p *child) expect(prefix string, within time.Duration) (string, error) {
	t := time.NewTimer(within)
	defer t.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.Done()
				return "", fmt.Errorf("%s exited (%v) before %s: %s", filepath.Base(p.Cmd.Path), p.Cmd.ProcessState, prefix, p.errText())
			}
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		case <-t.C:
			return "", fmt.Errorf("%s: no %s after %v: %s", filepath.Base(p.Cmd.Path), prefix, within, p.errText())
		}
	}
}

// playCase runs c against impl's servers once.
func playCase(ctx context.Context, o *options, c testCase, impl string) (pl play) {
	pl = play{Case: c, Impl: impl, Figures: map[string]float64{}}
	var servers, swarms []*child
	defer func() {
		for _, s := range swarms {
			s.Stop(0)
		}
		var scpu float64
		for _, s := range servers {
			if rc := s.Stop(o.grace); rc != 0 && pl.Err == nil {
				pl.Err = fmt.Errorf("server exited %d: %s", rc, s.errText())
			}
			scpu += s.CPU()
			if t := s.errText(); t != "" {
				pl.Notes = append(pl.Notes, "server: "+t)
			}
		}
		pl.Figures["server_cpu_s"] = scpu
	}()
	fail := func(err error) play {
		pl.Err = err
		return pl
	}
	parts := split(c.N)
	ports := make([]int, len(parts))
	for i := range parts {
		port, err := contract.FreePort()
		if err != nil {
			return fail(err)
		}
		ports[i] = port
		s, err := start(filepath.Join(o.bin, impl, "server"), append([]string{c.Server, fmt.Sprintf("tcp://127.0.0.1:%d", port)}, c.Flags...)...)
		if err != nil {
			return fail(err)
		}
		servers = append(servers, s)
		if _, err := s.expect("READY", o.serverReady); err != nil {
			return fail(err)
		}
	}
	for i, n := range parts {
		args := []string{c.Mode, fmt.Sprintf("tcp://127.0.0.1:%d", ports[i]), strconv.Itoa(n),
			"--source", fmt.Sprintf("127.0.%d.2", i), "--impl", impl, "--threads", strconv.Itoa(o.threads),
			"--pid", strconv.Itoa(servers[i].Pid()), "--timeout", fmt.Sprint(o.timeout.Seconds()),
			"--warmup", fmt.Sprint(o.warmup), "--window", fmt.Sprint(o.window)}
		if c.Inflight > 0 {
			args = append(args, "--inflight", strconv.Itoa(c.Inflight))
		}
		if c.Hold > 0 {
			args = append(args, "--hold", fmt.Sprint(c.Hold))
		}
		s, err := start(o.swarm, args...)
		if err != nil {
			return fail(err)
		}
		swarms = append(swarms, s)
	}
	// All connected everywhere first, then the servers start sending and the swarms measure, so
	// that no process measures while another is still connecting.
	for _, s := range swarms {
		if _, err := s.expect("CONNECTED", o.timeout); err != nil {
			// its RESULT line says why
			line, _ := s.expect("RESULT ", o.grace)
			return fail(fmt.Errorf("%w: %s", err, line))
		}
	}
	if c.Server == "pub" {
		for _, s := range servers {
			_, _ = io.WriteString(s.stdin, "START\n")
		}
	}
	for _, s := range swarms {
		_, _ = io.WriteString(s.stdin, "GO\n")
	}
	for _, s := range swarms {
		line, err := s.expect("RESULT ", o.timeout+o.grace)
		if err != nil {
			return fail(err)
		}
		r, err := contract.ParseResult(line)
		if err != nil {
			return fail(err)
		}
		<-s.Done()
		pl.Results = append(pl.Results, r)
		if t := s.errText(); t != "" {
			pl.Notes = append(pl.Notes, "swarm: "+t)
		}
		if r.Status != contract.StatusOK {
			return fail(fmt.Errorf("swarm status=%s: %s", r.Status, s.errText()))
		}
	}
	merge(&pl)
	return pl
}

// merge sums or maximises the swarms' figures into pl.Figures: rates and RSS growth add up over
// processes, times and latencies take the worst.
func merge(pl *play) {
	var n, connect, grow float64
	for _, r := range pl.Results {
		get := func(k string) float64 {
			v, _ := r.Get(k)
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
		n += float64(r.Count)
		connect = max(connect, get("connect_s"))
		grow += (get("rss_after_kb") - get("rss_before_kb")) * 1024
		for _, k := range []string{"deliveries_per_s", "rt_per_s", "server_cpu_per_s", "pings_per_s"} {
			pl.Figures[k] += get(k)
		}
		for _, k := range []string{"rtt_p50_us", "rtt_p99_us", "client_cpu", "connect_client_cpu"} {
			pl.Figures[k] = max(pl.Figures[k], get(k))
		}
	}
	if cpu, n := pl.Figures["server_cpu_per_s"], pl.Figures["rt_per_s"]+pl.Figures["deliveries_per_s"]; cpu > 0 && n > 0 {
		pl.Figures["server_us_per_msg"] = cpu / n * 1e6
	}
	if connect > 0 {
		pl.Figures["connect_s"] = connect
		pl.Figures["conn_per_s"] = n / connect
	}
	if pl.Case.Mode == "idle" && n > 0 {
		pl.Figures["rss_per_conn_b"] = grow / n
	}
}

// raw is pl in the raw file: a header line, then the swarms' RESULT lines.
func (pl play) raw() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# case=%s impl=%s round=%d n=%d procs=%d status=%s", pl.Case.Name, pl.Impl, pl.Round, pl.Case.N,
		len(split(pl.Case.N)), map[bool]string{true: "ok", false: "error"}[pl.Err == nil])
	keys := []string{"server_cpu_s", "connect_s", "conn_per_s", "rss_per_conn_b", "deliveries_per_s", "rt_per_s", "rtt_p50_us", "rtt_p99_us",
		"server_cpu_per_s", "pings_per_s", "server_us_per_msg"}
	for _, k := range keys {
		if v, ok := pl.Figures[k]; ok {
			fmt.Fprintf(&b, " %s=%.4g", k, v)
		}
	}
	b.WriteByte('\n')
	if pl.Err != nil {
		fmt.Fprintf(&b, "# error: %s\n", strings.ReplaceAll(pl.Err.Error(), "\n", " | "))
	}
	for _, n := range pl.Notes {
		fmt.Fprintf(&b, "# %s\n", strings.ReplaceAll(n, "\n", " | "))
	}
	for _, r := range pl.Results {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (pl play) summary() string {
	if pl.Err != nil {
		return "error: " + pl.Err.Error()
	}
	var parts []string
	for _, m := range metricsOf(pl.Case) {
		if v, ok := pl.Figures[m.Key]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", m.Label, m.format(v)))
		}
	}
	return strings.Join(parts, ", ")
}
