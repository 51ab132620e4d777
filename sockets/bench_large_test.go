package sockets

import (
	"fmt"
	"testing"

	"github.com/zloop/zloop/reactor"
)

// BenchmarkLarge measures PUSH to PULL of large messages over each stream transport: msg/s, and
// bytes and allocations per message, sender and receiver together. The issue it answers: a large
// body should cost no allocation in the steady state (size-classed pools, the body received into
// its final buffer, a partly written body kept by reference rather than copied into gnet).
func BenchmarkLarge(b *testing.B) {
	for _, tr := range []struct{ name, ep string }{
		{"tcp", "tcp://127.0.0.1:*"},
		{"ipc", "ipc://*"},
		{"ws", "ws://127.0.0.1:*/zmq"},
	} {
		for _, size := range []int{1 << 20, 16 << 20} {
			b.Run(fmt.Sprintf("%s/%dMiB", tr.name, size>>20), func(b *testing.B) {
				benchPushPullOn(b, newReactorWith(b, reactor.Config{Loops: 2}), tr.ep, size)
			})
		}
	}
}
