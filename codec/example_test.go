package codec_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/zloop/zloop/codec"
)

func ExampleAppendFrame() {
	var out []byte
	out = codec.AppendFrame(out, codec.FlagMore, []byte("key"))
	out = codec.AppendFrame(out, 0, bytes.Repeat([]byte("v"), 300))
	fmt.Printf("% x\n", out[:5])
	fmt.Printf("% x\n", out[5:5+9])
	fmt.Println(len(out))
	// Output:
	// 01 03 6b 65 79
	// 02 00 00 00 00 00 00 01 2c
	// 314
}

func ExampleParseFrameHeader() {
	stream := codec.AppendFrame(nil, codec.FlagMore, []byte("hello"))
	stream = codec.AppendFrame(stream, 0, []byte("world"))

	// A resumable loop: ErrShort means "wait for more bytes", anything else
	// closes the connection.
	for len(stream) > 0 {
		h, n, err := codec.ParseFrameHeader(stream, 1<<20)
		if errors.Is(err, codec.ErrShort) || uint64(len(stream)-n) < h.Size {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("more=%v %q\n", h.More(), stream[n:n+int(h.Size)])
		stream = stream[n+int(h.Size):]
	}

	_, _, err := codec.ParseFrameHeader([]byte{0x02, 0x80}, -1)
	fmt.Println(err)
	// Output:
	// more=true "hello"
	// more=false "world"
	// zmq: protocol error in frame: frame too large: size of 2^63 or more
}

func ExampleParseMetadata() {
	ready := codec.AppendReady(nil,
		codec.Property{Name: "Socket-Type", Value: []byte("DEALER")},
		codec.Property{Name: "Identity", Value: []byte("client-7")},
	)
	h, n, _ := codec.ParseFrameHeader(ready, -1)
	cmd, _ := codec.ParseCommand(ready[n : n+int(h.Size)])
	fmt.Println(string(cmd.Name), h.Command())

	err := codec.ParseMetadata(cmd.Data, func(name, value []byte) error {
		// name and value alias ready: copy them to keep them.
		if bytes.EqualFold(name, []byte("socket-type")) {
			fmt.Printf("peer is a %s\n", value)
		}
		fmt.Printf("%s=%q\n", name, value)
		return nil
	})
	fmt.Println(err)
	// Output:
	// READY true
	// peer is a DEALER
	// Socket-Type="DEALER"
	// Identity="client-7"
	// <nil>
}

func ExampleParseGreeting() {
	ours := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechNull})

	_, _, err := codec.ParseGreeting(ours[:11])
	fmt.Println(err == codec.ErrShort)

	g, n, err := codec.ParseGreeting(ours)
	fmt.Printf("%+v %d %v\n", g, n, err)

	old := bytes.Clone(ours[:11])
	old[10] = 1 // a ZMTP 2.0 peer
	_, _, err = codec.ParseGreeting(old)
	fmt.Println(errors.Is(err, codec.ErrVersion), err)
	// Output:
	// true
	// {Major:3 Minor:1 Mechanism:NULL AsServer:false} 64 <nil>
	// true zmq: unsupported ZMTP version 2.0 (need 3.0 or later)
}

// The greeting in steps, as libzmq negotiates: the signature first, the major version once the
// peer's signature is in, the rest once the peer's major version shows 3.0 or later.
func ExampleParseGreetingHead() {
	ours := codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechNull}
	out := codec.AppendGreetingPart(nil, ours, 0, codec.SignatureSize)
	fmt.Println(len(out))

	peer := codec.AppendGreeting(nil, ours)[:codec.GreetingHeadSize] // a 3.x peer's signature and major
	_, err := codec.ParseGreetingHead(peer[:codec.SignatureSize])
	fmt.Println(err == codec.ErrShort) // a valid signature, no major version yet
	out = codec.AppendGreetingPart(out, ours, codec.SignatureSize, codec.GreetingHeadSize)
	major, err := codec.ParseGreetingHead(peer)
	fmt.Println(major, err)
	out = codec.AppendGreetingPart(out, ours, codec.GreetingHeadSize, codec.GreetingSize)
	fmt.Println(len(out), bytes.Equal(out, codec.AppendGreeting(nil, ours)))

	jeromq := []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x07} // ZMTP 2.0: revision 1, PULL
	_, err = codec.ParseGreetingHead(jeromq)
	fmt.Println(err)
	// Output:
	// 10
	// true
	// 3 <nil>
	// 64 true
	// zmq: unsupported ZMTP version 2.0 (need 3.0 or later)
}
