package ws_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/zloop/zloop/ws"
)

// A ZMTP frame is one binary WebSocket message: the flags byte, then the body.
// Frames from a client are masked.
func ExampleAppendFrame() {
	server := ws.AppendFrame(nil, ws.FlagMore, []byte("hi"), nil)
	fmt.Printf("% x\n", server)
	key := [4]byte{1, 2, 3, 4}
	client := ws.AppendFrame(nil, ws.FlagMore, []byte("hi"), &key)
	fmt.Printf("% x\n", client)
	// Output:
	// 82 03 01 68 69
	// 82 83 01 02 03 04 00 6a 6a
}

// A client masks a payload as it copies it; masking again from the same offset undoes it, as a
// server does in place.
func ExampleAppendMasked() {
	key := [4]byte{1, 2, 3, 4}
	masked := ws.AppendMasked([]byte("hdr:"), []byte("hello"), key, 1)
	fmt.Printf("% x\n", masked[4:])
	ws.MaskBytes(masked[4:], key, 1)
	fmt.Printf("%s\n", masked)
	// Output:
	// 6a 66 68 6d 6d
	// hdr:hello
}

func ExampleParseHeader() {
	wire := ws.AppendFrame(nil, 0, make([]byte, 300), nil)
	h, n, err := ws.ParseHeader(wire, -1)
	fmt.Println(h.Fin, h.Op == ws.OpBinary, h.Len, n, err)
	_, _, err = ws.ParseHeader(wire, 100)
	fmt.Println(errors.Is(err, ws.ErrTooLarge))
	_, _, err = ws.ParseHeader(wire[:3], -1)
	fmt.Println(err)
	// Output:
	// true true 301 4 <nil>
	// true
	// zmq: ws: short buffer
}

// printer is a Handler that prints what it receives.
type printer struct{}

func (printer) Frame(flags byte, size int) bool {
	fmt.Printf("frame flags=%#x size=%d\n", flags, size)
	return true
}

func (printer) FrameData(p []byte, last bool) { fmt.Printf("  data %q last=%v\n", p, last) }

func (printer) Control(op byte, payload []byte) { fmt.Printf("control op=%d %q\n", op, payload) }

// A server-side Decoder fed a client's bytes in two pieces cut inside a frame.
func ExampleDecoder() {
	key := [4]byte{9, 8, 7, 6}
	var in []byte
	in = ws.AppendFrame(in, ws.FlagMore, []byte("hello"), &key)
	in = ws.AppendControl(in, ws.OpPing, []byte("?"), &key)
	in = ws.AppendFrame(in, 0, []byte("world"), &key)

	d := ws.NewDecoder(true, 1<<20)
	n, err := d.Feed(in[:9], printer{})
	fmt.Println("consumed", n, err)
	rest := in[n:]
	n, err = d.Feed(rest, printer{})
	fmt.Println("consumed", n, "of", len(rest), err)
	// Output:
	// frame flags=0x1 size=5
	//   data "he" last=false
	// consumed 9 <nil>
	//   data "llo" last=true
	// control op=9 "?"
	// frame flags=0x0 size=5
	//   data "world" last=true
	// consumed 22 of 22 <nil>
}

func ExampleAccept() {
	req := "GET /zmq HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	cfg := &ws.ServerConfig{Path: "/zmq", Protocols: []string{ws.ProtoNull, ws.ProtoBare}}

	_, _, _, err := ws.Accept([]byte(req[:40]), cfg, nil)
	fmt.Println(err)

	proto, n, out, err := ws.Accept([]byte(req+"\x82\x81"), cfg, nil)
	fmt.Println(proto, n == len(req), err)
	fmt.Print(strings.ReplaceAll(string(out), "\r\n", "\n"))

	_, _, _, err = ws.Accept([]byte(strings.Replace(req, "/zmq", "/other", 1)), cfg, nil)
	var rej *ws.RejectError
	fmt.Println(errors.As(err, &rej), rej.Status, errors.Is(err, ws.ErrHandshake))
	// Output:
	// zmq: ws: short buffer
	// ZWS2.0/NULL true <nil>
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: ZWS2.0/NULL
	//
	// true 404 true
}

// The client handshake over an in-memory connection to a server built on Accept,
// which sends its first frame in the same write as its 101 answer.
func ExampleClientHandshake() {
	client, server := net.Pipe()
	defer client.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()
		var buf []byte
		tmp := make([]byte, 256)
		for {
			k, err := server.Read(tmp)
			if err != nil {
				return
			}
			buf = append(buf, tmp[:k]...)
			_, _, out, err := ws.Accept(buf, nil, nil)
			if err == ws.ErrShort {
				continue
			}
			if err == nil {
				out = ws.AppendFrame(out, ws.FlagCommand, []byte("\x05READY"), nil)
				server.Write(out)
			}
			return
		}
	}()
	u, _ := url.Parse("ws://example.com/zmq")
	proto, leftover, err := ws.ClientHandshake(client, u, []string{ws.ProtoNull})
	fmt.Println(proto, err)
	<-done
	ws.NewDecoder(false, -1).Feed(leftover, printer{})
	// Output:
	// ZWS2.0/NULL <nil>
	// frame flags=0x2 size=6
	//   data "\x05READY" last=true
}
