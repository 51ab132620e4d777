package sockets

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/zmtp"
	"golang.org/x/crypto/nacl/box"
)

// curveHello is a client's greeting and a HELLO whose box is random bytes: no key opens it.
func curveHello() []byte {
	b := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})
	h := codec.CurveHello{Major: 1, Nonce: 1}
	for i := range h.Box {
		h.Box[i] = byte(i * 13)
	}
	h.Transient[0] = 9
	return codec.AppendFrame(b, codec.FlagCommand, codec.AppendCurveHello(nil, &h))
}

// Hostile CURVE clients: a HELLO with a bad box, garbage after a completed handshake, a HELLO
// truncated or oversized. Each connection is closed with a monitor event; a good client on the same
// socket keeps working.
func TestCurveHostile(t *testing.T) {
	r := newReactor(t)
	k := newCurveTestKeys(t)
	pull := newSocket(t, r, Pull, append(k.serverOpts(), WithMaxMsgSize(1<<20))...)
	events := pull.Monitor(256)
	ep := bindTCP(t, pull)
	addr := strings.TrimPrefix(ep, "tcp://")
	good := newSocket(t, r, Push, k.clientOpts()...)
	connect(t, good, ep)
	send(t, good, "before")
	expectMsg(t, pull, "before")

	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	handshaken := func(t *testing.T) net.Conn {
		c := dial(t)
		p := zmtptest.NewWith(c, &zmtp.Config{SocketType: "PUSH", HandshakeTimeout: -1, Curve: true,
			CurvePublicKey: k.client.pub, CurveSecretKey: k.client.sec, CurveServerKey: k.server.pub})
		if err := p.Handshake(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		return c
	}
	hello := curveHello()
	cases := []struct {
		name  string
		conn  func(t *testing.T) net.Conn
		input []byte
		want  reactor.EventType
		then  reactor.EventType // and after it, when not 0
	}{
		{"HELLO with a bad box", dial, hello, reactor.EventHandshakeFailedProtocol, 0},
		{"HELLO truncated", dial, append(bytes.Clone(hello[:64]), codec.AppendCommand(nil, "HELLO", make([]byte, 100))...), reactor.EventHandshakeFailedProtocol, 0},
		{"HELLO oversized", dial, append(bytes.Clone(hello[:64]), codec.AppendCommand(nil, "HELLO", make([]byte, 300))...), reactor.EventHandshakeFailedProtocol, 0},
		{"INITIATE first", dial, append(bytes.Clone(hello[:64]), codec.AppendCommand(nil, "INITIATE", make([]byte, 300))...), reactor.EventHandshakeFailedProtocol, 0},
		{"garbage after the handshake", handshaken, codec.AppendFrame(nil, 0, []byte("\x07MESSAGE garbage garbage garbage garbage")), reactor.EventHandshakeFailedProtocol, reactor.EventDisconnected},
		{"a plain frame after the handshake", handshaken, codec.AppendFrame(nil, 0, []byte("hello")), reactor.EventHandshakeFailedProtocol, reactor.EventDisconnected},
		{"a PING outside MESSAGE after the handshake", handshaken, codec.AppendCommand(nil, "PING", []byte{0, 1}), reactor.EventHandshakeFailedProtocol, reactor.EventDisconnected},
		{"a MESSAGE over MAXMSGSIZE announced, then nothing", handshaken, codec.AppendFrameHeader(nil, 0, 1<<62), reactor.EventDisconnected, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.conn(t)
			if _, err := c.Write(tc.input); err != nil {
				t.Fatal(err)
			}
			e := waitEvent(t, events, func(e reactor.Event) bool { return e.Type == tc.want && e.Err != nil })
			t.Logf("%v: %v", e.Type, e.Err)
			if tc.then != 0 {
				// The very next event of this connection: nothing between the refusal and the close.
				n := waitEvent(t, events, func(n reactor.Event) bool { return n.Remote == e.Remote })
				if n.Type != tc.then || !errors.Is(n.Err, e.Err) {
					t.Fatalf("after %v: %v (%v), want %v with the same error", e.Type, n.Type, n.Err, tc.then)
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					var ne net.Error
					if ok := asNetErr(err, &ne); ok && ne.Timeout() {
						t.Fatal("connection not closed")
					}
					break
				}
			}
			send(t, good, "still")
			expectMsg(t, pull, "still")
		})
	}
}

func asNetErr(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

// 10,000 HELLOs that never go on to INITIATE, 500 connections at a time that the clients keep
// open: the server answers WELCOME (when it gets to the HELLO within HANDSHAKE_IVL on this busy
// machine) and ends every half-open handshake at HANDSHAKE_IVL by itself: every client sees its
// connection closed, the monitor reports 10,000 handshake timeouts, so live state never outgrows
// one batch, and the heap after all of them is within a few MiB of before. A good client is served
// throughout.
func TestCurveHalfOpenHandshakes(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	r := newReactor(t)
	k := newCurveTestKeys(t)
	pull := newSocket(t, r, Pull, append(k.serverOpts(), WithHandshakeIvl(300*time.Millisecond), WithBacklog(1024))...)
	events := pull.Monitor(1 << 15)
	ep := bindTCP(t, pull)
	addr := strings.TrimPrefix(ep, "tcp://")
	good := newSocket(t, r, Push, k.clientOpts()...)
	connect(t, good, ep)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	send(t, good, "warm")
	expectMsg(t, pull, "warm")
	before := heap()

	// One valid HELLO for all: the server keeps nothing across connections, so each opens it
	// and answers WELCOME; the clients spend no cryptography of their own.
	pub, sec, err := box.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := codec.CurveHello{Major: 1, Transient: *pub, Nonce: 1}
	var nonce [24]byte
	copy(nonce[:], "CurveZMQHELLO---")
	nonce[23] = 1
	box.Seal(h.Box[:0], make([]byte, 64), &nonce, (*[32]byte)(&k.server.pub), sec)
	hello := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})
	hello = codec.AppendFrame(hello, codec.FlagCommand, codec.AppendCurveHello(nil, &h))

	const total, batch = 10000, 500
	timeouts, welcomed := 0, 0
	countEvents := func() {
		for {
			select {
			case e := <-events:
				if e.Type == reactor.EventHandshakeFailedNoDetail && errors.Is(e.Err, zmtp.ErrHandshakeTimeout) {
					timeouts++
				} else if e.Type != reactor.EventAccepted && e.Type != reactor.EventListening && e.Type != reactor.EventHandshakeSucceeded {
					t.Fatalf("event %v %v", e.Type, e.Err)
				}
			default:
				return
			}
		}
	}
	for done := 0; done < total; done += batch {
		var wg sync.WaitGroup
		errs := make(chan error, batch)
		for i := 0; i < batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- halfOpen(addr, hello)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			switch {
			case err == nil:
				welcomed++
			case !errors.Is(err, errNoWelcome):
				t.Fatalf("after %d: %v", done, err)
			}
		}
		countEvents()
		send(t, good, "alive")
		expectMsg(t, pull, "alive")
	}
	waitFor(t, "a handshake timeout for every half-open connection", func() bool { countEvents(); return timeouts >= total })
	t.Logf("%d of %d HELLOs answered with WELCOME before HANDSHAKE_IVL", welcomed, total)
	if welcomed == 0 {
		t.Fatal("no HELLO answered")
	}
	if after := heap(); after > before+16<<20 {
		t.Fatalf("heap grew from %d to %d bytes over %d half-open handshakes", before, after, total)
	}
}

var errNoWelcome = errors.New("closed without a WELCOME")

// halfOpen connects, sends hello (greeting and HELLO) and nothing more, and waits for the server to
// close the connection; errNoWelcome when no WELCOME came first.
func halfOpen(addr string, hello []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(hello); err != nil {
		return err
	}
	var in []byte
	buf := make([]byte, 1024)
	for {
		n, err := c.Read(buf)
		in = append(in, buf[:n]...)
		if err != nil {
			if !bytes.Contains(in, []byte("\x07WELCOME")) {
				return errNoWelcome
			}
			return nil // closed by the server: the half-open handshake ended
		}
	}
}
