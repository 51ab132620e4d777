package sockets

// ws:// (ZWS 2.0): zloop to zloop and against libzmq 4.3's ws transport, zloop on either side,
// either side binding, with frames of every WebSocket length encoding.

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testpeer"
	zws "github.com/zloop/zloop/ws"
)

var wsSizes = []int{0, 1, 125, 126, 65535, 65536, 200000}

func wsMessages() [][][]byte {
	var msgs [][][]byte
	var multi [][]byte
	for i, n := range wsSizes {
		msgs = append(msgs, [][]byte{frameOf(n, byte(i))})
		multi = append(multi, frameOf(n, byte(50+i)))
	}
	return append(msgs, multi)
}

func TestWSZloopToZloop(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull)
	ep, err := pull.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	msgs := wsMessages()
	for _, m := range msgs {
		if err := push.Send(ctx, m...); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range msgs {
		got, err := pull.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sameMsg(got, want) {
			t.Fatalf("message %d wrong", i)
		}
	}
}

func TestWSInterop(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	type pair struct{ zloop, libzmq Type }
	for _, pr := range []pair{{Push, Pull}, {Pull, Push}, {Req, Rep}, {Rep, Req}, {Pair, Pair}} {
		for _, zloopBinds := range []bool{true, false} {
			name := fmt.Sprintf("zloop %v to libzmq %v, zloop binds %v", pr.zloop, pr.libzmq, zloopBinds)
			t.Run(name, func(t *testing.T) {
				r := newReactor(t)
				z := newSocket(t, r, pr.zloop, WithLinger(time.Second))
				l := testpeer.Start(t, pr.libzmq.String())
				if zloopBinds {
					ep, err := z.Bind("ws://127.0.0.1:*/zmq")
					if err != nil {
						t.Fatal(err)
					}
					l.Connect(ep)
				} else {
					ep := l.Bind("ws://127.0.0.1:*/zmq")
					if err := z.Connect(ep); err != nil {
						t.Fatal(err)
					}
				}
				exchangeMsgs(t, z, l, pr.zloop, wsMessages())
				// Round trips leave the connection idle before each send: those frames were written
				// by the sender directly, masked when zloop is the client, and libzmq took them.
				if (pr.zloop == Req || pr.zloop == Rep) && z.Stats().SenderWrites == 0 {
					t.Fatal("no direct write in a round trip")
				}
			})
		}
	}
}

// The seed's frame-integrity test: many small messages written in one go arrive at a libzmq
// receiver as exactly those messages, in order.
func TestWSBatchIntegrity(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	ctx := testCtx(t)
	l := testpeer.Start(t, "PULL")
	ep := l.Bind("ws://127.0.0.1:*/batch")
	push := newSocket(t, r, Push, WithSndHWM(0))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for i := 0; i < n; i++ {
		if err := push.Send(ctx, testpeer.SeqPayload(nil, uint64(i), 16)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.RecvCheckPattern(n, 16, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A zloop ws:// client masks every frame with a fresh key (RFC 6455 wants them unpredictable): a
// raw server records the keys of the handshake's and the messages' frames.
func TestWSClientMasksEachFrameAfresh(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	push := newSocket(t, r, Push)
	if err := push.Connect("ws://" + ln.Addr().String() + "/zmq"); err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var in []byte
	read := func() {
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, buf[:n]...)
	}
	var resp []byte
	for {
		_, n, out, err := zws.Accept(in, &zws.ServerConfig{Path: "/zmq"}, nil)
		if err == nil {
			in, resp = in[n:], out
			break
		}
		read()
	}
	if _, err := c.Write(resp); err != nil {
		t.Fatal(err)
	}
	// Our READY, so that the client's handshake completes and messages flow.
	if _, err := c.Write(zws.AppendFrame(nil, 0x02, codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PULL")})[2:], nil)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := push.Send(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[[4]byte]bool{}
	for frames := 0; frames < 11; { // READY and ten messages
		h, n, err := zws.ParseHeader(in, 1<<20)
		if err != nil || uint64(len(in)-n) < h.Len {
			read()
			continue
		}
		if !h.Masked {
			t.Fatal("an unmasked client frame")
		}
		keys[h.Mask] = true
		in = in[n+int(h.Len):]
		frames++
	}
	if len(keys) < 10 {
		t.Fatalf("%d distinct masking keys in 11 frames", len(keys))
	}
}

// Over ws, MAXMSGSIZE bounds messages, not commands: a limit smaller than the peer's READY still
// lets the handshake through (the command cap applies to commands, as over tcp), and a larger
// message is refused from its header.
func TestWSMaxMsgSizeBoundsMessagesOnly(t *testing.T) {
	r := newReactor(t)
	pull := newSocket(t, r, Pull, WithMaxMsgSize(4))
	events := pull.Monitor(64)
	ep, err := pull.Bind("ws://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, WithLinger(0))
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e Event) bool { return e.Type == EventHandshakeSucceeded })
	ctx := testCtx(t)
	if err := push.Send(ctx, []byte("four")); err != nil {
		t.Fatal(err)
	}
	if m, err := pull.Recv(ctx); err != nil || string(m[0]) != "four" {
		t.Fatalf("%q %v", m, err)
	}
	if err := push.Send(ctx, []byte("five!")); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, events, func(e Event) bool { return e.Type == EventDisconnected })
	if e.Err == nil {
		t.Fatalf("disconnect without a cause: %v", e)
	}
}
