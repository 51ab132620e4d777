package reactor

import (
	"errors"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/zloop/zloop/ws"
)

// wsPeer is a blocking WebSocket client speaking ZWS 2.0 frame by frame, for tests that need what
// the reactor's own dialer never sends (the bare subprotocol, control frames).
type wsPeer struct {
	c      net.Conn
	dec    *ws.Decoder
	in     []byte
	flags  byte
	cur    []byte
	frames []wsFrame // data frames received
	ctrl   []wsFrame // control frames received (flags holds the opcode)
}

type wsFrame struct {
	flags byte
	body  []byte
}

func (p *wsPeer) Frame(flags byte, size int) bool {
	p.flags, p.cur = flags, make([]byte, 0, size)
	return true
}

func (p *wsPeer) FrameData(b []byte, last bool) {
	p.cur = append(p.cur, b...)
	if last {
		p.frames = append(p.frames, wsFrame{p.flags, p.cur})
	}
}

func (p *wsPeer) Control(op byte, payload []byte) {
	p.ctrl = append(p.ctrl, wsFrame{op, append([]byte(nil), payload...)})
}

// dialWS upgrades a connection to the ws:// endpoint ep offering proto.
func dialWS(t *testing.T, ep, proto string) *wsPeer {
	t.Helper()
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	c := rawConn(t, ep)
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	got, leftover, err := ws.ClientHandshake(c, u, []string{proto})
	if err != nil {
		t.Fatal(err)
	}
	if got != proto {
		t.Fatalf("the server chose %q", got)
	}
	return &wsPeer{c: c, dec: ws.NewDecoder(false, -1), in: leftover}
}

var testMask = [4]byte{0x12, 0x34, 0x56, 0x78}

func (p *wsPeer) send(t *testing.T, flags byte, body []byte) {
	t.Helper()
	k := testMask
	if _, err := p.c.Write(ws.AppendFrame(nil, flags, body, &k)); err != nil {
		t.Fatal(err)
	}
}

func (p *wsPeer) control(t *testing.T, op byte, payload []byte) {
	t.Helper()
	k := testMask
	if _, err := p.c.Write(ws.AppendControl(nil, op, payload, &k)); err != nil {
		t.Fatal(err)
	}
}

// readUntil decodes what arrives until cond holds; it fails t if the connection ends first.
func (p *wsPeer) readUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	buf := make([]byte, 4096)
	for {
		n, err := p.dec.Feed(p.in, p)
		if err != nil {
			t.Fatal(err)
		}
		p.in = p.in[n:]
		if cond() {
			return
		}
		_ = p.c.SetReadDeadline(time.Now().Add(waitLimit))
		m, err := p.c.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		p.in = append(p.in, buf[:m]...)
	}
}

// The bare ZWS 2.0 subprotocol has no READY: each side's first message is its routing id. The
// server answers a ping with a pong carrying its payload, takes a pong as a sign of life, and
// answers a close frame with one and closes.
func TestWSBareAndControlFrames(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	o := newOwner(t, "server")
	opts := testOptions("PULL")
	opts.Session.Identity = []byte("server-id")
	l := listen(t, r, "ws://127.0.0.1:*/bare", opts, o)
	c := dialWS(t, l.Endpoint(), ws.ProtoBare)
	c.readUntil(t, "the server's routing id", func() bool { return len(c.frames) == 1 })
	if f := c.frames[0]; f.flags != 0 || string(f.body) != "server-id" {
		t.Fatalf("the server's first message: %+v", f)
	}
	c.send(t, 0, []byte("client-id"))
	c.send(t, ws.FlagMore, []byte("hello"))
	c.send(t, 0, []byte("world"))
	p := o.waitAttached(t)
	if id := p.Peer().Identity; string(id) != "client-id" {
		t.Fatalf("the server sees the routing id %q", id)
	}
	if m := recv(t, o, p); len(m) != 2 || string(m[0]) != "hello" || string(m[1]) != "world" {
		t.Fatalf("got %q", m)
	}

	send(t, o, p, []byte("back"))
	c.control(t, ws.OpPing, []byte("beat"))
	c.control(t, ws.OpPong, nil)
	c.readUntil(t, "the reply and the pong", func() bool { return len(c.frames) == 2 && len(c.ctrl) == 1 })
	if f := c.frames[1]; f.flags != 0 || string(f.body) != "back" {
		t.Fatalf("the client got %+v", f)
	}
	if f := c.ctrl[0]; f.flags != ws.OpPong || string(f.body) != "beat" {
		t.Fatalf("the answer to a ping: %+v", f)
	}

	k := testMask
	if _, err := c.c.Write(ws.AppendClose(nil, 1000, "bye", &k)); err != nil {
		t.Fatal(err)
	}
	c.readUntil(t, "the close answer", func() bool { return len(c.ctrl) == 2 })
	if c.ctrl[1].flags != ws.OpClose {
		t.Fatalf("the answer to a close: %+v", c.ctrl[1])
	}
	if e := o.waitEvent(t, EventDisconnected); !errors.Is(e.Err, errWSClosed) {
		t.Fatalf("disconnected with %v", e.Err)
	}
	if d := o.waitDetached(t); !d.final {
		t.Fatal("the pipe did not end")
	}
}
