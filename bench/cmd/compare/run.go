package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zloop/zloop/bench/internal/benchtls"
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/proc"
	"github.com/zloop/zloop/internal/stunnel"
)

// record is one run of one test for one pair: what the header line of the raw file says and the
// RESULT lines of both processes.
type record struct {
	Test      test // Count as run (after -scale)
	Pair      pair
	Transport string
	Round     int
	Flags     string
	// RC and CPU are the client's and the server's exit code (-1: not run or killed) and
	// process CPU seconds, user+system from wait4 (-1: unknown).
	RC  [2]int
	CPU [2]float64
	// Busy is the share of all CPUs busy just before the pair started, others' load (-1: not
	// measured); Waited the seconds spent waiting for it to drop (see proc.WaitIdle).
	Busy, Waited float64
	Results      []contract.Result // server first, then client; only those that printed one
}

// result returns the RESULT of role, if that process printed one.
func (r *record) result(role string) (contract.Result, bool) {
	for _, res := range r.Results {
		if res.Role == role {
			return res, true
		}
	}
	return contract.Result{}, false
}

// roles returns the client's and the server's role for the record's tool.
func (r *record) roles() (client, server string) {
	if r.Test.Tool == contract.ToolLat {
		return contract.RoleReq, contract.RoleRep
	}
	return contract.RoleSend, contract.RoleRecv
}

// ok reports whether both processes exited 0 with status=ok.
func (r *record) ok() bool {
	if r.RC != [2]int{0, 0} {
		return false
	}
	c, s := r.roles()
	cr, okc := r.result(c)
	sr, oks := r.result(s)
	return okc && oks && cr.Status == contract.StatusOK && sr.Status == contract.StatusOK
}

// header is the record's '#' line in the raw file, in the shape of scripts/run.sh's (which
// cmd/benchsum reads): tool, pair, transport, size, count, flags, rc=CLIENT/SERVER, round, and
// proc_cpu_s=CLIENT/SERVER, then busy= and idle_wait_s= when measured.
func (r *record) header() string {
	h := fmt.Sprintf("# tool=%s pair=%s transport=%s size=%d count=%d flags=%s rc=%d/%d round=%d proc_cpu_s=%s/%s",
		r.Test.Tool, r.Pair, r.Transport, r.Test.Size, r.Test.Count, strings.ReplaceAll(r.Flags, " ", ","),
		r.RC[0], r.RC[1], r.Round, cpuString(r.CPU[0]), cpuString(r.CPU[1]))
	if r.Busy >= 0 {
		h += fmt.Sprintf(" busy=%.3f idle_wait_s=%.1f", r.Busy, r.Waited)
	}
	return h
}

func cpuString(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 6, 64) // rusage has microseconds: exact
}

// readRecords parses a raw file written by the runner: header lines and the RESULT lines under
// them. Other lines are skipped.
func readRecords(r io.Reader) ([]record, error) {
	var out []record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# tool="):
			rec, err := parseHeader(line)
			if err != nil {
				return nil, err
			}
			out = append(out, rec)
		case strings.HasPrefix(line, "RESULT ") && len(out) > 0:
			res, err := contract.ParseResult(line)
			if err != nil {
				return nil, err
			}
			out[len(out)-1].Results = append(out[len(out)-1].Results, res)
		}
	}
	return out, sc.Err()
}

func parseHeader(line string) (record, error) {
	rec := record{RC: [2]int{-1, -1}, CPU: [2]float64{-1, -1}, Busy: -1}
	bad := func(what string) (record, error) {
		return record{}, fmt.Errorf("%w: header %q: %s", contract.ErrBadResult, line, what)
	}
	for _, f := range strings.Fields(strings.TrimPrefix(line, "#")) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "tool":
			rec.Test.Tool = v
		case "pair":
			c, s, ok := strings.Cut(v, "->")
			if !ok {
				return bad("pair")
			}
			rec.Pair = pair{c, s}
		case "transport":
			rec.Transport = v
		case "size":
			rec.Test.Size, err = strconv.Atoi(v)
		case "count":
			rec.Test.Count, err = strconv.Atoi(v)
		case "flags":
			rec.Flags = strings.ReplaceAll(v, ",", " ")
		case "round":
			rec.Round, err = strconv.Atoi(v)
		case "busy":
			rec.Busy, err = strconv.ParseFloat(v, 64)
		case "idle_wait_s":
			rec.Waited, err = strconv.ParseFloat(v, 64)
		case "rc", "proc_cpu_s":
			a, b, ok := strings.Cut(v, "/")
			if !ok {
				return bad(k)
			}
			for i, s := range []string{a, b} {
				if k == "rc" {
					if rec.RC[i], err = strconv.Atoi(s); err != nil {
						return bad(k)
					}
				} else if s != "-" {
					if rec.CPU[i], err = strconv.ParseFloat(s, 64); err != nil {
						return bad(k)
					}
				}
			}
		}
		if err != nil {
			return bad(k)
		}
	}
	if rec.Test.Tool == "" || rec.Pair.Client == "" {
		return bad("no tool or pair")
	}
	return rec, nil
}

// runner starts the tools of one pair at a time, as processes of their own.
type runner struct {
	bin       string        // holds <impl>/{thr,lat}
	transport string        // tcp, ipc or ws
	timeout   time.Duration // --timeout given to every tool
	// grace is how long after timeout the runner kills a tool's process group; the tools'
	// own watchdogs should have ended them before.
	grace  time.Duration
	thrArg []string // extra flags for thr (for example --check)
	args   []string // extra flags for every tool (for example --hwm 4)
	// idleWait > 0: before each pair, wait up to that long for the machine's load from other
	// processes to drop to idleMax (a share of all CPUs), and record it.
	idleWait time.Duration
	idleMax  float64
	log      io.Writer
	seq      int
}

// endpoint returns a fresh endpoint to bind.
func (r *runner) endpoint() (string, error) {
	r.seq++
	switch r.transport {
	case "tcp", "ws", "tls", "wss":
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if r.transport == "ws" || r.transport == "wss" {
			return fmt.Sprintf("%s://127.0.0.1:%d/zmq", r.transport, port), nil
		}
		return fmt.Sprintf("%s://127.0.0.1:%d", r.transport, port), nil
	case "ipc":
		return fmt.Sprintf("ipc://%s", filepath.Join(os.TempDir(), fmt.Sprintf("zloop-compare-%d-%d.sock", os.Getpid(), r.seq))), nil
	}
	return "", fmt.Errorf("%w: transport %q is not tcp, ipc, ws, tls or wss", errConfig, r.transport)
}

// tool is one started tool. exec's copying goroutines write stdout and stderr until Done is
// closed; the runner reads them only after that.
type tool struct {
	*proc.Proc
	stdout, stderr bytes.Buffer
}

func (r *runner) start(impl, name string, args []string) (*tool, error) {
	t := &tool{}
	cmd := exec.Command(filepath.Join(r.bin, impl, name), args...)
	cmd.Stdout, cmd.Stderr = &t.stdout, &t.stderr
	cmd.WaitDelay = time.Second
	var err error
	if t.Proc, err = proc.Start(cmd, nil); err != nil {
		return nil, err
	}
	return t, nil
}

func (p *tool) results() []contract.Result {
	var out []contract.Result
	for _, line := range strings.Split(p.stdout.String(), "\n") {
		if strings.HasPrefix(line, "RESULT ") {
			if res, err := contract.ParseResult(line); err == nil {
				out = append(out, res)
			}
		}
	}
	return out
}

// listening polls until endpoint accepts connections, p exits, or the deadline passes. For tcp it
// looks for the listening socket in /proc/net/tcp rather than connecting, since a probe
// connection would be a peer to the tool (and go-zeromq logs every failed handshake).
func listening(ctx context.Context, endpoint string, p *tool, deadline time.Time) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		switch {
		case strings.HasPrefix(endpoint, "tcp://"), strings.HasPrefix(endpoint, "ws://"),
			strings.HasPrefix(endpoint, "tls://"), strings.HasPrefix(endpoint, "wss://"):
			hostPort := strings.TrimSuffix(endpoint, "/zmq")
			port, _ := strconv.Atoi(hostPort[strings.LastIndexByte(hostPort, ':')+1:])
			if ok, err := tcpListening(port); ok || err != nil {
				return // err: no /proc; the connecting tools all retry anyway
			}
		case strings.HasPrefix(endpoint, "ipc://"):
			if fi, err := os.Stat(strings.TrimPrefix(endpoint, "ipc://")); err == nil && fi.Mode()&os.ModeSocket != 0 {
				return
			}
		default:
			return
		}
		select {
		case <-p.Done():
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// tcpListening reports whether a socket listens on port, from /proc/net/tcp and tcp6; the
// error says that neither could be read.
func tcpListening(port int) (bool, error) {
	want := fmt.Sprintf(":%04X", port)
	var readErr error
	read := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			readErr = err
			continue
		}
		read++
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// f[1] is local_address (hex ip:port), f[3] the state; 0A is LISTEN.
			if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				return true, nil
			}
		}
	}
	if read == 0 {
		return false, readErr
	}
	return false, nil
}

// runPair runs test t for pair p once: the server binds, the client connects once the server
// listens. Whatever happens, no process of the pair is left when it returns.
func (r *runner) runPair(ctx context.Context, t test, p pair, round int) record {
	rec := record{Test: t, Pair: p, Transport: r.transport, Round: round,
		RC: [2]int{-1, -1}, CPU: [2]float64{-1, -1}, Busy: -1}
	if r.idleWait > 0 {
		busy, waited := proc.WaitIdle(ctx, r.idleMax, r.idleWait)
		rec.Busy, rec.Waited = busy, waited.Seconds()
	}
	crole, srole := rec.roles()
	extra := []string{"--timeout", strconv.FormatFloat(r.timeout.Seconds(), 'f', -1, 64)}
	flags := r.args
	if t.Tool == contract.ToolThr {
		flags = append(append([]string(nil), r.thrArg...), r.args...)
	}
	if p.Client == limitImpl {
		// The limit line is bytes over one stream: it has no security to switch on.
		flags = slices.DeleteFunc(slices.Clone(flags), func(f string) bool { return f == "--curve" })
	}
	extra = append(extra, flags...)
	rec.Flags = strings.Join(flags, " ")
	args := func(role, mode, ep string) []string {
		return append([]string{role, mode, ep, strconv.Itoa(t.Size), strconv.Itoa(t.Count)}, extra...)
	}
	var server, client *tool
	defer func() {
		for _, pr := range []*tool{server, client} {
			if pr != nil {
				pr.Kill()
				<-pr.Done()
			}
		}
	}()
	var ep string
	for attempt := 1; ; attempt++ {
		var err error
		if ep, err = r.endpoint(); err != nil {
			fmt.Fprintf(r.log, "compare: %s: %v\n", p, err)
			return rec
		}
		sep := ep // what the server binds: behind stunnel, plain
		if tunneled(p.Server, ep) {
			if sep, err = r.endpointPlain(); err != nil {
				fmt.Fprintf(r.log, "compare: %s: %v\n", p, err)
				return rec
			}
		}
		if server, err = r.start(p.Server, t.Tool, args(srole, "bind", sep)); err != nil {
			fmt.Fprintf(r.log, "compare: %s: %v\n", p, err)
			return rec
		}
		listening(ctx, sep, server, time.Now().Add(5*time.Second))
		if sep != ep && !server.Exited() {
			tn, err := r.tunnel(false, ep, sep)
			if err != nil {
				fmt.Fprintf(r.log, "compare: %s: stunnel: %v\n", p, err)
				return rec
			}
			defer tn.Close()
		}
		if !server.Exited() || attempt == 3 ||
			!strings.Contains(strings.ToLower(server.stderr.String()), "address already in use") {
			break
		}
		<-server.Done() // someone took the port between endpoint() and the bind: try another
	}
	if strings.HasPrefix(ep, "ipc://") {
		defer os.Remove(strings.TrimPrefix(ep, "ipc://"))
	}
	if !server.Exited() {
		cep := ep // what the client connects to: behind stunnel, plain
		var err error
		if tunneled(p.Client, ep) {
			if cep, err = r.endpointPlain(); err == nil {
				var tn *stunnel.Tunnel
				if tn, err = r.tunnel(true, ep, cep); err == nil {
					defer tn.Close()
					cep = plainEndpoint(ep, tn.Addr())
				}
			}
		}
		if err != nil {
			fmt.Fprintf(r.log, "compare: %s: stunnel: %v\n", p, err)
		} else if client, err = r.start(p.Client, t.Tool, args(crole, "connect", cep)); err != nil {
			fmt.Fprintf(r.log, "compare: %s: %v\n", p, err)
		}
	}
	deadline := time.NewTimer(r.timeout + r.grace)
	defer deadline.Stop()
	for _, pr := range []*tool{server, client} {
		if pr == nil {
			continue
		}
		select {
		case <-pr.Done():
		case <-deadline.C:
			fmt.Fprintf(r.log, "compare: %s %s: still running %v after its deadline, killed\n", t, p, r.grace)
			server.Kill()
			if client != nil {
				client.Kill()
			}
			<-pr.Done()
		case <-ctx.Done():
			server.Kill()
			if client != nil {
				client.Kill()
			}
			<-pr.Done()
		}
	}
	// Both are waited for below even if the deadline fired while waiting for the first.
	server.Kill()
	<-server.Done()
	rec.RC[1], rec.CPU[1] = server.ExitCode(), server.CPU()
	rec.Results = append(rec.Results, server.results()...)
	if client != nil {
		client.Kill()
		<-client.Done()
		rec.RC[0], rec.CPU[0] = client.ExitCode(), client.CPU()
		rec.Results = append(rec.Results, client.results()...)
	}
	if !rec.ok() {
		fmt.Fprintf(r.log, "compare: %s %s round %d FAILED (rc client/server %d/%d)\n", t, p, round, rec.RC[0], rec.RC[1])
		for _, pr := range []struct {
			name string
			p    *tool
		}{{"server " + p.Server, server}, {"client " + p.Client, client}} {
			if pr.p != nil {
				fmt.Fprintf(r.log, "  %s stdout: %s  %s stderr: %s", pr.name, tail(pr.p.stdout.String()), pr.name, tail(pr.p.stderr.String()))
			}
		}
	}
	return rec
}

// tail returns the last lines of s, enough to see why a tool failed.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n    ") + "\n"
}

// tunneled reports whether impl needs stunnel for endpoint: libzmq and the other ZeroMQ
// libraries have no TLS, so over tls:// and wss:// they speak tcp:// and ws:// to stunnel4, the
// way libzmq deployments add TLS. zloop and the limit line speak TLS themselves.
func tunneled(impl, endpoint string) bool {
	return benchtls.Secure(endpoint) && impl != "zloop" && impl != limitImpl
}

// endpointPlain is a fresh plain endpoint for the TLS transport's plaintext side.
func (r *runner) endpointPlain() (string, error) {
	tr := r.transport
	r.transport = map[string]string{"tls": "tcp", "wss": "ws"}[tr]
	defer func() { r.transport = tr }()
	return r.endpoint()
}

// plainEndpoint is the tcp:// or ws:// endpoint at hostPort for the TLS endpoint ep.
func plainEndpoint(ep, hostPort string) string {
	if strings.HasPrefix(ep, "wss://") {
		return "ws://" + hostPort + "/zmq"
	}
	return "tcp://" + hostPort
}

// hostPort is the host:port of a tcp, ws, tls or wss endpoint.
func hostPort(ep string) string {
	_, rest, _ := strings.Cut(ep, "://")
	hp, _, _ := strings.Cut(rest, "/")
	return hp
}

// tunnel starts stunnel for one side of a pair. Server side (client false): it accepts TLS at
// tlsEp's address and connects to the plain endpoint a binding tool listens on. Client side: it
// accepts plaintext on a port of its own (plainEp's is only reserved) and connects with TLS to
// tlsEp, verifying the server against the run's CA. The files are benchtls's
// (ZLOOP_BENCH_TLS_DIR, which main sets for tls and wss).
func (r *runner) tunnel(client bool, tlsEp, plainEp string) (*stunnel.Tunnel, error) {
	dir := os.Getenv(benchtls.Env)
	if dir == "" {
		return nil, fmt.Errorf("%w: no %s", errConfig, benchtls.Env)
	}
	cfg := stunnel.Config{CertFile: filepath.Join(dir, "server.crt"), KeyFile: filepath.Join(dir, "server.key")}
	if client {
		cfg = stunnel.Config{Client: true, Connect: hostPort(tlsEp), CAFile: filepath.Join(dir, "ca.crt"), CheckHost: "localhost"}
	} else {
		cfg.Accept, cfg.Connect = hostPort(tlsEp), hostPort(plainEp)
	}
	return stunnel.Start(cfg)
}
