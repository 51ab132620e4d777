package zmtp_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Unix(1_700_000_000, 0)

// ev is one Handler call as the tests compare them: FrameData pieces of a frame are
// concatenated into one "data" event so that streams cut differently compare equal.
type ev struct {
	Kind  string // "ready", "frame", "data", "cmd"
	Size  int
	More  bool
	First bool
	Name  string
	Data  []byte
}

func (e ev) String() string {
	d := e.Data
	if len(d) > 16 {
		d = d[:16]
	}
	return fmt.Sprintf("%s(size=%d more=%v first=%v name=%q data[%d]=%x)", e.Kind, e.Size, e.More, e.First, e.Name, len(e.Data), d)
}

// recorder is a Handler that records calls and checks the Handler contract.
type recorder struct {
	evs        []ev
	violations []string
	peer       *zmtp.Peer
	readyErr   error
	refuse     int                 // refuse this many offers of a first frame
	refuseRest bool                // return false for non-first frames (must be ignored)
	gate       func(size int) bool // refuses a first frame when it returns false

	inFrame bool
	left    int
	body    []byte

	// limits the session promised to respect
	maxMsg    int
	maxFrames int
	msgTotal  int
	msgFrames int
	lastMore  bool
}

func (r *recorder) violate(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

func (r *recorder) Ready(p *zmtp.Peer) error {
	if r.peer != nil {
		r.violate("Ready called twice")
	}
	r.peer = p
	r.evs = append(r.evs, ev{Kind: "ready", Name: p.SocketType})
	return r.readyErr
}

func (r *recorder) Frame(size int, more, first bool) bool {
	if r.inFrame {
		r.violate("Frame while %d body bytes are due", r.left)
	}
	if size < 0 {
		r.violate("negative size %d", size)
	}
	if first == (r.msgFrames > 0 && r.lastMore) {
		r.violate("first=%v after %d frames (last more=%v)", first, r.msgFrames, r.lastMore)
	}
	if first && r.refuse > 0 {
		r.refuse--
		return false
	}
	if first && r.gate != nil && !r.gate(size) {
		return false
	}
	if first {
		r.msgTotal, r.msgFrames = 0, 0
	}
	r.msgTotal += size
	r.msgFrames++
	r.lastMore = more
	if r.maxMsg > 0 && r.msgTotal > r.maxMsg {
		r.violate("message total %d over limit %d", r.msgTotal, r.maxMsg)
	}
	if r.maxFrames > 0 && r.msgFrames > r.maxFrames {
		r.violate("message frames %d over limit %d", r.msgFrames, r.maxFrames)
	}
	r.evs = append(r.evs, ev{Kind: "frame", Size: size, More: more, First: first})
	r.inFrame, r.left, r.body = true, size, r.body[:0]
	return first || !r.refuseRest
}

func (r *recorder) FrameData(p []byte, last bool) {
	if !r.inFrame {
		r.violate("FrameData without Frame")
		return
	}
	if len(p) == 0 && !(last && r.left == 0) {
		r.violate("empty piece with %d bytes due (last=%v)", r.left, last)
	}
	r.left -= len(p)
	if r.left < 0 {
		r.violate("FrameData past the frame's end by %d", -r.left)
	}
	if last != (r.left == 0) {
		r.violate("last=%v with %d bytes due", last, r.left)
	}
	r.body = append(r.body, p...)
	if last {
		r.evs = append(r.evs, ev{Kind: "data", Data: bytes.Clone(r.body)})
		r.inFrame = false
	}
}

func (r *recorder) Command(c codec.Command) {
	if r.inFrame {
		r.violate("Command inside a frame body")
	}
	r.evs = append(r.evs, ev{Kind: "cmd", Name: string(c.Name), Data: bytes.Clone(c.Data)})
}

func (r *recorder) check(t testing.TB) {
	t.Helper()
	for _, v := range r.violations {
		t.Errorf("handler contract: %s", v)
	}
}

// messages reassembles the recorded frames into messages.
func (r *recorder) messages() [][]string {
	var msgs [][]string
	var cur []string
	more := false
	for _, e := range r.evs {
		switch e.Kind {
		case "frame":
			more = e.More
		case "data":
			cur = append(cur, string(e.Data))
			if !more {
				msgs = append(msgs, cur)
				cur = nil
			}
		}
	}
	return msgs
}

// conn plays the reactor's part for one session: it keeps the unconsumed input, offers it
// again with new bytes appended, and collects what the session wants written.
type conn struct {
	s     *zmtp.Session
	h     *recorder
	buf   []byte
	out   []byte
	wrote []byte // everything takeOut returned
	err   error
}

func newConn(cfg *zmtp.Config) *conn {
	return &conn{s: zmtp.NewSession(cfg), h: &recorder{}}
}

func (c *conn) push(t testing.TB, now time.Time, p []byte) error {
	t.Helper()
	if c.err != nil {
		return c.err
	}
	c.buf = append(c.buf, p...)
	n, out, err := c.s.Read(c.buf, now, c.out, c.h)
	if n < 0 || n > len(c.buf) {
		t.Fatalf("Read consumed %d of %d bytes", n, len(c.buf))
	}
	c.buf = append([]byte(nil), c.buf[n:]...)
	c.out, c.err = out, err
	return err
}

// pushChunks feeds data cut at the given ascending positions.
func (c *conn) pushChunks(t testing.TB, now time.Time, data []byte, cuts ...int) error {
	t.Helper()
	prev := 0
	for _, cut := range append(cuts, len(data)) {
		if err := c.push(t, now, data[prev:cut]); err != nil {
			return err
		}
		prev = cut
	}
	return nil
}

// pushBytes feeds data one byte at a time.
func (c *conn) pushBytes(t testing.TB, now time.Time, data []byte) error {
	t.Helper()
	for i := range data {
		if err := c.push(t, now, data[i:i+1]); err != nil {
			return err
		}
	}
	return nil
}

// takeOut returns and clears what the session asked to write.
func (c *conn) takeOut() []byte {
	o := c.out
	c.out = nil
	c.wrote = append(c.wrote, o...)
	return o
}

// linkBytes starts both sessions and passes each side's output to the other a byte at a time
// (pushBytes) until neither has anything to say, ten rounds at most; it fails t on an error, or
// when the handshake did not complete on both sides.
func linkBytes(t testing.TB, now time.Time, client, server *conn) {
	t.Helper()
	cOut, sOut := client.s.Start(now, nil), server.s.Start(now, nil)
	for i := 0; i < 10 && (len(cOut) > 0 || len(sOut) > 0); i++ {
		if err := server.pushBytes(t, now, cOut); err != nil {
			t.Fatal(err)
		}
		if err := client.pushBytes(t, now, sOut); err != nil {
			t.Fatal(err)
		}
		cOut, sOut = client.takeOut(), server.takeOut()
	}
	if !client.s.Ready() || !server.s.Ready() {
		t.Fatal("handshake did not complete byte by byte")
	}
}

// linked makes a client and a server session of the given configurations, starts both and links
// them until neither has anything left to say (the handshake is over unless something stopped it).
func linked(t testing.TB, clientCfg, serverCfg *zmtp.Config) (client, server *conn) {
	t.Helper()
	client, server = newConn(clientCfg), newConn(serverCfg)
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	link(t, t0, client, server)
	return client, server
}

// link passes each side's output to the other until neither has anything left to say.
func link(t testing.TB, now time.Time, a, b *conn) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("link: no quiescence")
		}
		ao, bo := a.takeOut(), b.takeOut()
		if len(ao) == 0 && len(bo) == 0 {
			return
		}
		if len(ao) > 0 {
			_ = b.push(t, now, ao)
		}
		if len(bo) > 0 {
			_ = a.push(t, now, bo)
		}
	}
}

// peerGreeting is a greeting as a libzmq peer sends it.
func peerGreeting(major, minor byte, mech string) []byte {
	return codec.AppendGreeting(nil, codec.Greeting{Major: major, Minor: minor, Mechanism: mech})
}

// handshake builds a peer's greeting and READY.
func handshake(socketType string, props ...codec.Property) []byte {
	b := peerGreeting(3, 1, "NULL")
	return codec.AppendReady(b, append([]codec.Property{{Name: "Socket-Type", Value: []byte(socketType)}}, props...)...)
}

// msg appends a multipart message's frames.
func msg(dst []byte, parts ...[]byte) []byte {
	for i, p := range parts {
		var f byte
		if i < len(parts)-1 {
			f = codec.FlagMore
		}
		dst = codec.AppendFrame(dst, f, p)
	}
	return dst
}

// msgEvents is the handler calls msg's frames must produce.
func msgEvents(parts ...[]byte) []ev {
	var evs []ev
	for i, p := range parts {
		evs = append(evs,
			ev{Kind: "frame", Size: len(p), More: i < len(parts)-1, First: i == 0},
			ev{Kind: "data", Data: p})
	}
	return evs
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i>>8)
	}
	return b
}

func evsEqual(t testing.TB, got, want []ev) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d events, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Size != w.Size || g.More != w.More || g.First != w.First ||
			g.Name != w.Name || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("event %d:\n got %v\nwant %v", i, g, w)
			return
		}
	}
	if len(got) != len(want) {
		for i := min(len(got), len(want)); i < max(len(got), len(want)); i++ {
			if i < len(got) {
				t.Logf("extra got %d: %v", i, got[i])
			} else {
				t.Logf("missing %d: %v", i, want[i])
			}
		}
	}
}

func pullConfig() *zmtp.Config {
	return &zmtp.Config{SocketType: "PULL", Compatible: func(p string) bool { return p == "PUSH" }}
}
