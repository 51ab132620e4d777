package sockets_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/zloop/zloop/sockets"
)

// PAIR to PAIR over inproc: one peer each side, both ways (rfc 31).
func Example_pair() {
	ctx := context.Background()
	a, _ := sockets.New(sockets.Pair)
	defer a.Close()
	_, _ = a.Bind("inproc://example-pair")
	b, _ := sockets.New(sockets.Pair)
	defer b.Close()
	_ = b.Connect("inproc://example-pair")

	_ = a.Send(ctx, []byte("ping"))
	m, _ := b.Recv(ctx)
	_ = b.Send(ctx, append(m[0], '!'))
	m, _ = a.Recv(ctx)
	fmt.Printf("%s\n", m[0])
	// Output: ping!
}

// STREAM talks raw TCP to a peer that is not ZeroMQ: a connection's start arrives as [id, empty],
// its bytes as [id, data], and [id, data] sent writes to it.
func Example_stream() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, _ := sockets.New(sockets.Stream)
	defer s.Close()
	ep, _ := s.Bind("tcp://127.0.0.1:*")

	c, _ := net.Dial("tcp", strings.TrimPrefix(ep, "tcp://"))
	defer c.Close()
	hello, _ := s.Recv(ctx) // [id, empty]: the connection
	_, _ = c.Write([]byte("hi\n"))
	data, _ := s.Recv(ctx) // [id, "hi\n"]
	_ = s.Send(ctx, hello[0], []byte("hello, "+string(data[1])))
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output: hello, hi
}

// XPUB/XSUB: the publisher sees the subscription as a message (0x01 + topic) and the subscriber
// subscribes by sending one.
func Example_xpubXsub() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	xpub, _ := sockets.New(sockets.XPub)
	defer xpub.Close()
	ep, _ := xpub.Bind("tcp://127.0.0.1:*")
	xsub, _ := sockets.New(sockets.XSub)
	defer xsub.Close()
	_ = xsub.Connect(ep)

	_ = xsub.Send(ctx, []byte("\x01news"))
	sub, _ := xpub.Recv(ctx)
	fmt.Printf("subscription %q\n", sub[0])
	_ = xpub.Send(ctx, []byte("news: zloop"))
	_ = xpub.Send(ctx, []byte("sport: none"))
	m, _ := xsub.Recv(ctx)
	fmt.Printf("%s\n", m[0])
	// Output:
	// subscription "\x01news"
	// news: zloop
}
