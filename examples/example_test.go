package examples

import (
	"context"
	"fmt"
	"time"

	"github.com/zloop/zloop/sockets"
)

// PUSH/PULL over TCP on loopback: the PULL side binds an ephemeral port, the PUSH side connects
// to the endpoint Bind returned, and messages arrive whole and in order.
func Example_pushPull() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	pull, err := sockets.New(sockets.Pull)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pull.Close()
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		fmt.Println(err)
		return
	}

	push, err := sockets.New(sockets.Push)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer push.Close() // runs first: lingers until what was sent is on the wire
	if err := push.Connect(ep); err != nil {
		fmt.Println(err)
		return
	}

	// Send copies its frames and may be called before the connection is up: the message waits.
	for _, word := range []string{"one", "two", "three"} {
		if err := push.Send(ctx, []byte(word)); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := push.Send(ctx, []byte("multi"), []byte("part")); err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 4; i++ {
		msg, err := pull.Recv(ctx) // frames the caller owns
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q\n", msg)
	}
	// Output:
	// ["one"]
	// ["two"]
	// ["three"]
	// ["multi" "part"]
}

// REQ/REP: the REP side answers each request on a goroutine of its own (zloop sockets are safe
// for concurrent use), and the REQ side alternates Send and Recv.
func Example_reqRep() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	rep, err := sockets.New(sockets.Rep)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rep.Close()
	ep, err := rep.Bind("tcp://127.0.0.1:*")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() {
		for i := 0; i < 2; i++ {
			req, err := rep.Recv(ctx)
			if err == nil {
				err = rep.Send(ctx, append([]byte("hello, "), req[0]...))
			}
			if err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()

	req, err := sockets.New(sockets.Req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer req.Close()
	if err := req.Connect(ep); err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"world", "zloop"} {
		if err := req.Send(ctx, []byte(name)); err != nil {
			fmt.Println(err)
			return
		}
		reply, err := req.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(reply[0]))
	}
	if err := <-served; err != nil {
		fmt.Println(err)
	}
	// Output:
	// hello, world
	// hello, zloop
}
