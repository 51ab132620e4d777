// Package javapeer runs a real ZMTP 2.0 peer from Go tests: one socket of JeroMQ 0.3.x (Debian's
// libjeromq-java), which speaks ZMTP 2.0 as libzmq 3.2 did. zloop does not speak 2.0; the tests
// check that it refuses such a peer clearly.
//
// The peer is the embedded Peer.java, run with Java's single-file source launcher against
// /usr/share/java/jeromq.jar. It keeps its socket open until Close (or until the test binary
// dies, which ends its standard input).
package javapeer

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed Peer.java
var source []byte

const (
	java = "/usr/bin/java"
	jar  = "/usr/share/java/jeromq.jar"
	// startTimeout covers the JVM start and the in-memory compile of Peer.java, on a loaded
	// two-core machine.
	startTimeout = 60 * time.Second
	exitTimeout  = 10 * time.Second
)

// ErrUnavailable means java or JeroMQ's jar is missing (apt-get install default-jre-headless
// libjeromq-java).
var ErrUnavailable = errors.New("zmq: javapeer: java or JeroMQ (libjeromq-java) is not available")

// Available returns nil when /usr/bin/java and /usr/share/java/jeromq.jar exist, else an error
// wrapping ErrUnavailable. Any goroutine may call it.
func Available() error {
	for _, f := range []string{java, jar} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return nil
}

// Peer is one running JeroMQ socket.
type Peer struct {
	// Endpoint is the endpoint the peer bound (with the port it picked) or connects to.
	Endpoint string
	// Version is JeroMQ's ZMQ.getVersionString(), the libzmq version it follows ("3.2.5").
	Version string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr strings.Builder
	exited chan struct{}
	once   sync.Once
}

// Bind starts a peer of type sockType ("PUSH", "PULL", ...) bound to a free port of addr
// ("tcp://127.0.0.1"). Connect starts one that connects to endpoint (and reconnects on its own,
// every 100 ms, like libzmq). When java or JeroMQ is missing they call t.Fatal if the environment
// has CI=true, else t.Skip. Both register a t.Cleanup that closes the peer. Call them from the
// test goroutine.
func Bind(t testing.TB, sockType, addr string) *Peer {
	t.Helper()
	return start(t, "bind", sockType, addr)
}

// Connect: see Bind.
func Connect(t testing.TB, sockType, endpoint string) *Peer {
	t.Helper()
	return start(t, "connect", sockType, endpoint)
}

func start(t testing.TB, mode, sockType, ep string) *Peer {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("javapeer: %v", err)
		}
		t.Skipf("javapeer: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "Peer.java")
	if err := os.WriteFile(path, source, 0o600); err != nil {
		t.Fatalf("javapeer: %v", err)
	}
	p := &Peer{exited: make(chan struct{})}
	p.cmd = exec.Command(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", jar, path, mode, sockType, ep)
	p.cmd.Dir = dir
	p.cmd.Stderr = &lockedWriter{b: &p.stderr}
	lines := make(chan string, 1)
	p.cmd.Stdout = &firstLine{lines: lines}
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatalf("javapeer: %v", err)
	}
	p.stdin = stdin
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("javapeer: start %s: %v", java, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.Close)

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-lines:
	case <-p.exited:
		select {
		case line = <-lines:
		default:
			t.Fatalf("javapeer %s %s: exited (%v); stderr: %s", mode, sockType, p.cmd.ProcessState, p.errText())
		}
	case <-timer.C:
		t.Fatalf("javapeer %s %s: no answer within %v; stderr: %s", mode, sockType, startTimeout, p.errText())
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "ok" {
		p.Close() // so that stderr is complete
		t.Fatalf("javapeer %s %s: answer %q; stderr: %s", mode, sockType, line, p.errText())
	}
	p.Version, p.Endpoint = f[1], f[2]
	return p
}

func (p *Peer) errText() string {
	lw := p.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return p.stderr.String()
}

// Close ends the peer: it closes the peer's standard input, on which it closes its socket and
// exits, and kills it when it has not exited in time. It returns once the process is gone. Any
// goroutine may call it; calls after the first wait for nothing.
func (p *Peer) Close() {
	p.once.Do(func() {
		_ = p.stdin.Close()
		timer := time.NewTimer(exitTimeout)
		defer timer.Stop()
		select {
		case <-p.exited:
		case <-timer.C:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// firstLine sends the first line written to it on lines and discards everything after it. exec's
// copier goroutine is its only writer.
type firstLine struct {
	buf   []byte
	done  bool
	lines chan<- string
}

func (w *firstLine) Write(b []byte) (int, error) {
	if w.done {
		return len(b), nil
	}
	w.buf = append(w.buf, b...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.done = true
		w.lines <- string(w.buf[:i])
		w.buf = nil
	}
	return len(b), nil
}

// lockedWriter lets the test read stderr while exec's copier goroutine writes it.
type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}
