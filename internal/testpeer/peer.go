// Package testpeer drives a real libzmq 4.3 socket from Go tests, for interoperability
// tests against the reference implementation.
//
// Start launches /usr/bin/python3 running the embedded peer.py, which creates one pyzmq
// socket and executes JSON-line commands from stdin, one JSON answer line per command.
// (Debian's python3-zmq, built on libzmq 4.3.4, works only with that interpreter.)
// The peer's LINGER is 0 unless set with SetInt; Close closes with linger 1000 ms so
// that messages just sent still leave.
//
// Every command has an overall timeout, so a hung peer fails the test instead of hanging
// it, and t.Cleanup closes the peer (killing it when it does not exit) so no process
// outlives its test. When the test binary dies, the peer sees end of input and exits.
//
// Methods other than Recv, RecvN, RecvCheck, RecvCheckPattern, RecvMeta, WaitEvent and WaitEventNamed fail
// the test with t.Fatalf on any peer error, so, like t.Fatalf, they must be called from the
// test's goroutine. Those return errors; the Recv methods but RecvMeta may be called from any
// goroutine.
// Commands on one Peer are serialised; Kill and Done may be used concurrently with them.
package testpeer

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

//go:embed peer.py
var script []byte

const (
	defaultPython = "/usr/bin/python3"

	// defaultTimeout bounds commands other than the Recv methods; SetTimeout changes it.
	defaultTimeout = 30 * time.Second
	// The Go side waits a grace period beyond the deadline it hands the script, so that
	// a slow but working peer answers "timeout" itself instead of being declared hung.
	minGrace = 2 * time.Second
	maxGrace = 10 * time.Second
	// startTimeout covers the interpreter start and the import of zmq.
	startTimeout = 20 * time.Second
	// exitTimeout is how long Close waits for a clean exit before it kills.
	exitTimeout = 5 * time.Second
)

var (
	availOnce sync.Once
	availErr  error
)

// Available returns nil when /usr/bin/python3 can import zmq, else an error wrapping
// ErrUnavailable. The probe runs once per process. Any goroutine may call it.
func Available() error {
	availOnce.Do(func() { availErr = probe(defaultPython) })
	return availErr
}

func availableAt(python string) error {
	if python == defaultPython {
		return Available()
	}
	return probe(python)
}

func probe(python string) error {
	cmd := exec.Command(python, "-c", "import zmq")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		defer close(done)
		out, err = cmd.CombinedOutput()
	}()
	select {
	case <-done:
	case <-time.After(startTimeout):
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		<-done
		return fmt.Errorf("%w: %s -c 'import zmq' did not finish in %v", ErrUnavailable, python, startTimeout)
	}
	if err != nil {
		return fmt.Errorf("%w: %s -c 'import zmq': %v %s", ErrUnavailable, python, err, out)
	}
	return nil
}

// Peer is one libzmq socket in a child process.
type Peer struct {
	t       testing.TB
	typ     string
	cmd     *exec.Cmd
	stdin   *os.File
	stderr  TailBuffer
	version string

	lines      chan []byte   // answer lines from readLoop
	eof        chan struct{} // closed when the peer's stdout ends
	quit       chan struct{} // closed by Close so readLoop never blocks on lines
	readerDone chan struct{}
	exited     chan struct{} // closed once the process has been reaped

	mu      sync.Mutex // serialises commands; guards the fields below
	timeout time.Duration
	broken  error // set once answers can no longer be trusted to match commands
	closed  bool

	killed    atomic.Bool
	closeOnce sync.Once
}

// Start launches /usr/bin/python3 peer.py for a socket of type sockType ("PUSH", "PULL",
// "REQ", ...: pyzmq's names). When python3 or pyzmq is missing it calls t.Fatal if the
// environment has CI=true, else t.Skip. It registers a t.Cleanup that closes the peer.
// Call it from the test goroutine.
func Start(t testing.TB, sockType string) *Peer {
	t.Helper()
	return start(t, defaultPython, sockType)
}

func start(t testing.TB, python, sockType string) *Peer {
	t.Helper()
	if err := availableAt(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testpeer: %v", err)
		}
		t.Skipf("testpeer: %v", err)
	}
	path := filepath.Join(t.TempDir(), "peer.py")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	// Own pipes rather than exec's: *os.File ends support write deadlines (a peer that
	// stops reading must not block the test), and Wait does not close our read end.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		t.Fatalf("testpeer: %v", err)
	}
	p := &Peer{
		t:          t,
		typ:        sockType,
		stdin:      inW,
		lines:      make(chan []byte),
		eof:        make(chan struct{}),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
		exited:     make(chan struct{}),
		timeout:    defaultTimeout,
	}
	p.cmd = exec.Command(python, path, sockType)
	p.cmd.Stdin = inR
	p.cmd.Stdout = outW
	p.cmd.Stderr = &p.stderr
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		t.Fatalf("testpeer: start %s: %v", python, err)
	}
	go p.readLoop(outR)
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.Close)

	resp, err := p.await("start", startTimeout)
	if err != nil {
		t.Fatalf("testpeer %s: %v", sockType, err)
	}
	p.version = resp.Zmq
	return p
}

func (p *Peer) readLoop(r *os.File) {
	defer close(p.readerDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			close(p.eof)
			return
		}
		select {
		case p.lines <- line:
		case <-p.quit:
			return
		}
	}
}

type response struct {
	OK     bool            `json:"ok"`
	Error  string          `json:"error"`
	Detail string          `json:"detail"`
	Ep     string          `json:"ep"`
	Int    *int64          `json:"int"`
	Bytes  []byte          `json:"bytes"`
	Msgs   [][][]byte      `json:"msgs"`
	Zmq    string          `json:"zmq"`
	Data   json.RawMessage `json:"data"` // an op's own result (zap.go)
	Events []string        `json:"events"`
	Found  bool            `json:"found"`
}

// await reads the next answer. The caller holds mu, or is Start before p escapes.
func (p *Peer) await(op string, wait time.Duration) (*response, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case line := <-p.lines:
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			p.broken = &CommandError{Op: op, Detail: fmt.Sprintf("bad answer %q: %v", line, err), Err: ErrPeer}
			return nil, p.broken
		}
		if !resp.OK {
			err := ErrPeer
			if resp.Error == "timeout" {
				err = ErrTimeout
			}
			detail := resp.Error
			if resp.Detail != "" {
				detail += ": " + resp.Detail
			}
			return &resp, &CommandError{Op: op, Detail: detail, Err: err}
		}
		return &resp, nil
	case <-p.eof:
		p.broken = &CommandError{Op: op, Detail: p.exitDetail(), Err: ErrExited}
		return nil, p.broken
	case <-timer.C:
		p.broken = &CommandError{Op: op, Detail: fmt.Sprintf("no answer within %v", wait), Err: ErrHung}
		return nil, p.broken
	}
}

func (p *Peer) exitDetail() string {
	select {
	case <-p.exited:
	case <-time.After(time.Second): // stdout closed just before the reaper ran
	}
	s := "exited"
	if p.cmd.ProcessState != nil && p.isExited() {
		s = p.cmd.ProcessState.String()
	}
	if p.killed.Load() {
		s += " after Kill"
	}
	if tail := p.stderr.String(); tail != "" {
		s += "; stderr: " + tail
	}
	return s
}

func (p *Peer) isExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// do sends one command and waits up to wait for its answer.
func (p *Peer) do(op string, req map[string]any, wait time.Duration) (*response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, &CommandError{Op: op, Detail: "peer closed", Err: ErrExited}
	}
	if p.broken != nil {
		return nil, p.broken
	}
	if req == nil {
		req = map[string]any{}
	}
	req["op"] = op
	line, err := json.Marshal(req)
	if err != nil {
		return nil, &CommandError{Op: op, Detail: err.Error(), Err: ErrPeer}
	}
	line = append(line, '\n')
	_ = p.stdin.SetWriteDeadline(time.Now().Add(wait))
	if _, err := p.stdin.Write(line); err != nil {
		if os.IsTimeout(err) {
			p.broken = &CommandError{Op: op, Detail: "peer stopped reading commands", Err: ErrHung}
		} else {
			p.broken = &CommandError{Op: op, Detail: err.Error() + "; " + p.exitDetail(), Err: ErrExited}
		}
		return nil, p.broken
	}
	return p.await(op, wait)
}

// must runs a command that fails the test on error.
func (p *Peer) must(op string, req map[string]any) *response {
	p.t.Helper()
	resp, err := p.do(op, req, overall(p.cmdTimeout()))
	if err != nil {
		p.t.Fatalf("testpeer %s: %v", p.typ, err)
	}
	return resp
}

func (p *Peer) cmdTimeout() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.timeout
}

// overall is how long the Go side waits for a command whose script deadline is d.
func overall(d time.Duration) time.Duration {
	return max(d, 0) + min(max(d/2, minGrace), maxGrace)
}

func millis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// SetTimeout sets the timeout of the commands other than the Recv methods (default
// 30 s): a send still held up by HWM after d fails with ErrTimeout, and a peer that has
// not answered a little later (d/2, at least 2 s, at most 10 s) fails with ErrHung.
// Raise it for a bulk SendSeq.
func (p *Peer) SetTimeout(d time.Duration) {
	p.mu.Lock()
	p.timeout = d
	p.mu.Unlock()
}

// Type returns the socket type given to Start.
func (p *Peer) Type() string { return p.typ }

// Version returns the libzmq version of the peer, e.g. "4.3.4".
func (p *Peer) Version() string { return p.version }

// Done is closed when the peer process has exited.
func (p *Peer) Done() <-chan struct{} { return p.exited }

// Bind binds the socket and returns the resolved endpoint (ZMQ_LAST_ENDPOINT), so
// "tcp://127.0.0.1:*" comes back with its port.
func (p *Peer) Bind(ep string) string {
	p.t.Helper()
	return p.must("bind", map[string]any{"ep": ep}).Ep
}

// Connect connects the socket to ep.
func (p *Peer) Connect(ep string) {
	p.t.Helper()
	p.must("connect", map[string]any{"ep": ep})
}

// Unbind undoes a Bind; ep must be the resolved endpoint Bind returned.
func (p *Peer) Unbind(ep string) {
	p.t.Helper()
	p.must("unbind", map[string]any{"ep": ep})
}

// Disconnect undoes a Connect.
func (p *Peer) Disconnect(ep string) {
	p.t.Helper()
	p.must("disconnect", map[string]any{"ep": ep})
}

// ZAP starts a ZAP handler (rfc 27) in the peer's process that lets PLAIN clients with exactly
// these credentials in and refuses everything else; libzmq's PLAIN server needs one.
func (p *Peer) ZAP(user, password []byte) {
	p.t.Helper()
	p.must("zap", map[string]any{"user": user, "password": password})
}

// WaitEventNamed waits up to timeout for a monitor event named name as libzmq names it without
// EVENT_ ("HANDSHAKE_FAILED_PROTOCOL"), after Monitor. It returns the names of the events seen on
// the way, that one included, and whether it came.
func (p *Peer) WaitEventNamed(name string, timeout time.Duration) ([]string, bool) {
	p.t.Helper()
	resp, err := p.do("waiteventnamed", map[string]any{"name": name, "timeout_ms": millis(timeout)}, overall(timeout))
	if err != nil {
		p.t.Fatalf("testpeer %s: %v", p.typ, err)
	}
	return resp.Events, resp.Found
}

// SetInt sets an integer socket option by its libzmq name without ZMQ_ ("SNDHWM").
func (p *Peer) SetInt(name string, v int) {
	p.t.Helper()
	p.must("setsockopt", map[string]any{"name": name, "int": v})
}

// SetBytes sets a binary socket option ("ROUTING_ID", "SUBSCRIBE"); nil sets it empty.
func (p *Peer) SetBytes(name string, v []byte) {
	p.t.Helper()
	if v == nil {
		v = []byte{}
	}
	p.must("setsockopt", map[string]any{"name": name, "bytes": v})
}

// GetInt reads an integer socket option.
func (p *Peer) GetInt(name string) int {
	p.t.Helper()
	resp := p.must("getsockopt", map[string]any{"name": name})
	if resp.Int == nil {
		p.t.Fatalf("testpeer %s: option %s is not an integer", p.typ, name)
	}
	return int(*resp.Int)
}

// GetBytes reads a binary or string socket option. The slice is the caller's.
func (p *Peer) GetBytes(name string) []byte {
	p.t.Helper()
	resp := p.must("getsockopt", map[string]any{"name": name})
	if resp.Int != nil {
		p.t.Fatalf("testpeer %s: option %s is an integer", p.typ, name)
	}
	if resp.Bytes == nil {
		return []byte{}
	}
	return resp.Bytes
}

// Send sends one message made of frames. It returns once libzmq has queued it, not when
// it was delivered; a send that HWM holds up longer than the timeout fails the test.
func (p *Peer) Send(frames ...[]byte) {
	p.t.Helper()
	p.SendN(1, frames...)
}

// SendN sends the same message n times.
func (p *Peer) SendN(n int, frames ...[]byte) {
	p.t.Helper()
	for i, f := range frames {
		if f == nil { // JSON would say null; a frame is never nil
			frames = slices.Clone(frames) // the caller's slice is not ours to edit
			for j := i; j < len(frames); j++ {
				if frames[j] == nil {
					frames[j] = []byte{}
				}
			}
			break
		}
	}
	p.must("send", map[string]any{"frames": frames, "count": n, "timeout_ms": millis(p.cmdTimeout())})
}

// SendSeq sends n sequence messages of size bytes (see SeqPayload).
func (p *Peer) SendSeq(n, size int) {
	p.t.Helper()
	p.must("sendseq", map[string]any{"count": n, "size": size, "timeout_ms": millis(p.cmdTimeout())})
}

// Recv receives one message, waiting up to timeout. The error wraps ErrTimeout when
// nothing arrived in time, ErrExited or ErrHung when the peer is gone or stuck. The
// frames are the caller's.
func (p *Peer) Recv(timeout time.Duration) ([][]byte, error) {
	msgs, err := p.RecvN(1, timeout)
	if err != nil {
		return nil, err
	}
	return msgs[0], nil
}

// RecvN receives n messages within timeout overall. On a timeout it returns the
// messages that did arrive together with an error wrapping ErrTimeout.
func (p *Peer) RecvN(n int, timeout time.Duration) ([][][]byte, error) {
	resp, err := p.do("recv", map[string]any{"count": n, "timeout_ms": millis(timeout)}, overall(timeout))
	if resp == nil {
		return nil, err
	}
	msgs := resp.Msgs
	if msgs == nil {
		msgs = [][][]byte{}
	}
	for _, m := range msgs {
		for i, f := range m {
			if f == nil { // JSON "" decodes to nil; a frame is never nil
				m[i] = []byte{}
			}
		}
	}
	return msgs, err
}

// RecvCheck receives n single-frame messages within timeout overall and checks that
// message i is size bytes long and starts with sequence number i (see CheckSeq),
// without shipping the payloads over the pipe. The error wraps ErrTimeout, or ErrPeer
// for a mismatch.
func (p *Peer) RecvCheck(n, size int, timeout time.Duration) error {
	return p.recvCheck(n, size, timeout, false)
}

// RecvCheckPattern is RecvCheck that also verifies the fill pattern of each body (see
// CheckSeqPattern): use it when the sender builds its bodies with SeqPayload.
func (p *Peer) RecvCheckPattern(n, size int, timeout time.Duration) error {
	return p.recvCheck(n, size, timeout, true)
}

func (p *Peer) recvCheck(n, size int, timeout time.Duration, pattern bool) error {
	req := map[string]any{"count": n, "size": size, "timeout_ms": millis(timeout), "pattern": pattern}
	_, err := p.do("recvcheck", req, overall(timeout))
	return err
}

// Kill sends SIGKILL to the peer process and waits for it to be reaped, to test a peer
// that dies. Later commands fail with ErrExited. Any goroutine may call it.
func (p *Peer) Kill() {
	p.killed.Store(true)
	_ = p.cmd.Process.Kill() // fails only when the process is already gone
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		p.t.Errorf("testpeer %s: still running %v after SIGKILL", p.typ, exitTimeout)
	}
}

// Close closes the socket (linger 1000 ms) and the context, waits for the process to
// exit and kills it if it does not within a few seconds. It runs at most once and is
// registered with t.Cleanup by Start, so calling it is optional.
func (p *Peer) Close() {
	p.closeOnce.Do(p.close)
}

func (p *Peer) close() {
	p.t.Helper()
	if !p.isExited() {
		_, err := p.do("close", nil, exitTimeout)
		if errors.Is(err, ErrPeer) {
			p.t.Errorf("testpeer %s: close: %v", p.typ, err)
		}
		if err != nil {
			p.Kill() // stuck or gone already: a clean exit is not coming
		} else {
			select {
			case <-p.exited:
			case <-time.After(exitTimeout):
				p.t.Logf("testpeer %s: killing a peer that did not exit within %v of close", p.typ, exitTimeout)
				p.Kill()
			}
		}
	}
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stdin.Close()
	close(p.quit)
	<-p.readerDone
}

// TailBuffer keeps the last bytes a peer process wrote to stderr, for error messages (the zero
// value is ready). exec's copying goroutine writes while test code reads: any goroutine.
type TailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 8 << 10

func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// GetString reads a string option such as "LAST_ENDPOINT".
func (p *Peer) GetString(name string) string {
	p.t.Helper()
	return string(p.GetBytes(name))
}
