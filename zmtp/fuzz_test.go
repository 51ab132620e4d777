package zmtp_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

func fuzzConfig() *zmtp.Config {
	return &zmtp.Config{
		SocketType:     "PULL",
		Compatible:     func(p string) bool { return p == "PUSH" },
		MaxMsgSize:     2000,
		MaxFrames:      16,
		MaxCommandSize: 1024,
		HeartbeatIvl:   time.Second,
	}
}

// fuzzSeeds are real encoder output: frames and commands as a peer sends them.
func fuzzSeeds() [][]byte {
	in, _, _ := splitStream(false)
	body := in[len(handshake("PUSH", codec.Property{Name: "Identity", Value: []byte("peer-1")}, codec.Property{Name: "X-Zero", Value: nil})):]
	return [][]byte{
		body,
		msg(nil, []byte("hello")),
		msg(nil, []byte{}, pattern(300, 1), []byte("end")),
		msg(nil, pattern(1999, 2), []byte("x")),
		codec.AppendPing(nil, 10, []byte("ctx")),
		codec.AppendPong(nil, nil),
		codec.AppendSubscribe(nil, []byte("topic")),
		codec.AppendError(nil, "gone"),
		codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte("PUSH")}),
		codec.AppendCommand(nil, "XBIG", pattern(1100, 3)),
		msg(nil, []byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e"), []byte("f"), []byte("g"), []byte("h"),
			[]byte("i"), []byte("j"), []byte("k"), []byte("l"), []byte("m"), []byte("n"), []byte("o"), []byte("p"), []byte("q")),
		longHeader(0, 1<<63),
		{0x08, 0},
	}
}

// runBoth feeds in whole and byte by byte and checks that both give the same handler calls,
// the same output and the same error, and that the limits held.
func runBoth(t *testing.T, in []byte) {
	whole := newConn(fuzzConfig())
	whole.h.maxMsg, whole.h.maxFrames = 2000, 16
	whole.out = whole.s.Start(t0, nil)
	errWhole := whole.push(t, t0, in)
	// Timers must not panic whatever state the input left behind.
	for _, d := range []time.Duration{time.Second, time.Hour} {
		_, _ = whole.s.Tick(t0.Add(d), nil)
	}
	whole.h.check(t)

	bytewise := newConn(fuzzConfig())
	bytewise.h.maxMsg, bytewise.h.maxFrames = 2000, 16
	bytewise.out = bytewise.s.Start(t0, nil)
	errBytes := bytewise.pushBytes(t, t0, in)
	bytewise.h.check(t)

	if (errWhole == nil) != (errBytes == nil) || errWhole != nil && errWhole.Error() != errBytes.Error() {
		t.Fatalf("whole: %v, byte by byte: %v", errWhole, errBytes)
	}
	evsEqual(t, bytewise.h.evs, whole.h.evs)
	if !bytes.Equal(whole.out, bytewise.out) {
		t.Errorf("output differs:\n%x\n%x", whole.out, bytewise.out)
	}
}

func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	prefix := handshake("PUSH")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		runBoth(t, append(append([]byte{}, prefix...), data...))
	})
}

// FuzzSessionHandshake fuzzes from the first byte: greetings and handshake commands.
func FuzzSessionHandshake(f *testing.F) {
	f.Add(handshake("PUSH"))
	f.Add(handshake("SUB"))
	f.Add(codec.AppendPing(peerGreeting(3, 1, "NULL"), 1, nil))
	f.Add(codec.AppendError(peerGreeting(3, 0, "NULL"), "no"))
	f.Add(peerGreeting(3, 1, "PLAIN"))
	f.Add(peerGreeting(2, 0, "NULL"))
	// The greeting's steps as the encoder writes them, and ZMTP 1.0/2.0 greetings as JeroMQ 0.3
	// sends them (signature, revision, socket type).
	g := codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}
	f.Add(codec.AppendGreetingPart(nil, g, 0, codec.SignatureSize))
	f.Add(codec.AppendGreetingPart(nil, g, 0, codec.GreetingHeadSize))
	for _, rev := range []byte{0, 1, 2} {
		f.Add(append(codec.AppendGreetingPart(nil, codec.Greeting{Major: rev}, 0, codec.GreetingHeadSize), 0x07))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		runBoth(t, data)
	})
}
