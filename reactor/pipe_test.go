package reactor

import (
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/zmtp"
)

// sendingOwner is a socket that sends on a pipe as soon as it learns the connection ended, like a
// sender that got in just before the socket heard of the end.
type sendingOwner struct {
	took []bool
}

func (o *sendingOwner) PipeAttached(*Pipe) {}
func (o *sendingOwner) PipeDetached(p *Pipe, final bool) {
	m := newTestMsg(99)
	ok := p.TrySend(m)
	if !ok {
		m.Release()
	}
	o.took = append(o.took, ok)
}
func (o *sendingOwner) PipeReadable(*Pipe)               {}
func (o *sendingOwner) PipeWritable(*Pipe)               {}
func (o *sendingOwner) PipeCommand(*Pipe, codec.Command) {}
func (o *sendingOwner) Event(Event)                      {}

// released reports whether m went back to the pool (using it then panics).
func released(m *pool.Msg) (gone bool) {
	defer func() { gone = recover() != nil }()
	m.Len()
	return false
}

// testConn is a connection that never touches the network: its loop only records what is posted.
func testConn() *conn {
	w := &waker{fd: noWakeEnd, pending: true} // pending: post queues the task without writing a byte
	c := &conn{loop: &loop{w: w}}
	c.framer = zmtpFramer{c}
	return c
}

// With IMMEDIATE, a dialed pipe's queue ends with its connection, including the hand the loop was
// encoding when the connection broke in the middle of a write; a message sent before the socket
// hears of the end is refused; and the next connection gets only what is sent to it, from the
// loop that had the hand once that loop lets go of it.
func TestImmediatePipeDropsQueueWithConnection(t *testing.T) {
	o := &sendingOwner{}
	p := newPipe(nil, o, &Options{Immediate: true}, true)
	c1 := testConn()
	if !p.attach(c1, &zmtp.Peer{}) {
		t.Fatal("attach refused")
	}
	var sent []*pool.Msg
	for i := 0; i < 5; i++ {
		m := newTestMsg(i)
		if !p.TrySend(m) {
			t.Fatalf("send %d refused", i)
		}
		sent = append(sent, m)
	}
	hand := p.takeOut(3) // the loop of c1 is encoding these three when c1 breaks
	if len(hand) != 3 {
		t.Fatalf("hand of %d", len(hand))
	}
	p.detachConn(c1)
	if len(o.took) != 1 || o.took[0] {
		t.Fatalf("a send after the connection ended was taken: %v", o.took)
	}
	for i := 3; i < 5; i++ {
		if !released(sent[i]) {
			t.Errorf("message %d, queued for the old connection, was kept", i)
		}
	}

	// A new connection, made before the old loop is done with its hand.
	c2 := testConn()
	if !p.attach(c2, &zmtp.Peer{}) {
		t.Fatal("reattach refused")
	}
	fresh := newTestMsg(7)
	if !p.TrySend(fresh) {
		t.Fatal("send on the new connection refused")
	}
	if h := p.takeOut(handMax); len(h) != 0 {
		t.Fatalf("the new connection's loop took %d messages of a hand another loop holds", len(h))
	}
	// The old loop wrote one message of its hand, then saw its connection closed.
	hand[0].Release()
	hand[0] = nil
	p.encoded(1)
	for i := 1; i < 3; i++ {
		if !released(sent[i]) {
			t.Errorf("message %d, in the old loop's hand, was kept", i)
		}
	}
	if n := p.OutLen(); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
	if tasks := c2.loop.w.tasks; len(tasks) != 1 || tasks[0].c != c2 || tasks[0].kind != taskDrain {
		t.Fatalf("the new connection's drain was not scheduled: %v", tasks)
	}
	h := p.takeOut(handMax)
	if len(h) != 1 || h[0] != fresh {
		t.Fatalf("the new connection got %d messages, want only the one sent to it", len(h))
	}
	h[0].Release()
	h[0] = nil
	p.encoded(1)
}
