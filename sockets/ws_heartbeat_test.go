package sockets

import (
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
)

// Heartbeats over ws:// against libzmq, both sides on, zloop connecting: neither drops the other
// during many heartbeat intervals.
func TestWSInteropHeartbeats(t *testing.T) {
	if err := testpeer.Available(); err != nil && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	r := newReactor(t)
	ctx := testCtx(t)
	l := testpeer.Start(t, "PULL")
	l.SetInt("HEARTBEAT_IVL", 25)
	l.SetInt("HEARTBEAT_TIMEOUT", 1000)
	l.SetInt("HEARTBEAT_TTL", 1000)
	ep := l.Bind("ws://127.0.0.1:*/hb")
	push := newSocket(t, r, Push, WithHeartbeat(25*time.Millisecond, time.Second, time.Second))
	events := push.Monitor(64)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	heartbeatsHold(t, ctx, events, push, l)
}
