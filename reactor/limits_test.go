package reactor

import (
	"errors"
	"testing"

	"github.com/zloop/zloop/ws"
	"github.com/zloop/zloop/zmtp"
)

// MaxMsgSize 0 is no limit (zmtp.Config), over ws:// as over tcp://: the WebSocket decoder, whose 0
// would allow only empty frames, must not see it as a limit, or not even READY gets through.
// A set limit disconnects a peer whose message exceeds it, on both transports.
func TestMaxMsgSize(t *testing.T) {
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr+"/unlimited", func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			bopts, copts := testOptions("PULL"), testOptions("PUSH")
			bopts.Session.MaxMsgSize, copts.Session.MaxMsgSize = 0, 0
			k := pair(t, r, tr, bopts, copts)
			send(t, k.co, k.cp, seqMsg(1, 100000))
			if err := checkSeq(recv(t, k.bo, k.bp)[0], 1, 100000); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(tr+"/limit", func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			bopts, copts := testOptions("PULL"), testOptions("PUSH")
			bopts.Session.MaxMsgSize = 1000
			k := pair(t, r, tr, bopts, copts)
			send(t, k.co, k.cp, make([]byte, 1000))
			if m := recv(t, k.bo, k.bp); len(m[0]) != 1000 {
				t.Fatalf("got %d bytes", len(m[0]))
			}
			send(t, k.co, k.cp, make([]byte, 1001))
			e := k.bo.waitEvent(t, EventDisconnected)
			if !errors.Is(e.Err, zmtp.ErrTooLarge) && !errors.Is(e.Err, ws.ErrTooLarge) {
				t.Fatalf("disconnected with %v, want a message too large", e.Err)
			}
			if d := k.bo.waitDetached(t); !d.final || d.p != k.bp {
				t.Fatal("the accepted pipe did not end with its connection")
			}
		})
	}
}
