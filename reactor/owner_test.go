package reactor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// The reactor driven the way a socket drives it, through a test Owner that records what the
// reactor tells it on channels, so that a test can wait for each callback without sleeping.

// waitLimit bounds every wait of these tests: far above what anything takes, even under -race on
// a loaded machine, so that only a real hang trips it.
const waitLimit = 10 * time.Second

// detachment is one PipeDetached call.
type detachment struct {
	p     *Pipe
	final bool
}

// command is one PipeCommand call, copied (the command aliases the loop's read buffer).
type command struct {
	p    *Pipe
	name string
	data []byte
}

// testOwner is the socket side of the pipes of a test: every callback is recorded on a channel and
// returns at once, as the reactor requires. Readability and writability are level signals (a
// buffered token), since a test polls the pipe after each; the rest keep every call in order.
type testOwner struct {
	name     string
	attached chan *Pipe
	detached chan detachment
	commands chan command
	events   chan Event
	readable chan struct{}
	writable chan struct{}
	overflow atomic.Int64 // callbacks that found their channel full (the test then fails)

	mu  sync.Mutex
	log []Event // every event, for a failure message
}

func newOwner(t testing.TB, name string) *testOwner {
	o := &testOwner{
		name:     name,
		attached: make(chan *Pipe, 1024),
		detached: make(chan detachment, 1024),
		commands: make(chan command, 1024),
		events:   make(chan Event, 4096),
		readable: make(chan struct{}, 1),
		writable: make(chan struct{}, 1),
	}
	t.Cleanup(func() {
		if n := o.overflow.Load(); n > 0 {
			t.Errorf("%s: %d callbacks overflowed the test owner's channels", name, n)
		}
	})
	return o
}

func (o *testOwner) record(ok bool) {
	if !ok {
		o.overflow.Add(1)
	}
}

func (o *testOwner) PipeAttached(p *Pipe) {
	select {
	case o.attached <- p:
	default:
		o.record(false)
	}
}

func (o *testOwner) PipeDetached(p *Pipe, final bool) {
	select {
	case o.detached <- detachment{p, final}:
	default:
		o.record(false)
	}
}

func (o *testOwner) PipeReadable(*Pipe) {
	select {
	case o.readable <- struct{}{}:
	default: // a token is already there
	}
}

func (o *testOwner) PipeWritable(*Pipe) {
	select {
	case o.writable <- struct{}{}:
	default:
	}
}

func (o *testOwner) PipeCommand(p *Pipe, c codec.Command) {
	select {
	case o.commands <- command{p: p, name: string(c.Name), data: slices.Clone(c.Data)}:
	default:
		o.record(false)
	}
}

func (o *testOwner) Event(e Event) {
	o.mu.Lock()
	o.log = append(o.log, e)
	o.mu.Unlock()
	select {
	case o.events <- e:
	default:
		o.record(false)
	}
}

// eventLog formats every event o got so far, for a failure message.
func (o *testOwner) eventLog() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b strings.Builder
	log := o.log
	if len(log) > 30 {
		fmt.Fprintf(&b, "\n\t(%d more)", len(log)-30)
		log = log[len(log)-30:]
	}
	for _, e := range log {
		b.WriteString("\n\t")
		b.WriteString(e.String())
	}
	return b.String()
}

// waitAttached returns the next pipe attached to o.
func (o *testOwner) waitAttached(t testing.TB) *Pipe {
	t.Helper()
	select {
	case p := <-o.attached:
		return p
	case <-time.After(waitLimit):
		t.Fatalf("%s: no pipe attached; events:%s", o.name, o.eventLog())
		return nil
	}
}

// waitDetached returns the next PipeDetached call o got.
func (o *testOwner) waitDetached(t testing.TB) detachment {
	t.Helper()
	select {
	case d := <-o.detached:
		return d
	case <-time.After(waitLimit):
		t.Fatalf("%s: no pipe detached; events:%s", o.name, o.eventLog())
		return detachment{}
	}
}

// waitEvent returns the next event of type typ, skipping the others.
func (o *testOwner) waitEvent(t testing.TB, typ EventType) Event {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case e := <-o.events:
			if e.Type == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("%s: no %v event; events:%s", o.name, typ, o.eventLog())
			return Event{}
		}
	}
}

// waitCommand returns the next command o got.
func (o *testOwner) waitCommand(t testing.TB) command {
	t.Helper()
	select {
	case c := <-o.commands:
		return c
	case <-time.After(waitLimit):
		t.Fatalf("%s: no command arrived", o.name)
		return command{}
	}
}

// newTestReactor starts a reactor that the test's cleanup shuts down. The shutdown is bounded: a
// test that leaves messages lingering for a peer that never comes fails instead of hanging.
func newTestReactor(t testing.TB, cfg Config) *Reactor {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if ctx.Err() != nil {
			t.Errorf("the reactor's shutdown had to drop lingering messages")
		}
	})
	return r
}

// testOptions are a pipe's options for a socket of type typ that talks only to the types in peers
// (any type when there are none).
func testOptions(typ string, peers ...string) *Options {
	// A dialer that fails reconnects after ReconnectIvl: 0 would make it spin.
	o := &Options{Session: zmtp.Config{SocketType: typ}, ReconnectIvl: 10 * time.Millisecond}
	if len(peers) > 0 {
		o.Session.Compatible = func(peer string) bool { return slices.Contains(peers, peer) }
	}
	return o
}

// listen binds ep for o and closes the listener when the test ends.
func listen(t testing.TB, r *Reactor, ep string, opts *Options, o *testOwner) *Listener {
	t.Helper()
	l, err := r.Listen(ep, opts, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// connect dials ep for o and closes the dialer (linger 0) when the test ends.
func connect(t testing.TB, r *Reactor, ep string, opts *Options, o *testOwner) *Dialer {
	t.Helper()
	d, err := r.Connect(ep, opts, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(0) })
	return d
}

var inprocSeq atomic.Int64

// bindAddr is an endpoint to bind for transport: a free port, a fresh ipc path, a fresh inproc name.
func bindAddr(transport string) string {
	switch transport {
	case "tcp":
		return "tcp://127.0.0.1:*"
	case "ipc":
		return "ipc://*"
	case "ws":
		return "ws://127.0.0.1:*/zmq"
	case "tls":
		return "tls://127.0.0.1:*"
	case "wss":
		return "wss://127.0.0.1:*/zmq"
	case "inproc":
		return fmt.Sprintf("inproc://reactor-test-%d", inprocSeq.Add(1))
	}
	panic("unknown transport " + transport)
}

var transports = []string{"tcp", "ipc", "ws", "inproc"}

// link is a connected pair of pipes: b accepted by a listener, c dialed.
type link struct {
	l      *Listener
	d      *Dialer
	bo, co *testOwner
	bp, cp *Pipe
}

// pair binds bopts over transport, connects copts to it, and waits for both pipes.
func pair(t testing.TB, r *Reactor, transport string, bopts, copts *Options) *link {
	t.Helper()
	k := &link{bo: newOwner(t, "bound"), co: newOwner(t, "connected")}
	k.l = listen(t, r, bindAddr(transport), bopts, k.bo)
	k.d = connect(t, r, k.l.Endpoint(), copts, k.co)
	k.cp = k.co.waitAttached(t)
	k.bp = k.bo.waitAttached(t)
	if k.cp != k.d.Pipe() {
		t.Fatal("the dialer attached a pipe other than its own")
	}
	return k
}

// newMsg builds a message of frames.
func newMsg(frames ...[]byte) *pool.Msg {
	m := pool.NewMsg()
	for _, f := range frames {
		m.AppendFrame(f)
	}
	return m
}

// trySendWait queues m on p, waiting for PipeWritable while the queue is full. It takes m in every
// case. For any goroutine: it returns an error rather than failing the test.
func trySendWait(o *testOwner, p *Pipe, m *pool.Msg) error {
	deadline := time.After(waitLimit)
	for !p.TrySend(m) {
		select {
		case <-o.writable:
		case <-deadline:
			m.Release()
			return errors.New("the pipe stayed full")
		}
	}
	return nil
}

func send(t testing.TB, o *testOwner, p *Pipe, frames ...[]byte) {
	t.Helper()
	if err := trySendWait(o, p, newMsg(frames...)); err != nil {
		t.Fatal(err)
	}
}

// recvWait returns p's next message, waiting for PipeReadable while there is none. The message
// is the caller's. For any goroutine.
func recvWait(o *testOwner, p *Pipe) (*pool.Msg, error) {
	deadline := time.After(waitLimit)
	for {
		if m := p.TryRecv(); m != nil {
			return m, nil
		}
		select {
		case <-o.readable:
		case <-deadline:
			return nil, errors.New("no message arrived")
		}
	}
}

// recv returns a copy of p's next message.
func recv(t testing.TB, o *testOwner, p *Pipe) [][]byte {
	t.Helper()
	m, err := recvWait(o, p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	return m.Copy()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not synchronising on time
	}
}

// waitClosed waits for ch (a Close's channel) to close.
func waitClosed(t testing.TB, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s never ended", what)
	}
}

// isClosedChan reports whether ch is closed already.
func isClosedChan(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// rawDial connects a blocking ZMTP peer of type sockType to the tcp:// or ipc:// endpoint ep and
// completes its handshake.
func rawDial(t testing.TB, ep, sockType string) *zmtptest.Peer {
	t.Helper()
	network, addr := netAddr(t, ep)
	p, err := zmtptest.Dial(network, addr, sockType, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Conn.Close() })
	return p
}

// netAddr is the net package's network and address of the tcp:// or ipc:// endpoint ep.
func netAddr(t testing.TB, ep string) (network, addr string) {
	t.Helper()
	if path, ok := strings.CutPrefix(ep, "ipc://"); ok {
		return "unix", path
	}
	for _, p := range []string{"tcp://", "tls://"} {
		if hp, ok := strings.CutPrefix(ep, p); ok {
			return "tcp", hp
		}
	}
	for _, p := range []string{"ws://", "wss://"} {
		if hp, ok := strings.CutPrefix(ep, p); ok {
			return "tcp", hp[:strings.IndexByte(hp, '/')]
		}
	}
	t.Fatalf("no network address in %s", ep)
	return "", ""
}

// seqMsg is a frame of size n whose first bytes hold seq and whose rest is a pattern derived from it.
func seqMsg(seq uint64, n int) []byte {
	b := make([]byte, n)
	fillSeq(b, seq)
	return b
}

func fillSeq(b []byte, seq uint64) {
	var tmp [8]byte
	binary.LittleEndian.PutUint64(tmp[:], seq)
	copy(b, tmp[:])
	for i := 8; i < len(b); i++ {
		b[i] = byte(seq) ^ byte(i)
	}
}

func checkSeq(b []byte, seq uint64, n int) error {
	if len(b) != n {
		return fmt.Errorf("seq %d: size %d, want %d", seq, len(b), n)
	}
	want := seqMsg(seq, n)
	for i := range b {
		if b[i] != want[i] {
			return fmt.Errorf("seq %d: byte %d is %#x, want %#x", seq, i, b[i], want[i])
		}
	}
	return nil
}

// idleFor returns once d has passed since t. It does not synchronise with anything: a connection
// that has been idle for a while is the scenario under test (a sender writes directly then).
func idleFor(t testing.TB, since time.Time, d time.Duration) {
	waitFor(t, "the connection idle", func() bool { return time.Since(since) >= d })
}
