package sockets_test

import (
	"context"
	"fmt"

	"github.com/zloop/zloop/sockets"
)

// CURVE keys as libzmq's zmq_curve_keypair and zmq_curve_public give them: 40 characters of Z85
// text, the public key derived from the secret one.
func ExampleCurveKeypair() {
	public, secret, err := sockets.CurveKeypair()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(public.String()), len(secret.String()), sockets.CurvePublic(secret) == public)
	k, err := sockets.ParseCurveKey(public.String())
	fmt.Println(k == public, err)
	_, err = sockets.ParseCurveKey("too short")
	fmt.Println(err != nil)
	// Output:
	// 40 40 true
	// true <nil>
	// true
}

// PUSH to PULL with CURVE: the PULL is the server with its key pair, the PUSH a client that knows
// the server's public key. Everything after the handshake travels encrypted.
func Example_curvePushPull() {
	ctx := context.Background()
	serverPublic, serverSecret, _ := sockets.CurveKeypair()
	_, clientSecret, _ := sockets.CurveKeypair()

	pull, _ := sockets.New(sockets.Pull,
		sockets.WithCurveServer(true), sockets.WithCurveSecretKey(serverSecret.String()))
	defer pull.Close()
	ep, _ := pull.Bind("tcp://127.0.0.1:*")

	push, _ := sockets.New(sockets.Push,
		sockets.WithCurveServerKey(serverPublic.String()), sockets.WithCurveSecretKey(clientSecret.String()))
	defer push.Close()
	_ = push.Connect(ep)

	_ = push.Send(ctx, []byte("secret"), []byte("plans"))
	msg, _ := pull.Recv(ctx)
	fmt.Printf("%s %s\n", msg[0], msg[1])
	// Output: secret plans
}
