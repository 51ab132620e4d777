package testpeer

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pushPull starts a PUSH peer bound on ep and a PULL peer connected to it.
func pushPull(t *testing.T, ep string) (push, pull *Peer) {
	t.Helper()
	push = Start(t, "PUSH")
	pull = Start(t, "PULL")
	bound := push.Bind(ep)
	if bound == "" || strings.HasSuffix(bound, ":*") {
		t.Fatalf("Bind(%q) resolved to %q", ep, bound)
	}
	pull.Connect(bound)
	return push, pull
}

func endpoints(t *testing.T) map[string]string {
	return map[string]string{
		"tcp": "tcp://127.0.0.1:*",
		"ipc": "ipc://" + filepath.Join(t.TempDir(), "p.sock"),
	}
}

// TestPushPull is libzmq talking to libzmq through the harness: multipart messages with
// empty and binary frames, repeated sends, and bulk sequence traffic in both the
// small-frame and the long-frame (> 255 bytes) encodings.
func TestPushPull(t *testing.T) {
	for name, ep := range endpoints(t) {
		t.Run(name, func(t *testing.T) {
			push, pull := pushPull(t, ep)
			if v := push.Version(); !strings.HasPrefix(v, "4.") {
				t.Errorf("libzmq version %q", v)
			}

			bin := []byte{0, 1, 2, 0xff, '\n', '"'}
			push.Send([]byte("hello"), []byte{}, bin)
			push.SendN(3, []byte("again"))
			msgs, err := pull.RecvN(4, 5*time.Second)
			if err != nil {
				t.Fatalf("RecvN: %v (got %d)", err, len(msgs))
			}
			want := fmt.Sprintf("%q", [][][]byte{
				{[]byte("hello"), {}, bin}, {[]byte("again")}, {[]byte("again")}, {[]byte("again")},
			})
			if got := fmt.Sprintf("%q", msgs); got != want {
				t.Fatalf("received %s, want %s", got, want)
			}
			if msgs[0][1] == nil {
				t.Error("empty frame decoded as nil")
			}

			// The receiver runs concurrently, as it would against zloop: with no reader,
			// HWM (1000 + 1000 messages) would rightly stop the sender.
			for _, c := range []struct{ n, size int }{{5000, 64}, {20, 300_000}} {
				errc := make(chan error, 1)
				go func() { errc <- pull.RecvCheckPattern(c.n, c.size, 20*time.Second) }()
				push.SendSeq(c.n, c.size)
				if err := <-errc; err != nil {
					t.Fatalf("RecvCheckPattern %dx%d: %v", c.n, c.size, err)
				}
			}
		})
	}
}

// TestSeqAgreesWithPeer proves the Go and Python definitions of sequence messages agree,
// in both directions, including sizes below 8 bytes.
func TestSeqAgreesWithPeer(t *testing.T) {
	push, pull := pushPull(t, "tcp://127.0.0.1:*")
	for _, size := range []int{0, 3, 8, 9, 600} {
		push.SendSeq(3, size)
		msgs, err := pull.RecvN(3, 5*time.Second)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		for i, m := range msgs {
			if len(m) != 1 {
				t.Fatalf("size %d: message %d has %d frames", size, i, len(m))
			}
			if err := CheckSeqPattern(m[0], uint64(i), size); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if want := SeqPayload(nil, uint64(i), size); !bytes.Equal(m[0], want) {
				t.Fatalf("size %d: peer sent %x, SeqPayload makes %x", size, m[0], want)
			}
		}
		for i := range 3 {
			push.Send(SeqPayload(nil, uint64(i), size))
		}
		if err := pull.RecvCheckPattern(3, size, 5*time.Second); err != nil {
			t.Fatalf("size %d: peer rejects SeqPayload: %v", size, err)
		}
	}
}

func TestRecvCheckDetectsMismatch(t *testing.T) {
	push, pull := pushPull(t, "tcp://127.0.0.1:*")
	cases := []struct {
		name   string
		frames [][]byte
		size   int
	}{
		{"wrong sequence", [][]byte{SeqPayload(nil, 1, 16)}, 16},
		{"wrong size", [][]byte{SeqPayload(nil, 0, 15)}, 16},
		{"two frames", [][]byte{SeqPayload(nil, 0, 16), {}}, 16},
	}
	for _, c := range cases {
		push.Send(c.frames...)
		err := pull.RecvCheck(1, c.size, 5*time.Second)
		if !errors.Is(err, ErrPeer) {
			t.Errorf("%s: RecvCheck = %v, want ErrPeer", c.name, err)
		}
	}
	bad := SeqPayload(nil, 0, 40)
	bad[30] ^= 1
	push.Send(bad)
	if err := pull.RecvCheckPattern(1, 40, 5*time.Second); !errors.Is(err, ErrPeer) || !strings.Contains(err.Error(), "byte 30") {
		t.Errorf("RecvCheckPattern on a corrupted body = %v", err)
	}
	// The pattern is only checked when asked for, as the spec of RecvCheck says.
	push.Send(bad)
	if err := pull.RecvCheck(1, 40, 5*time.Second); err != nil {
		t.Errorf("RecvCheck on a body with the right head = %v", err)
	}
}

func TestRecvTimeout(t *testing.T) {
	pull := Start(t, "PULL")
	pull.Bind("tcp://127.0.0.1:*")
	start := time.Now()
	msg, err := pull.Recv(200 * time.Millisecond)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || msg != nil {
		t.Fatalf("Recv on an idle socket = %q, %v; want ErrTimeout", msg, err)
	}
	if elapsed < 200*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("Recv(200ms) returned after %v", elapsed)
	}
	// A timeout is an answer, not a broken peer: the peer keeps working.
	if got := pull.GetInt("RCVHWM"); got != 1000 {
		t.Fatalf("RCVHWM = %d after a timeout, want 1000", got)
	}

	push := Start(t, "PUSH")
	push.Connect(pull.GetString("LAST_ENDPOINT"))
	push.SendN(2, []byte("x"))
	msgs, err := pull.RecvN(5, 300*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || len(msgs) != 2 {
		t.Fatalf("RecvN(5) with 2 sent = %d msgs, %v; want the 2 and ErrTimeout", len(msgs), err)
	}
}

func TestSockopts(t *testing.T) {
	router := Start(t, "ROUTER")
	dealer := Start(t, "DEALER")
	dealer.SetBytes("ROUTING_ID", []byte("abc"))
	if got := dealer.GetBytes("ROUTING_ID"); string(got) != "abc" {
		t.Fatalf("ROUTING_ID = %q", got)
	}
	dealer.SetInt("SNDHWM", 17)
	if got := dealer.GetInt("SNDHWM"); got != 17 {
		t.Fatalf("SNDHWM = %d, want 17", got)
	}
	if got := dealer.GetInt("LINGER"); got != 0 {
		t.Fatalf("default LINGER = %d, want 0", got)
	}
	ep := router.Bind("tcp://127.0.0.1:*")
	dealer.Connect(ep)
	dealer.Send([]byte("ping"))
	m, err := router.Recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%q", m) != `["abc" "ping"]` {
		t.Fatalf("ROUTER received %q", m)
	}
	router.Send([]byte("abc"), []byte("pong"))
	if m, err := dealer.Recv(5 * time.Second); err != nil || fmt.Sprintf("%q", m) != `["pong"]` {
		t.Fatalf("DEALER received %q, %v", m, err)
	}
	dealer.Disconnect(ep)
	router.Unbind(ep)
}

// fakeTB records Fatal and Skip instead of ending the real test; like the real ones they
// end the calling goroutine, so calls go through run.
type fakeTB struct {
	testing.TB
	mu             sync.Mutex
	fatal, skipped []string
	errs           []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) record(dst *[]string, s string) {
	f.mu.Lock()
	*dst = append(*dst, s)
	f.mu.Unlock()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(&f.fatal, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) { f.record(&f.fatal, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.record(&f.skipped, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any) { f.record(&f.skipped, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.record(&f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatals() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.fatal...)
}

// run calls fn on its own goroutine and reports whether it returned normally.
func run(fn func()) (returned bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
		returned = true
	}()
	<-done
	return returned
}

func TestUnavailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-python3")
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	if run(func() { start(f, missing, "PUSH") }) || len(f.skipped) != 1 || len(f.fatal) != 0 {
		t.Fatalf("without CI: skipped %q, fatal %q; want one skip", f.skipped, f.fatal)
	}
	if !strings.Contains(f.skipped[0], ErrUnavailable.Error()) {
		t.Errorf("skip message %q", f.skipped[0])
	}
	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	if run(func() { start(f, missing, "PUSH") }) || len(f.fatal) != 1 || len(f.skipped) != 0 {
		t.Fatalf("with CI=true: skipped %q, fatal %q; want one fatal", f.skipped, f.fatal)
	}
	if err := Available(); err != nil {
		t.Fatalf("Available() = %v on this machine", err)
	}
}

func TestPeerErrorFailsTest(t *testing.T) {
	f := &fakeTB{TB: t}
	if run(func() { Start(f, "NO_SUCH_TYPE") }) || len(f.Fatals()) != 1 {
		t.Fatalf("Start with a bad socket type: fatal %q", f.Fatals())
	}

	f = &fakeTB{TB: t}
	var p *Peer
	if !run(func() { p = Start(f, "PUSH") }) {
		t.Fatalf("Start: %q", f.Fatals())
	}
	calls := map[string]func(){
		"Connect":    func() { p.Connect("bogus://nowhere") },
		"Bind":       func() { p.Bind("tcp://256.0.0.1:1") },
		"SetInt":     func() { p.SetInt("NO_SUCH_OPTION", 1) },
		"SetBytes":   func() { p.SetBytes("SNDHWM", []byte("x")) },
		"Send":       func() { p.Send() },
		"Disconnect": func() { p.Disconnect("tcp://127.0.0.1:1") },
	}
	for name, call := range calls {
		before := len(f.Fatals())
		if run(call) || len(f.Fatals()) != before+1 {
			t.Errorf("%s: returned normally or fatal not recorded: %q", name, f.Fatals())
		}
	}
	if !strings.Contains(strings.Join(f.Fatals(), "\n"), "ZMQError") {
		t.Errorf("fatal messages carry no pyzmq error: %q", f.Fatals())
	}
	// Peer errors leave the peer usable.
	if ep := p.Bind("tcp://127.0.0.1:*"); !strings.HasPrefix(ep, "tcp://127.0.0.1:") {
		t.Fatalf("Bind after errors = %q", ep)
	}
}

func TestSendTimeout(t *testing.T) {
	// A PUSH without any peer cannot send: the peer answers timeout, the test fails.
	f := &fakeTB{TB: t}
	var p *Peer
	if !run(func() { p = Start(f, "PUSH") }) {
		t.Fatalf("Start: %q", f.Fatals())
	}
	p.SetTimeout(500 * time.Millisecond)
	if run(func() { p.Send([]byte("x")) }) || len(f.Fatals()) != 1 {
		t.Fatalf("Send with no peer: fatal %q", f.Fatals())
	}
	if !strings.Contains(f.Fatals()[0], ErrTimeout.Error()) {
		t.Fatalf("fatal %q does not report a timeout", f.Fatals()[0])
	}
}

func TestKill(t *testing.T) {
	push, pull := pushPull(t, "tcp://127.0.0.1:*")
	pull.Kill()
	select {
	case <-pull.Done():
	default:
		t.Fatal("Done not closed after Kill")
	}
	if _, err := pull.Recv(time.Second); !errors.Is(err, ErrExited) {
		t.Fatalf("Recv on a killed peer = %v, want ErrExited", err)
	}
	f := &fakeTB{TB: t}
	pull.t = f
	if run(func() { pull.Connect("tcp://127.0.0.1:1") }) || len(f.Fatals()) != 1 {
		t.Fatalf("Connect on a killed peer: fatal %q", f.Fatals())
	}
	pull.Kill() // twice is harmless
	pull.Close()
	if len(f.errs) != 0 {
		t.Fatalf("Close after Kill reported %q", f.errs)
	}
	// The surviving side keeps working: a replacement PULL gets new messages.
	again := Start(t, "PULL")
	again.Connect(push.GetString("LAST_ENDPOINT"))
	push.Send([]byte("after"))
	if m, err := again.Recv(5 * time.Second); err != nil || string(m[0]) != "after" {
		t.Fatalf("replacement peer got %q, %v", m, err)
	}
}

func TestHungPeerFailsFast(t *testing.T) {
	f := &fakeTB{TB: t}
	var p *Peer
	if !run(func() { p = Start(f, "PULL") }) {
		t.Fatalf("Start: %q", f.Fatals())
	}
	if err := stopProcess(p.cmd.Process); err != nil {
		t.Fatal(err)
	}
	p.SetTimeout(300 * time.Millisecond)
	start := time.Now()
	if run(func() { p.Bind("tcp://127.0.0.1:*") }) || len(f.Fatals()) != 1 {
		t.Fatalf("Bind on a stopped peer: fatal %q", f.Fatals())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hung peer detected after %v", d)
	}
	if !strings.Contains(f.Fatals()[0], ErrHung.Error()) {
		t.Fatalf("fatal %q does not say hung", f.Fatals()[0])
	}
	// Once hung, the answers cannot be matched any more: every later command fails at once.
	if _, err := p.Recv(time.Millisecond); !errors.Is(err, ErrHung) {
		t.Fatalf("Recv after a hang = %v, want ErrHung", err)
	}
	p.Close() // must kill the stopped process rather than wait on it
	select {
	case <-p.Done():
	default:
		t.Fatal("stopped peer still running after Close")
	}
}

func TestExitsOnEndOfInput(t *testing.T) {
	p := Start(t, "PUSH")
	p.stdin.Close() // what a dying test binary does to the peer
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("peer still running 10 s after end of input")
	}
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("peer exit: %v", p.cmd.ProcessState)
	}
}

func TestCheckSeq(t *testing.T) {
	for _, size := range []int{0, 1, 7, 8, 9, 300} {
		for _, seq := range []uint64{0, 1, 255, 256, 1 << 40} {
			b := SeqPayload([]byte("prefix"), seq, size)[len("prefix"):]
			if len(b) != size {
				t.Fatalf("SeqPayload(%d, %d) has %d bytes", seq, size, len(b))
			}
			if err := CheckSeqPattern(b, seq, size); err != nil {
				t.Fatalf("CheckSeqPattern(SeqPayload(%d, %d)) = %v", seq, size, err)
			}
			if size >= 8 || (size > 0 && seq < 1<<(8*size)) {
				if err := CheckSeq(b, seq+1, size); !errors.Is(err, ErrSeq) {
					t.Fatalf("size %d: seq %d accepted as %d", size, seq, seq+1)
				}
			}
			if err := CheckSeq(append(b, 0), seq, size); !errors.Is(err, ErrSeq) {
				t.Fatalf("size %d: longer body accepted", size)
			}
			if size > 8 {
				c := bytes.Clone(b)
				c[size-1] ^= 0x80
				if err := CheckSeqPattern(c, seq, size); !errors.Is(err, ErrSeq) {
					t.Fatalf("size %d: corrupted tail accepted", size)
				}
				if err := CheckSeq(c, seq, size); err != nil {
					t.Fatalf("size %d: CheckSeq looked past the head: %v", size, err)
				}
			}
		}
	}
}
