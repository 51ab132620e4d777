package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The tests start this test binary as their child (child).
	if mode := os.Getenv("PROC_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	goleak.VerifyTestMain(m)
}

// child is the started process: "lines" prints two lines and exits 7; "term" exits 3 on SIGTERM;
// "deaf" ignores SIGTERM and waits to be killed; "spin" uses 20 ms of CPU and exits 0. The
// waiting ones print READY once their signal handling is in place.
func child(mode string) int {
	switch mode {
	case "lines":
		fmt.Println("one")
		fmt.Println("two")
		return 7
	case "term":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("READY")
		<-c
		return 3
	case "deaf":
		signal.Ignore(syscall.SIGTERM)
		// A channel no signal comes to: the signal handler's goroutine keeps the runtime from
		// taking the wait for a deadlock, which select {} alone would be (exit 2).
		never := make(chan os.Signal, 1)
		signal.Notify(never, syscall.SIGUSR2)
		fmt.Println("READY")
		<-never
		return 4
	case "spin":
		for start := time.Now(); ; {
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil || time.Since(start) > time.Minute {
				return 1
			}
			if ru.Utime.Nano()+ru.Stime.Nano() >= 20e6 {
				return 0
			}
		}
	}
	return 2
}

func command(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROC_CHILD="+mode)
	return cmd
}

// startLines starts mode with its stdout lines sent on the returned channel, closed at EOF.
func startLines(t *testing.T, mode string) (*Proc, <-chan string) {
	t.Helper()
	lines := make(chan string, 16)
	p, err := Start(command(mode), func(out io.Reader) {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); <-p.Done() })
	return p, lines
}

func TestStartReadsStdoutBeforeWait(t *testing.T) {
	p, lines := startLines(t, "lines")
	var got []string
	for l := range lines {
		got = append(got, l)
	}
	if strings.Join(got, ",") != "one,two" {
		t.Errorf("stdout %q", got)
	}
	if rc := p.ExitCode(); rc != 7 {
		t.Errorf("exit code %d, want 7", rc)
	}
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) {
		t.Errorf("Err %v, want an ExitError", p.Err())
	}
	if !p.Exited() {
		t.Error("not Exited after ExitCode")
	}
	p.Kill() // after the wait: must not signal a group id that may be reused
}

func TestStopTerm(t *testing.T) {
	p, lines := startLines(t, "term")
	if l := <-lines; l != "READY" {
		t.Fatalf("first line %q", l)
	}
	if p.Exited() {
		t.Fatal("Exited while the child waits for SIGTERM")
	}
	if rc := p.Stop(time.Minute); rc != 3 {
		t.Errorf("Stop = %d, want 3 (the child's answer to SIGTERM)", rc)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	p, lines := startLines(t, "deaf")
	if l := <-lines; l != "READY" {
		t.Fatalf("first line %q", l)
	}
	if rc := p.Stop(50 * time.Millisecond); rc != -1 {
		t.Errorf("Stop = %d, want -1 (killed)", rc)
	}
}

func TestCPU(t *testing.T) {
	p, err := Start(command("spin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc := p.ExitCode(); rc != 0 {
		t.Fatalf("spin exited %d", rc)
	}
	if cpu := p.CPU(); cpu < 0.02 {
		t.Errorf("CPU %v s, want at least the child's 0.02 s", cpu)
	}
}

func TestStartError(t *testing.T) {
	if _, err := Start(exec.Command("/nonexistent/tool"), nil); err == nil {
		t.Error("Start of a missing file succeeded")
	}
}

func TestLog(t *testing.T) {
	var capped, all Log
	capped.Max = 10
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				for _, l := range []*Log{&capped, &all} {
					if n, err := l.Write([]byte("abcd")); n != 4 || err != nil {
						t.Errorf("Write = %d, %v", n, err)
					}
					_ = l.String()
				}
			}
		}()
	}
	wg.Wait()
	if got := capped.String(); len(got) != 10 {
		t.Errorf("capped log kept %d bytes, want 10", len(got))
	}
	if got := all.String(); len(got) != 4*100*4 {
		t.Errorf("log kept %d bytes, want 1600", len(got))
	}
	var ws Log
	_, _ = ws.Write([]byte("  why \n"))
	if ws.String() != "why" {
		t.Errorf("String %q, want it trimmed", ws.String())
	}
}

func TestMachine(t *testing.T) {
	if m := Machine(); !strings.HasPrefix(m, "host ") || !strings.HasSuffix(m, " CPUs, "+runtime.Version()) {
		t.Errorf("Machine() = %q", m)
	}
}

func TestIdle(t *testing.T) {
	ctx := context.Background()
	busy, err := BusyFraction(ctx, 50*time.Millisecond)
	if err != nil {
		t.Skip("no /proc/stat:", err)
	}
	if busy < 0 || busy > 1 {
		t.Fatalf("busy %v", busy)
	}
	// Any load is at most 100%: no wait.
	if b, w := WaitIdle(ctx, 1, time.Minute); b < 0 || w > 10*time.Second {
		t.Fatalf("WaitIdle(1) = %v after %v", b, w)
	}
	// No load is below -1: waits out its patience, then reports.
	if b, w := WaitIdle(ctx, -1, 500*time.Millisecond); b < 0 || w < 500*time.Millisecond {
		t.Fatalf("WaitIdle(-1) = %v after %v", b, w)
	}
}
