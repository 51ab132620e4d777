package contract

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNet is an in-memory pair of sockets: data carries PUSH->PULL and REQ->REP, reply REP->REQ.
type fakeNet struct {
	data, reply chan []byte
	gone        chan struct{} // closed when the receiving side closes
	once        sync.Once
	// corrupt, when set, may change the i-th message the sending side puts on the wire.
	corrupt func(i int, b []byte) []byte
}

func newFakeNet() *fakeNet {
	return &fakeNet{data: make(chan []byte, 16), reply: make(chan []byte, 1), gone: make(chan struct{})}
}

type fakeImpl struct {
	net      *fakeNet
	shutdown int
}

func (*fakeImpl) Name() string { return "fake" }
func (f *fakeImpl) Open(_ context.Context, k Kind, _ *Args) (Socket, error) {
	return &fakeSock{net: f.net, kind: k}, nil
}
func (f *fakeImpl) Shutdown() error { f.shutdown++; return nil }

type fakeSock struct {
	net  *fakeNet
	kind Kind
	sent int
}

func put(ctx context.Context, ch chan []byte, b []byte) error {
	select {
	case ch <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func get(ctx context.Context, ch chan []byte) ([]byte, error) {
	select {
	case b := <-ch:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeSock) Send(ctx context.Context, p []byte) error {
	b := bytes.Clone(p)
	if s.net.corrupt != nil {
		b = s.net.corrupt(s.sent, b)
	}
	s.sent++
	return put(ctx, s.net.data, b)
}

func (s *fakeSock) Recv(ctx context.Context) ([]byte, error) {
	if s.kind == Req {
		return get(ctx, s.net.reply)
	}
	return get(ctx, s.net.data)
}

func (s *fakeSock) Echo(ctx context.Context) (int, error) {
	b, err := get(ctx, s.net.data)
	if err != nil {
		return 0, err
	}
	return len(b), put(ctx, s.net.reply, b)
}

func (s *fakeSock) WaitPeerGone(ctx context.Context) error {
	select {
	case <-s.net.gone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *fakeSock) Close(bool) error {
	if s.kind == Pull || s.kind == Rep {
		s.net.once.Do(func() { close(s.net.gone) })
	}
	return nil
}

func mustParse(t *testing.T, tool, args string) *Args {
	t.Helper()
	a, err := Parse(tool, strings.Fields(args))
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

// runPair runs both sides of a tool over one fakeNet and returns (receiver or rep, sender or req).
func runPair(t *testing.T, n *fakeNet, tool, server, client string) (Result, error, Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var sr, cr Result
	var serr, cerr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sr, serr = Run(ctx, mustParse(t, tool, server), &fakeImpl{net: n}) }()
	go func() { defer wg.Done(); cr, cerr = Run(ctx, mustParse(t, tool, client), &fakeImpl{net: n}) }()
	wg.Wait()
	return sr, serr, cr, cerr
}

func figure(t *testing.T, r Result, key string) float64 {
	t.Helper()
	v, ok := r.Get(key)
	if !ok {
		t.Fatalf("%s has no %s", r.String(), key)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return f
}

func TestRunThr(t *testing.T) {
	for _, check := range []string{"", "--check"} {
		recv, rerr, send, serr := runPair(t, newFakeNet(), ToolThr,
			"recv bind tcp://x:1 64 3000 "+check, "send connect tcp://x:1 64 3000 "+check)
		if rerr != nil || serr != nil {
			t.Fatal(rerr, serr)
		}
		if recv.Status != StatusOK || send.Status != StatusOK {
			t.Fatalf("%s\n%s", recv.String(), send.String())
		}
		mps := figure(t, recv, "msg_per_s")
		el := figure(t, recv, "elapsed_s")
		// Both figures are rounded as printed (elapsed_s to the microsecond, which a fast fake
		// net's sub-millisecond loop feels): allow for that rounding, and one message more.
		if tol := 1 + mps*0.5e-6 + el*0.5; mps <= 0 || el <= 0 || math.Abs(mps*el-3000) > tol {
			t.Fatalf("msg_per_s %v x elapsed_s %v != count: %s", mps, el, recv.String())
		}
		if mb := figure(t, recv, "mbit_per_s"); mb < mps*64*8/1e6*0.999 || mb > mps*64*8/1e6*1.001 {
			t.Fatalf("mbit_per_s %v for %v msg/s", mb, mps)
		}
		for _, r := range []Result{recv, send} {
			for _, k := range []string{"allocs_per_msg", "steady_allocs_per_msg", "bytes_per_msg", "num_gc", "cpu_s"} {
				figure(t, r, k)
			}
		}
	}
}

func TestRunThrCheckFailed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		check   string
		corrupt func(int, []byte) []byte
		done    string
	}{
		{"sequence", "--check", func(i int, b []byte) []byte {
			if i == 7 {
				binary.LittleEndian.PutUint64(b, 8)
			}
			return b
		}, "7"},
		{"size", "", func(i int, b []byte) []byte {
			if i == 0 {
				return b[:10]
			}
			return b
		}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newFakeNet()
			n.corrupt = tc.corrupt
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // a sender that never learns of the failure: it ends with the context
				defer wg.Done()
				_, _ = Run(ctx, mustParse(t, ToolThr, "send connect tcp://x:1 64 100 --check"), &fakeImpl{net: n})
			}()
			r, err := Run(ctx, mustParse(t, ToolThr, "recv bind tcp://x:1 64 100 "+tc.check), &fakeImpl{net: n})
			cancel()
			wg.Wait()
			if !errors.Is(err, ErrCheck) || r.Status != StatusCheckFailed {
				t.Fatalf("%v %s", err, r.String())
			}
			if v, _ := r.Get("done"); v != tc.done {
				t.Fatalf("done=%s, want %s: %s", v, tc.done, r.String())
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	impl := &fakeImpl{net: newFakeNet()}
	r, err := Run(ctx, mustParse(t, ToolThr, "recv bind tcp://x:1 64 10"), impl)
	if !errors.Is(err, context.DeadlineExceeded) || r.Status != StatusTimeout || r.Status.ExitCode() != 3 {
		t.Fatalf("%v %s", err, r.String())
	}
	if v, _ := r.Get("done"); v != "0" {
		t.Fatalf("done=%q", v)
	}
	if impl.shutdown != 1 {
		t.Fatalf("Shutdown called %d times", impl.shutdown)
	}
}

// A sender whose receiver never hangs up times out, unless --no-wait.
func TestRunSendWaitsForPeer(t *testing.T) {
	for _, noWait := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		args := "send connect tcp://x:1 8 3"
		if noWait {
			args += " --no-wait"
		}
		r, err := Run(ctx, mustParse(t, ToolThr, args), &fakeImpl{net: newFakeNet()})
		cancel()
		want := StatusTimeout
		if noWait {
			want = StatusOK
		}
		if r.Status != want {
			t.Fatalf("no-wait=%v: %v %s", noWait, err, r.String())
		}
	}
}

func TestRunLat(t *testing.T) {
	rep, reperr, req, reqerr := runPair(t, newFakeNet(), ToolLat,
		"rep bind tcp://x:1 32 400", "req connect tcp://x:1 32 400 --warmup 100")
	if reperr != nil || reqerr != nil {
		t.Fatal(reperr, reqerr)
	}
	if rep.Status != StatusOK || req.Status != StatusOK {
		t.Fatalf("%s\n%s", rep.String(), req.String())
	}
	p50, p99 := figure(t, req, "rtt_p50_us"), figure(t, req, "rtt_p99_us")
	mean, mx := figure(t, req, "rtt_mean_us"), figure(t, req, "rtt_max_us")
	if !(p50 > 0 && p50 <= p99 && p99 <= mx && mean <= mx) {
		t.Fatalf("rtt figures out of order: %s", req.String())
	}
	if n := figure(t, req, "samples"); n != 300 {
		t.Fatalf("samples=%v, want 300", n)
	}
	if ow := figure(t, req, "avg_oneway_us"); ow <= 0 {
		t.Fatalf("avg_oneway_us=%v", ow)
	}
	for _, r := range []Result{req, rep} {
		figure(t, r, "steady_allocs_per_msg")
	}
}

var sink []byte

// steady counts only the second half of a loop: here one allocation per message there, none before.
func TestSteadyCountsSecondHalf(t *testing.T) {
	const n = 1000
	st := newSteady(n)
	for i := 0; i < n; i++ {
		st.at(i)
		if i >= n/2 {
			sink = make([]byte, 64)
		}
	}
	st.done(n)
	var r Result
	st.add(&r)
	if v := figure(t, r, "steady_allocs_per_msg"); v < 1 || v > 1.1 {
		t.Fatalf("steady_allocs_per_msg=%v, want 1", v)
	}
}

// A REP that answers with the wrong request is caught through the sequence number.
func TestRunLatWrongReply(t *testing.T) {
	n := newFakeNet()
	n.corrupt = func(i int, b []byte) []byte {
		if i == 3 {
			b[0] ^= 1
		}
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the REP side waits for the requests that never come: it ends with ctx
		defer wg.Done()
		_, _ = Run(ctx, mustParse(t, ToolLat, "rep bind tcp://x:1 16 10"), &fakeImpl{net: n})
	}()
	req, err := Run(ctx, mustParse(t, ToolLat, "req connect tcp://x:1 16 10 --warmup 0"), &fakeImpl{net: n})
	cancel()
	wg.Wait()
	if v, _ := req.Get("done"); v != "3" {
		t.Fatalf("done=%q: %s", v, req.String())
	}
	if !errors.Is(err, ErrCheck) || req.Status != StatusCheckFailed {
		t.Fatalf("%v %s", err, req.String())
	}
}

func TestCommandUsage(t *testing.T) {
	var out, errb bytes.Buffer
	code := Command(ToolThr, &fakeImpl{net: newFakeNet()}, []string{"recv", "bind", "tcp://x:1", "64"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if got, want := out.String(), "RESULT status=error tool=thr role=recv impl=fake size=0 count=0\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
	if !strings.Contains(errb.String(), "usage: thr") {
		t.Fatalf("stderr %q", errb.String())
	}
}

func TestCommandPair(t *testing.T) {
	n := newFakeNet()
	var rout, sout, rerr, serr bytes.Buffer
	var rc, sc int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		rc = Command(ToolThr, &fakeImpl{net: n}, strings.Fields("recv bind tcp://x:1 16 500 --check --timeout 10"), &rout, &rerr)
	}()
	go func() {
		defer wg.Done()
		sc = Command(ToolThr, &fakeImpl{net: n}, strings.Fields("send connect tcp://x:1 16 500 --check --timeout 10"), &sout, &serr)
	}()
	wg.Wait()
	for _, o := range []struct {
		code     int
		out, err string
		role     string
	}{{rc, rout.String(), rerr.String(), "recv"}, {sc, sout.String(), serr.String(), "send"}} {
		if o.code != 0 || strings.Count(o.out, "\n") != 1 || !strings.HasPrefix(o.out, "RESULT status=ok tool=thr role="+o.role+" impl=fake size=16 count=500 ") {
			t.Fatalf("exit %d stdout %q stderr %q", o.code, o.out, o.err)
		}
	}
}

func TestKindOf(t *testing.T) {
	for role, k := range map[string]Kind{RoleSend: Push, RoleRecv: Pull, RoleReq: Req, RoleRep: Rep} {
		if KindOf(role) != k {
			t.Errorf("%s: %v", role, KindOf(role))
		}
		if k.String() == "UNKNOWN" {
			t.Errorf("%d has no name", k)
		}
	}
	if fmt.Sprint(Kind(9)) != "UNKNOWN" {
		t.Error("Kind(9)")
	}
}

func TestPeerCount(t *testing.T) {
	var p PeerCount
	if p.Gone() {
		t.Fatal("gone before any peer came")
	}
	p.Disconnected() // a failed connect before any handshake
	if p.Gone() {
		t.Fatal("gone after a disconnect without a handshake")
	}
	p.Handshake()
	p.Handshake()
	p.Disconnected()
	if p.Gone() {
		t.Fatal("gone with one peer left")
	}
	p.Disconnected()
	if !p.Gone() {
		t.Fatal("not gone after both left")
	}
}

// A few 64 MiB messages a second must keep their precision: msg_per_s x elapsed_s is COUNT.
func TestAddRate(t *testing.T) {
	for _, tc := range []struct {
		mps  float64
		want string
	}{{4.0961234, "4.096"}, {999.9994, "999.999"}, {1000.4, "1000"}, {2168294.4, "2168294"}} {
		var r Result
		addRate(&r, tc.mps)
		if got, _ := r.Get("msg_per_s"); got != tc.want {
			t.Errorf("addRate(%v) = %s, want %s", tc.mps, got, tc.want)
		}
	}
}

// noFiller is a Socket without Filler; thrSend must refuse --fill before it touches it.
type noFiller struct{ Socket }

// --fill with an implementation that cannot build a message in place is a usage error, not a
// silent fall-back to copying.
func TestThrFillNeedsFiller(t *testing.T) {
	a := mustParse(t, ToolThr, "send connect tcp://x:1 64 10 --fill")
	var r Result
	n, err := thrSend(context.Background(), a, noFiller{}, &r)
	if n != 0 || !errors.Is(err, ErrUsage) {
		t.Fatalf("sent %d, err %v; want 0 and ErrUsage", n, err)
	}
}
