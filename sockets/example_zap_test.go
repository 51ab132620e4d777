package sockets_test

import (
	"context"
	"fmt"

	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

// A ZAP handler as a Go function, for every socket of a reactor (libzmq's per-context handler):
// PLAIN clients are checked by it, and the User-Id it returns comes with their messages.
func ExampleSetZAPHandler() {
	ctx := context.Background()
	r, _ := reactor.New(reactor.Config{})
	defer r.Close()
	_ = sockets.SetZAPHandler(r, func(req sockets.ZAPRequest) sockets.ZAPReply {
		if req.Mechanism == "PLAIN" && string(req.Credentials[0]) == "alice" && string(req.Credentials[1]) == "secret" {
			return sockets.ZAPReply{StatusCode: sockets.ZAPOK, UserID: "alice@example.org"}
		}
		return sockets.ZAPReply{StatusCode: sockets.ZAPDenied}
	})

	pull, _ := sockets.NewOn(r, sockets.Pull, sockets.WithPlainServer(true, nil))
	defer pull.Close()
	events := pull.Monitor(16)
	ep, _ := pull.Bind("tcp://127.0.0.1:*")

	mallory, _ := sockets.NewOn(r, sockets.Push, sockets.WithPlainClient("mallory", "guess"))
	defer mallory.Close()
	_ = mallory.Connect(ep)
	for e := range events {
		if e.Type == sockets.EventHandshakeFailedAuth {
			fmt.Println("refused:", e.Type, e.Value)
			break
		}
	}

	alice, _ := sockets.NewOn(r, sockets.Push, sockets.WithPlainClient("alice", "secret"))
	defer alice.Close()
	_ = alice.Connect(ep)
	_ = alice.Send(ctx, []byte("hello"))
	m, _ := pull.RecvMsg(ctx)
	user, _ := m.Gets("User-Id")
	fmt.Printf("%s from %s\n", m.Frame(0), user)
	m.Release()
	// Output:
	// refused: HANDSHAKE_FAILED_AUTH 400
	// hello from alice@example.org
}

// A ZAP handler socket, as libzmq applications run one: a REP bound at inproc://zeromq.zap.01
// that reads rfc 27 requests and answers them. Here it admits NULL clients of the domain "public".
func Example_zapHandlerSocket() {
	ctx := context.Background()
	r, _ := reactor.New(reactor.Config{})
	defer r.Close()

	handler, _ := sockets.NewOn(r, sockets.Rep)
	_, _ = handler.Bind(sockets.ZAPEndpoint)
	served := make(chan struct{})
	go func() {
		defer close(served)
		frames, err := handler.Recv(ctx)
		if err != nil {
			return
		}
		req, _ := sockets.ParseZAPRequest(frames)
		fmt.Println("handler:", req.Mechanism, "client in domain", req.Domain, "from", req.Address)
		reply := sockets.ZAPReply{Version: sockets.ZAPVersion, RequestID: req.RequestID, StatusCode: sockets.ZAPDenied}
		if req.Domain == "public" {
			reply.StatusCode, reply.UserID = sockets.ZAPOK, "guest"
		}
		_ = handler.Send(ctx, reply.AppendFrames(nil)...)
	}()

	pull, _ := sockets.NewOn(r, sockets.Pull, sockets.WithZAPDomain("public"))
	defer pull.Close()
	ep, _ := pull.Bind("tcp://127.0.0.1:*")
	push, _ := sockets.NewOn(r, sockets.Push)
	defer push.Close()
	_ = push.Connect(ep)
	_ = push.Send(ctx, []byte("hi"))
	m, _ := pull.RecvMsg(ctx)
	user, _ := m.Gets("User-Id")
	fmt.Printf("%s from %s\n", m.Frame(0), user)
	m.Release()
	<-served
	_ = handler.Close()
	// Output:
	// handler: NULL client in domain public from 127.0.0.1
	// hi from guest
}

// What zmq_msg_gets answers: every message received over a connection carries the connection's
// properties (the peer's socket type, routing id and X- metadata, its address), shared by all
// its messages.
func ExampleSocket_RecvMsg_metadata() {
	ctx := context.Background()
	router, _ := sockets.New(sockets.Router)
	defer router.Close()
	ep, _ := router.Bind("tcp://127.0.0.1:*")

	dealer, _ := sockets.New(sockets.Dealer, sockets.WithRoutingID([]byte("worker-1")),
		sockets.WithMetadata("X-Version", "2.1"))
	defer dealer.Close()
	_ = dealer.Connect(ep)
	_ = dealer.Send(ctx, []byte("ready"))

	m, _ := router.RecvMsg(ctx)
	defer m.Release()
	for _, name := range []string{"Socket-Type", "Routing-Id", "X-Version", "Peer-Address", "User-Id"} {
		v, ok := m.Gets(name)
		fmt.Printf("%s: %q %v\n", name, v, ok)
	}
	// Output:
	// Socket-Type: "DEALER" true
	// Routing-Id: "worker-1" true
	// X-Version: "2.1" true
	// Peer-Address: "127.0.0.1" true
	// User-Id: "" false
}
