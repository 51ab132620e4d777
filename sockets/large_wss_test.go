package sockets

import (
	"testing"

	"github.com/zloop/zloop/reactor"
)

// A wss client masks its large bodies a chunk at a time before they are encrypted, also when a slow
// reader makes the connection hold one and encrypt the rest as the socket drains: every message
// arrives whole and in order.
func TestLargeInOrderWSSClient(t *testing.T) {
	r := newReactorWith(t, reactor.Config{Loops: 2})
	ctx := testCtx(t)
	// Small kernel buffers, so that the sender's connection comes to hold a body before the
	// kernels have taken every message.
	pull := newSocket(t, r, Pull, tlsServer(t), WithRcvHWM(2), WithRcvBuf(64<<10))
	ep, err := pull.Bind("wss://127.0.0.1:*/zmq")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, tlsClient(t), WithSndHWM(4), WithSndBuf(64<<10), WithLinger(0))
	connectTLS(t, push, ep)
	sendLargeInOrder(t, ctx, push, pull, 40)
}
