package reactor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/zmtp"
)

// A subscription takes the form the pipe's peer understands: the SUBSCRIBE and CANCEL commands for
// a ZMTP 3.1 peer over tcp and ipc (the peer's owner hears them as PipeCommand), the same command
// message as it is over inproc, and the 0x01/0x00 data frame over ws (libzmq's ws engine drops
// the commands), which the peer reads as a message.
func TestSubscriptionWireForms(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			k := pair(t, r, tr, testOptions("XPUB"), testOptions("SUB"))
			for _, on := range []bool{true, false} {
				m := k.cp.Subscription([]byte("topic"), on)
				name, flag := codec.CmdSubscribe, byte(1)
				if !on {
					name, flag = codec.CmdCancel, 0
				}
				switch tr {
				case "tcp", "ipc":
					if !m.IsCommand() {
						t.Fatal("a subscription to a ZMTP 3.1 peer is not a command")
					}
					if err := trySendWait(k.co, k.cp, m); err != nil {
						t.Fatal(err)
					}
					c := k.bo.waitCommand(t)
					if c.p != k.bp || c.name != name || string(c.data) != "topic" {
						t.Fatalf("the peer got %s %q", c.name, c.data)
					}
				case "inproc":
					if !m.IsCommand() {
						t.Fatal("a subscription over inproc is not a command")
					}
					if err := trySendWait(k.co, k.cp, m); err != nil {
						t.Fatal(err)
					}
					got, err := recvWait(k.bo, k.bp)
					if err != nil {
						t.Fatal(err)
					}
					cmd, err := codec.ParseCommand(got.Frame(0))
					if !got.IsCommand() || err != nil || !cmd.Is(name) || string(cmd.Data) != "topic" {
						t.Fatalf("the peer got %q (command %v, %v)", got.Frame(0), got.IsCommand(), err)
					}
					got.Release()
				case "ws":
					if m.IsCommand() {
						t.Fatal("a subscription over ws is a command")
					}
					if err := trySendWait(k.co, k.cp, m); err != nil {
						t.Fatal(err)
					}
					if got := recv(t, k.bo, k.bp); len(got) != 1 || !bytes.Equal(got[0], append([]byte{flag}, "topic"...)) {
						t.Fatalf("the peer got %q", got)
					}
				}
			}
		})
	}
}

// A ZMTP 3.0 peer (which has no SUBSCRIBE command) gets subscriptions as data frames.
func TestSubscriptionToZMTP30(t *testing.T) {
	r := newTestReactor(t, Config{Loops: 1})
	o := newOwner(t, "sub")
	l := listen(t, r, "tcp://127.0.0.1:*", testOptions("SUB"), o)
	nc := rawConn(t, l.Endpoint())
	hello := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 0, Mechanism: codec.MechNull})
	hello = codec.AppendReady(hello, codec.Property{Name: zmtp.PropSocketType, Value: []byte("PUB")})
	if _, err := nc.Write(hello); err != nil {
		t.Fatal(err)
	}
	p := o.waitAttached(t)
	if peer := p.Peer(); peer.Major != 3 || peer.Minor != 0 {
		t.Fatalf("peer version %d.%d", peer.Major, peer.Minor)
	}
	m := p.Subscription([]byte("news"), true)
	if m.IsCommand() {
		t.Fatal("a subscription to a ZMTP 3.0 peer is a command")
	}
	if err := trySendWait(o, p, m); err != nil {
		t.Fatal(err)
	}
	// Our greeting and READY come first, then the subscription.
	_ = nc.SetReadDeadline(time.Now().Add(waitLimit))
	var in []byte
	buf := make([]byte, 4096)
	var frames [][]byte
	for len(frames) < 2 {
		n, err := nc.Read(buf)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		in = append(in, buf[:n]...)
		frames = frames[:0]
		if len(in) < codec.GreetingSize {
			continue
		}
		rest := in[codec.GreetingSize:]
		for {
			h, hn, err := codec.ParseFrameHeader(rest, -1)
			if err != nil || uint64(len(rest)-hn) < h.Size {
				break
			}
			frames = append(frames, rest[hn:hn+int(h.Size)])
			rest = rest[hn+int(h.Size):]
		}
	}
	if c, err := codec.ParseCommand(frames[0]); err != nil || !c.Is(codec.CmdReady) {
		t.Fatalf("first frame %q", frames[0])
	}
	if string(frames[1]) != "\x01news" {
		t.Fatalf("the subscription went as %q", frames[1])
	}
}

// libzmq's XPUB hears a subscription sent by a pipe over tcp and over ws alike, and its
// cancellation, as the 0x01/0x00 messages it hands its application.
func TestSubscriptionInteropXPUB(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			lx := testpeer.Start(t, "XPUB")
			ep := lx.Bind(tr + "://127.0.0.1:*" + map[string]string{"tcp": "", "ws": "/xpub"}[tr])
			o := newOwner(t, "sub")
			d := connect(t, r, ep, testOptions("SUB", "PUB", "XPUB"), o)
			p := o.waitAttached(t)
			if p != d.Pipe() || p.Peer().SocketType != "XPUB" {
				t.Fatalf("attached to a %q", p.Peer().SocketType)
			}
			subscribe := func(on bool) {
				t.Helper()
				if err := trySendWait(o, p, p.Subscription([]byte("weather"), on)); err != nil {
					t.Fatal(err)
				}
				want := "\x01weather"
				if !on {
					want = "\x00weather"
				}
				m, err := lx.Recv(waitLimit)
				if err != nil {
					t.Fatal(err)
				}
				if len(m) != 1 || string(m[0]) != want {
					t.Fatalf("libzmq's XPUB got %q, want %q", m, want)
				}
			}
			subscribe(true)
			// libzmq filters by it: what matches arrives, the rest does not.
			lx.Send([]byte("sports: none"))
			lx.Send([]byte("weather: fine"))
			if m := recv(t, o, p); string(m[0]) != "weather: fine" {
				t.Fatalf("got %q", m)
			}
			subscribe(false)
		})
	}
}
