// Package proc holds what the runners (compare, echorss, swarmbench) do with the tools they start:
// a child in a process group of its own, waited for by one goroutine, stopped with SIGTERM then
// SIGKILL, its CPU time from wait4, its stderr kept for the report; and the machine's load from
// other processes, read from /proc/stat before a measurement.
package proc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one started child. Its methods may be called from any goroutine; those that give the
// exit status (Err, ExitCode, CPU) wait until Done is closed.
type Proc struct {
	// Cmd is the started command; after Done is closed its ProcessState is set.
	Cmd  *exec.Cmd
	done chan struct{} // closed by the waiting goroutine when Wait returned
	err  error         // Wait's error, written before done is closed
}

// Start starts cmd in a process group of its own (it sets cmd.SysProcAttr, so that stopping the
// child takes along anything the child started) and waits for it in a goroutine of its own. If
// read is not nil, cmd's Stdout must be nil: that goroutine passes read a pipe of the child's
// stdout, valid until read returns, and calls Wait after it, since Wait closes the pipe. read
// should consume the pipe to its end: a child still writing after that gets EPIPE.
func Start(cmd *exec.Cmd, read func(stdout io.Reader)) (*Proc, error) {
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out io.Reader
	if read != nil {
		var err error
		if out, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		if read != nil {
			read(out)
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the child's process id, which is also its process group's.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Done is closed once the child was waited for.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the child was waited for.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is Wait's error; it waits until Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Kill sends SIGKILL to the child's group unless the child was already waited for (its group id
// could have been reused since). It does not wait.
func (p *Proc) Kill() { p.signal(syscall.SIGKILL) }

func (p *Proc) signal(sig syscall.Signal) {
	if !p.Exited() {
		_ = syscall.Kill(-p.Pid(), sig)
	}
}

// Stop sends SIGTERM to the child's group, SIGKILL after grace, waits for the child and returns
// its exit code (-1 when a signal ended it).
func (p *Proc) Stop(grace time.Duration) int {
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Kill()
		<-p.done
	}
	return p.ExitCode()
}

// ExitCode is the child's exit code, -1 when a signal ended it; it waits until Done is closed.
func (p *Proc) ExitCode() int {
	<-p.done
	return p.Cmd.ProcessState.ExitCode()
}

// CPU is the child's user plus system time from wait4, in seconds; it waits until Done is closed.
func (p *Proc) CPU() float64 {
	<-p.done
	st := p.Cmd.ProcessState
	if st == nil {
		return 0
	}
	return (st.UserTime() + st.SystemTime()).Seconds()
}

// Log is a child's stderr kept for a report: an io.Writer that exec's copying goroutine writes
// while the runner reads it with String. It keeps the first Max bytes (all when Max is 0).
type Log struct {
	Max int
	mu  sync.Mutex // guards b
	b   strings.Builder
}

func (l *Log) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Max == 0 {
		l.b.Write(b)
	} else if room := l.Max - l.b.Len(); room > 0 {
		l.b.Write(b[:min(room, len(b))])
	}
	return len(b), nil
}

// String is what was kept so far, without surrounding white space.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}

// Machine names where a run happens, for the runners' tables and raw files.
func Machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("host %s, %d CPUs, %s", host, runtime.NumCPU(), runtime.Version())
}
