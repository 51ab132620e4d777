package zmtp_test

import (
	"fmt"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

// printer is a Handler that prints what arrives; it copies nothing because it keeps nothing.
type printer struct{ name string }

func (p printer) Ready(peer *zmtp.Peer) error {
	fmt.Printf("%s: ready, peer is %s (ZMTP %d.%d)\n", p.name, peer.SocketType, peer.Major, peer.Minor)
	return nil
}

func (p printer) Frame(size int, more, first bool) bool {
	fmt.Printf("%s: frame of %d bytes, more=%v first=%v\n", p.name, size, more, first)
	return true
}

func (p printer) FrameData(b []byte, last bool) { fmt.Printf("%s: data %q last=%v\n", p.name, b, last) }
func (p printer) Command(c codec.Command)       { fmt.Printf("%s: command %s\n", p.name, c.Name) }

// Two sessions wired back to back in memory: what one appends to out is what the other reads.
func ExampleSession() {
	now := time.Unix(0, 0)
	push := zmtp.NewSession(&zmtp.Config{SocketType: "PUSH", Compatible: func(t string) bool { return t == "PULL" }})
	pull := zmtp.NewSession(&zmtp.Config{SocketType: "PULL", Compatible: func(t string) bool { return t == "PUSH" }})

	toPull := push.Start(now, nil) // greetings go out at once
	toPush := pull.Start(now, nil)
	for len(toPull)+len(toPush) > 0 {
		var err error
		var n int
		in := toPull
		n, toPush, err = pull.Read(in, now, toPush, printer{"pull"})
		toPull = in[n:]
		if err != nil {
			fmt.Println(err)
			return
		}
		in = toPush
		n, toPull, err = push.Read(in, now, toPull, printer{"push"})
		toPush = in[n:]
		if err != nil {
			fmt.Println(err)
			return
		}
		if push.Ready() && pull.Ready() && len(toPull) == 0 && len(toPush) == 0 {
			break
		}
	}

	// Messages are encoded by the caller; the session decodes and checks them.
	wire := codec.AppendFrame(nil, codec.FlagMore, []byte("hello"))
	wire = codec.AppendFrame(wire, 0, []byte("world"))
	n, _, err := pull.Read(wire, now, nil, printer{"pull"})
	fmt.Println(n == len(wire), err)
	// Output:
	// push: ready, peer is PULL (ZMTP 3.1)
	// pull: ready, peer is PUSH (ZMTP 3.1)
	// pull: frame of 5 bytes, more=true first=true
	// pull: data "hello" last=true
	// pull: frame of 5 bytes, more=false first=false
	// pull: data "world" last=true
	// true <nil>
}

// A frame larger than what has arrived is streamed: FrameData gets each piece as it comes,
// and Read consumes it, so the caller never holds the whole body twice.
func ExampleSession_Read_streaming() {
	now := time.Unix(0, 0)
	s := zmtp.NewSession(&zmtp.Config{SocketType: "PULL"})
	peer := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	peer = codec.AppendReady(peer, codec.Property{Name: "Socket-Type", Value: []byte("PUSH")})
	peer = codec.AppendFrame(peer, 0, []byte("0123456789"))

	var kept []byte // what the caller keeps between reads, like gnet's inbound buffer
	for _, chunk := range [][]byte{peer[:len(peer)-11], peer[len(peer)-11 : len(peer)-6], peer[len(peer)-6:]} {
		kept = append(kept, chunk...)
		n, _, err := s.Read(kept, now, nil, printer{"pull"})
		if err != nil {
			fmt.Println(err)
			return
		}
		kept = kept[n:]
		fmt.Printf("consumed %d, kept %d\n", n, len(kept))
	}
	// Output:
	// pull: ready, peer is PUSH (ZMTP 3.1)
	// consumed 92, kept 1
	// pull: frame of 10 bytes, more=false first=true
	// pull: data "0123" last=false
	// consumed 6, kept 0
	// pull: data "456789" last=true
	// consumed 6, kept 0
}

// Heartbeats run on a fake clock: Tick at NextDeadline appends PINGs and reports timeouts.
func ExampleSession_Tick() {
	start := time.Unix(0, 0)
	s := zmtp.NewSession(&zmtp.Config{SocketType: "DEALER", HeartbeatIvl: time.Second})
	s.Start(start, nil)
	peer := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	peer = codec.AppendReady(peer, codec.Property{Name: "Socket-Type", Value: []byte("ROUTER")})
	if _, _, err := s.Read(peer, start, nil, printer{"dealer"}); err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 3; i++ {
		at := s.NextDeadline()
		out, err := s.Tick(at, nil)
		fmt.Printf("t=%v wrote %d bytes, err=%v\n", at.Sub(start), len(out), err)
		if err != nil {
			break
		}
	}
	// Output:
	// dealer: ready, peer is ROUTER (ZMTP 3.1)
	// t=1s wrote 9 bytes, err=<nil>
	// t=2s wrote 0 bytes, err=zmq: heartbeat: heartbeat timed out: no answer to PING
}

// Keys in their Z85 text form, as libzmq's tools print them: the public key derived from a secret
// key (libzmq's test keys), and a fresh pair.
func ExampleCurvePublic() {
	secret, err := zmtp.ParseCurveKey("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6")
	if err != nil {
		panic(err)
	}
	fmt.Println(zmtp.CurvePublic(secret))

	public, secret, err := zmtp.CurveKeypair()
	fmt.Println(err, len(public.String()), zmtp.CurvePublic(secret) == public)
	// Output:
	// rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
	// <nil> 40 true
}
