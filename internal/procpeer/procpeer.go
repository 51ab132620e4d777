// Package procpeer runs ZeroMQ peers as separate processes that do one job and exit at
// once, the way command-line tools and batch jobs use ZeroMQ: send (or receive) their
// messages, close the socket with the default linger, terminate the context, exit. Run
// pairs two of them and checks that every message arrived exactly once and in order.
//
// A peer is libzmq (Libzmq: /usr/bin/python3 with pyzmq running the embedded oneshot.py)
// or zloop (Zloop: the running test binary started again, whose TestMain hands it to
// ServeChild). Both follow one contract, given by a Spec:
//   - it binds (and reports {"bound": endpoint}) or connects, then plays its Role:
//     RoleSend sends the plan (a ROUTER prefixes Spec.To, retrying while unroutable);
//     RoleRecv receives it; RoleRequest sends each message and waits for its reply (a
//     DEALER adds the empty delimiter); RoleReply answers each request with "re" + the
//     request (a ROUTER keeps the envelope); RolePub sends probes until a line arrives on
//     stdin, then the plan; RoleXPub waits for the subscription, then sends the plan;
//     RoleSub (SUB subscribes to everything, XSUB sends \x01) skips leading probes, then
//     receives the plan;
//   - it reports each message it received as {"msg": [frame summaries]} (see Summary),
//     {"synced": true} on the first probe (or, XPUB, on the subscription), {"closing":
//     true} before closing, {"done": true} once the context is terminated, or {"error":
//     ...} and a non-zero exit status;
//   - it gives up after Spec.TimeoutMS, so no peer outlives a dead test binary for long.
//
// The test side kills every peer it started when the test ends (t.Cleanup).
package procpeer

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
)

//go:embed oneshot.py
var script string

const python = "/usr/bin/python3"

// The roles of a peer (see the package comment).
const (
	RoleSend    = "send"
	RoleRecv    = "recv"
	RoleRequest = "request"
	RoleReply   = "reply"
	RolePub     = "pub"
	RoleXPub    = "xpub"
	RoleSub     = "sub"
)

// Spec is one peer's job; oneshot.py reads the same JSON.
type Spec struct {
	Type         string `json:"type"` // PUSH, PULL, ...: libzmq's names
	Role         string `json:"role"`
	Bind         string `json:"bind,omitempty"`    // the endpoint to bind, or
	Connect      string `json:"connect,omitempty"` // the endpoint to connect to
	Count        int    `json:"count"`             // single-frame messages of the plan
	Multi        int    `json:"multi"`             // multipart messages of the plan
	RoutingID    string `json:"routing_id,omitempty"`
	To           string `json:"to,omitempty"` // a sending ROUTER's peer (ROUTER_MANDATORY)
	UnlimitedHWM bool   `json:"unlimited_hwm,omitempty"`
	TimeoutMS    int    `json:"timeout_ms"`
}

// event is one line a peer reports.
type event struct {
	Bound   string   `json:"bound,omitempty"`
	Synced  bool     `json:"synced,omitempty"`
	Msg     []string `json:"msg,omitempty"`
	Closing bool     `json:"closing,omitempty"`
	Done    bool     `json:"done,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Impl is a ZeroMQ implementation a peer runs on.
type Impl string

const (
	Libzmq Impl = "libzmq" // libzmq 4.3 through pyzmq on /usr/bin/python3
	Zloop  Impl = "zloop"  // this test binary, through ServeChild
)

// proc is a running peer and what it reported so far.
type proc struct {
	name   string // "zloop PUSH", for messages
	cmd    *exec.Cmd
	stdin  *os.File
	stderr testpeer.TailBuffer

	changed    chan struct{} // a token after each report line and at the end of output
	readerDone chan struct{}
	exited     chan struct{} // closed once the process has been reaped

	mu        sync.Mutex // guards the fields below
	bound     string
	synced    bool
	msgs      [][]string
	closing   bool
	done      bool
	errs      []string // reported errors and lines that are not reports
	killedWhy string
	waitErr   error
	outEnded  bool
}

// start launches a peer for spec and registers a t.Cleanup that kills it if it is still
// running and waits until it is reaped and its output read.
func start(t *testing.T, impl Impl, spec Spec) *proc {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{
		name:       fmt.Sprintf("%s %s", impl, spec.Type),
		changed:    make(chan struct{}, 1),
		readerDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	switch impl {
	case Libzmq:
		p.cmd = exec.Command(python, "-c", script, string(js))
	case Zloop:
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		p.cmd = exec.Command(exe)
		// The race detector sleeps a second at exit (atexit_sleep_ms) for late reports: most
		// of a case's time, and a peer's goroutines are done by then anyway.
		gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=50")
		p.cmd.Env = append(os.Environ(), childEnv+"="+string(js), "GORACE="+gorace)
	default:
		t.Fatalf("procpeer: unknown implementation %q", impl)
	}
	// Own pipes, not exec's: Wait must not close the read end before every line is read.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		t.Fatal(err)
	}
	p.stdin = inW
	p.cmd.Stdin = inR
	p.cmd.Stdout = outW
	p.cmd.Stderr = &p.stderr
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		t.Fatalf("procpeer: start %s: %v", p.name, err)
	}
	go p.read(outR)
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
		p.notify()
	}()
	t.Cleanup(func() {
		p.kill("at the end of the test")
		<-p.exited
		<-p.readerDone
		p.stdin.Close()
	})
	return p
}

func (p *proc) notify() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *proc) read(r *os.File) {
	defer close(p.readerDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		var e event
		bad := len(bytes.TrimSpace(line)) > 0 && json.Unmarshal(line, &e) != nil
		p.mu.Lock()
		switch {
		case bad:
			p.errs = append(p.errs, fmt.Sprintf("not a report: %q", line))
		case e.Bound != "":
			p.bound = e.Bound
		case e.Synced:
			p.synced = true
		case e.Msg != nil:
			p.msgs = append(p.msgs, e.Msg)
		case e.Closing:
			p.closing = true
		case e.Done:
			p.done = true
		case e.Error != "":
			p.errs = append(p.errs, e.Error)
		}
		if err != nil {
			p.outEnded = true
		}
		p.mu.Unlock()
		p.notify()
		if err != nil {
			return
		}
	}
}

// waitUntil polls cond (under p.mu) after each report of p, until it holds (true), p's
// output ended, or the deadline passed (false).
func (p *proc) waitUntil(deadline time.Time, cond func() bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		p.mu.Lock()
		ok, ended := cond(), p.outEnded
		p.mu.Unlock()
		if ok {
			return true
		}
		if ended {
			return false
		}
		select {
		case <-p.changed:
		case <-timer.C:
			return false
		}
	}
}

func (p *proc) isExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill ends p with SIGKILL unless it has exited; why goes into its status. Only this
// process's own children are ever killed, by their pid.
func (p *proc) kill(why string) {
	if !p.isExited() {
		p.mu.Lock()
		p.killedWhy = why
		p.mu.Unlock()
		_ = p.cmd.Process.Kill()
	}
}

// wasKilled reports whether kill's SIGKILL ended p (not an exit of its own just before);
// the caller holds p.mu.
func (p *proc) wasKilled() bool {
	var ee *exec.ExitError
	if !p.isExited() || !errors.As(p.waitErr, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL && p.killedWhy != ""
}

// status says how p ended or where it stands, for failure messages.
func (p *proc) status() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s []string
	switch {
	case p.wasKilled():
		what := "still waiting"
		if p.closing {
			what = "still closing (in close or term)"
		}
		if n := len(p.msgs); n > 0 {
			what += fmt.Sprintf(", %d messages received", n)
		}
		s = append(s, fmt.Sprintf("killed %s, %s", p.killedWhy, what))
	case p.isExited() && p.waitErr != nil:
		s = append(s, fmt.Sprintf("exited with %v", p.waitErr))
	case p.isExited() && p.done:
		s = append(s, "exited 0 after close and term")
	case p.isExited():
		s = append(s, "exited 0")
	default:
		s = append(s, "running")
	}
	for _, e := range p.errs {
		s = append(s, "error: "+e)
	}
	if tail := strings.TrimSpace(p.stderr.String()); tail != "" {
		s = append(s, "stderr: "+tail)
	}
	return strings.Join(s, "; ")
}

// requirePython fails the test when python3 with pyzmq is missing and the environment has
// CI=true, and skips it otherwise.
func requirePython(t *testing.T) {
	t.Helper()
	if err := testpeer.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("procpeer: %v", err)
		}
		t.Skipf("procpeer: %v", err)
	}
}
