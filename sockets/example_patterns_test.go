package sockets_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zloop/zloop/sockets"
)

// SUB subscribes to topic prefixes; the publisher filters. An XPUB publisher sees each
// subscription arrive (0x01 + topic), so it knows when to start.
func ExampleSocket_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, _ := sockets.New(sockets.XPub)
	defer pub.Close()
	ep, _ := pub.Bind("tcp://127.0.0.1:*")

	sub, _ := sockets.New(sockets.Sub)
	defer sub.Close()
	_ = sub.Subscribe([]byte("temp."))
	_ = sub.Connect(ep)

	note, _ := pub.Recv(ctx)
	fmt.Printf("publisher saw %q\n", note[0])
	for _, topic := range []string{"humidity.oslo", "temp.oslo", "temp.rome"} {
		_ = pub.Send(ctx, []byte(topic), []byte("42"))
	}
	for i := 0; i < 2; i++ {
		m, _ := sub.Recv(ctx)
		fmt.Printf("%s %s\n", m[0], m[1])
	}
	// Output:
	// publisher saw "\x01temp."
	// temp.oslo 42
	// temp.rome 42
}

// ROUTER names its peers: a DEALER with a routing id is known by it, and a reply goes to the
// peer its first frame names.
func Example_routerDealer() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	router, _ := sockets.New(sockets.Router, sockets.WithRouterMandatory(true))
	defer router.Close()
	ep, _ := router.Bind("tcp://127.0.0.1:*")

	dealer, _ := sockets.New(sockets.Dealer, sockets.WithRoutingID([]byte("alice")))
	defer dealer.Close()
	_ = dealer.Connect(ep)
	_ = dealer.Send(ctx, []byte("hi"))

	m, _ := router.Recv(ctx)
	fmt.Printf("from %s: %s\n", m[0], m[1])
	_ = router.Send(ctx, m[0], []byte("hello, "+string(m[0])))
	reply, _ := dealer.Recv(ctx)
	fmt.Println(string(reply[0]))

	err := router.Send(ctx, []byte("bob"), []byte("anyone?"))
	fmt.Println(err)
	// Output:
	// from alice: hi
	// hello, alice
	// zmq: host unreachable: no peer has that routing id
}

// A Poller waits on several sockets at once.
func ExamplePoller() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _ := sockets.New(sockets.Pull)
	defer a.Close()
	b, _ := sockets.New(sockets.Pull)
	defer b.Close()
	epB, _ := b.Bind("tcp://127.0.0.1:*")
	push, _ := sockets.New(sockets.Push)
	defer push.Close()
	_ = push.Connect(epB)

	poller := sockets.NewPoller()
	defer poller.Close()
	_ = poller.Add(a, sockets.PollIn)
	_ = poller.Add(b, sockets.PollIn)

	_ = push.Send(ctx, []byte("to b"))
	ready, _ := poller.Wait(ctx)
	for _, r := range ready {
		m, _ := r.Socket.Recv(ctx)
		fmt.Printf("b ready: %v, events %v, message %q\n", r.Socket == b, r.Events, m[0])
	}
	// Output: b ready: true, events in, message "to b"
}

// A steerable proxy as a shared queue: REQ clients, ROUTER frontend, DEALER backend, REP
// workers; a PAIR control socket asks for statistics and stops it.
func ExampleProxySteerable() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	front, _ := sockets.New(sockets.Router)
	defer front.Close()
	back, _ := sockets.New(sockets.Dealer)
	defer back.Close()
	control, _ := sockets.New(sockets.Pair)
	defer control.Close()
	fep, _ := front.Bind("tcp://127.0.0.1:*")
	bep, _ := back.Bind("tcp://127.0.0.1:*")
	cep, _ := control.Bind("tcp://127.0.0.1:*")
	done := make(chan error, 1)
	go func() { done <- sockets.ProxySteerable(ctx, front, back, nil, control) }()

	worker, _ := sockets.New(sockets.Rep)
	defer worker.Close()
	_ = worker.Connect(bep)
	client, _ := sockets.New(sockets.Req)
	defer client.Close()
	_ = client.Connect(fep)
	steer, _ := sockets.New(sockets.Pair)
	defer steer.Close()
	_ = steer.Connect(cep)

	_ = client.Send(ctx, []byte("ping"))
	q, _ := worker.Recv(ctx)
	_ = worker.Send(ctx, append(q[0], "-pong"...))
	reply, _ := client.Recv(ctx)
	fmt.Println(string(reply[0]))

	_ = steer.Send(ctx, []byte("STATISTICS"))
	frames, _ := steer.Recv(ctx)
	st, _ := sockets.ParseProxyStats(frames)
	fmt.Printf("frontend in %d, backend in %d\n", st.Frontend.MsgsIn, st.Backend.MsgsIn)
	_ = steer.Send(ctx, []byte("TERMINATE"))
	fmt.Println(<-done)
	// Output:
	// ping-pong
	// frontend in 1, backend in 1
	// <nil>
}
