package sockets_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/sockets"
)

// The README's "Using it" path, whole: one import for the ordinary path (pool only for the
// zero-allocation one), and Terminate at the end, which delivers what was queued (LINGER).
func Example_usingIt() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pull, _ := sockets.New(sockets.Pull)    // on the default reactor (one per process, lazily)
	ep, _ := pull.Bind("tcp://127.0.0.1:*") // the resolved endpoint (ZMQ_LAST_ENDPOINT)
	push, _ := sockets.New(sockets.Push, sockets.WithSndHWM(10_000))
	_ = push.Connect(ep) // returns at once; connects in the background

	_ = push.Send(ctx, []byte("hello"), []byte("world")) // frames are copied
	msg, _ := pull.Recv(ctx)                             // [][]byte the caller owns
	fmt.Printf("%s %s\n", msg[0], msg[1])

	m := pool.NewMsg() // the zero-allocation path:
	m.AppendFrame([]byte("payload"))
	_ = push.SendMsg(ctx, m) //   m belongs to the socket now
	in, _ := pull.RecvMsg(ctx)
	fmt.Printf("%s\n", in.Frame(0)) // frames valid until Release
	in.Release()

	_ = push.Close() // returns at once; what is queued is still delivered (LINGER)
	_ = pull.Close()
	_ = sockets.Terminate(ctx) // zmq_ctx_term: waits for that, bounded by ctx
	// Output:
	// hello world
	// payload
}
