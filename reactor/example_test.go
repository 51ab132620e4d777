package reactor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

// Shutdown is zmq_ctx_term bounded by a context, like a server's graceful shutdown: a message
// queued for a peer that does not exist yet is delivered when the peer appears within the wait;
// calls blocked on the reactor's sockets fail with ErrTerminated.
func ExampleReactor_Shutdown() {
	r, _ := reactor.New(reactor.Config{})
	push, _ := sockets.NewOn(r, sockets.Push)
	_ = push.Connect("inproc://example-later") // nobody has bound it yet
	_ = push.Send(context.Background(), []byte("queued before the peer existed"))
	_ = push.Close() // lingers: keeps the message for the peer

	pull, _ := sockets.NewOn(r, sockets.Pull)
	_, _ = pull.Bind("inproc://example-later")
	m, _ := pull.Recv(context.Background())
	fmt.Printf("%s\n", m[0])

	blocked := make(chan error)
	go func() { _, err := pull.Recv(context.Background()); blocked <- err }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.Shutdown(ctx)
	fmt.Println(<-blocked)
	// Output:
	// queued before the peer existed
	// zmq: reactor terminated: zmq: closed
}

// The goroutines that outlive every reactor, for a leak checker's ignore list.
func ExampleBackgroundGoroutines() {
	for _, f := range reactor.BackgroundGoroutines() {
		fmt.Println(f)
	}
	// Output:
	// github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers
	// github.com/panjf2000/ants/v2.(*poolCommon).ticktock
	// github.com/panjf2000/ants/v2.(*goWorker).run.func1
}
