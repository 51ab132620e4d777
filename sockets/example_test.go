package sockets_test

import (
	"context"
	"fmt"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/sockets"
)

// PUSH to PULL over TCP on the default reactor, with a two-frame message.
func Example_pushPull() {
	ctx := context.Background()
	pull, _ := sockets.New(sockets.Pull)
	defer pull.Close()
	ep, _ := pull.Bind("tcp://127.0.0.1:*")

	push, _ := sockets.New(sockets.Push)
	defer push.Close()
	_ = push.Connect(ep)

	_ = push.Send(ctx, []byte("hello"), []byte("world"))
	msg, _ := pull.Recv(ctx)
	fmt.Printf("%d frames: %s %s\n", len(msg), msg[0], msg[1])
	// Output: 2 frames: hello world
}

// REQ to REP: strict alternation, the envelope handled by the sockets.
func Example_reqRep() {
	ctx := context.Background()
	rep, _ := sockets.New(sockets.Rep)
	defer rep.Close()
	ep, _ := rep.Bind("ipc://*")

	req, _ := sockets.New(sockets.Req)
	defer req.Close()
	_ = req.Connect(ep)

	go func() {
		q, _ := rep.Recv(ctx)
		_ = rep.Send(ctx, append([]byte("echo: "), q[0]...))
	}()
	_ = req.Send(ctx, []byte("ping"))
	fmt.Println(req.Send(ctx, []byte("again")) == nil) // a REQ must receive first
	r, _ := req.Recv(ctx)
	fmt.Printf("%s\n", r[0])
	// Output:
	// false
	// echo: ping
}

// The zero-copy path: pooled messages that the receiver releases.
func ExampleSocket_RecvMsg() {
	ctx := context.Background()
	pull, _ := sockets.New(sockets.Pull)
	defer pull.Close()
	ep, _ := pull.Bind("tcp://127.0.0.1:*")
	push, _ := sockets.New(sockets.Push, sockets.WithSndHWM(100))
	defer push.Close()
	_ = push.Connect(ep)

	out := pool.NewMsg()
	out.AppendFrame([]byte("pooled"))
	_ = push.SendMsg(ctx, out) // out belongs to the socket now

	in, _ := pull.RecvMsg(ctx)
	fmt.Printf("%s, %d bytes\n", in.Frame(0), in.Size())
	in.Release() // in.Frame(0) must not be used after this
	// Output: pooled, 6 bytes
}

// PLAIN: the server checks each client's credentials (in place of libzmq's ZAP handler); a client
// with the wrong password never gets a message through.
func Example_plain() {
	ctx := context.Background()
	pull, _ := sockets.New(sockets.Pull, sockets.WithPlainServer(true, func(user, pass string) bool {
		return user == "admin" && pass == "s3cret"
	}))
	defer pull.Close()
	ep, _ := pull.Bind("tcp://127.0.0.1:*")

	push, _ := sockets.New(sockets.Push, sockets.WithPlainClient("admin", "s3cret"))
	defer push.Close()
	_ = push.Connect(ep)

	_ = push.Send(ctx, []byte("authenticated"))
	msg, _ := pull.Recv(ctx)
	fmt.Println(string(msg[0]))
	// Output: authenticated
}
