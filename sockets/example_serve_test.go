package sockets_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

// A ROUTER endpoint served on the event loops: the handler runs where the request was read and its
// reply goes out with that loop's next write. A REQ client cannot tell it from a ROUTER socket: its
// empty delimiter comes in front of the request and goes back in front of the reply.
func ExampleServe() {
	srv, err := sockets.Serve("tcp://127.0.0.1:*", func(c *sockets.Call) {
		m := c.Msg() // ["", body] from a REQ; valid during the call only
		c.ReplyFrames(m.Frame(0), fmt.Appendf(nil, "hello, %s", m.Frame(1)))
	}, sockets.WithLinger(0))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := sockets.New(sockets.Req, sockets.WithLinger(0))
	defer req.Close()
	_ = req.Connect(srv.Endpoint())
	_ = req.Send(ctx, []byte("world"))
	reply, err := req.Recv(ctx)
	fmt.Printf("%s %v\n", reply[0], err)
	// Output: hello, world <nil>
}

// Slow work leaves the loop: the handler takes the message and a PeerRef, and another goroutine
// replies through the PeerRef when it is done (the reply is posted to the peer's loop; had the peer
// gone meanwhile, Send would drop it and return false).
func ExampleCall_Take() {
	type job struct {
		peer sockets.PeerRef
		req  *pool.Msg
	}
	jobs := make(chan job, 64)
	srv, err := sockets.Serve("tcp://127.0.0.1:*", func(c *sockets.Call) {
		jobs <- job{c.Peer(), c.Take()} // buffered: the loop never waits here in this example
	}, sockets.WithLinger(0))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for j := range jobs {
			out := pool.NewMsg()
			out.AppendFrame(fmt.Appendf(nil, "%d bytes", len(j.req.Frame(0))))
			j.req.Release()
			j.peer.Send(out)
		}
	}()
	defer func() { close(jobs); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, _ := sockets.New(sockets.Dealer, sockets.WithLinger(0))
	defer d.Close()
	_ = d.Connect(srv.Endpoint())
	_ = d.Send(ctx, []byte("some slow request"))
	reply, err := d.Recv(ctx)
	fmt.Printf("%s %v\n", reply[0], err)
	// Output: 17 bytes <nil>
}

// A broker keeps track of its peers with the server's monitor: who connected, who left and why.
func ExampleServer_Monitor() {
	srv, err := sockets.Serve("tcp://127.0.0.1:*", func(c *sockets.Call) { c.Echo() }, sockets.WithLinger(0))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	events := srv.Monitor(16)

	d, _ := sockets.New(sockets.Dealer, sockets.WithLinger(0))
	_ = d.Connect(srv.Endpoint())
	for e := range events {
		if e.Type == reactor.EventHandshakeSucceeded {
			fmt.Println("peer joined")
			break
		}
	}
	_ = d.Close()
	for e := range events {
		if e.Type == reactor.EventDisconnected {
			fmt.Println("peer left")
			break
		}
	}
	// Output:
	// peer joined
	// peer left
}
