package pool_test

import (
	"fmt"

	"github.com/zloop/zloop/pool"
)

func Example() {
	m := pool.NewMsg()
	defer m.Release() // the owner gives it back; views below die with it

	m.AppendFrame([]byte("topic")) // send side: whole frames, copied in
	m.AddFrame(11)                 // receive side: a frame arriving in pieces
	m.Extend([]byte("hello "))
	m.Extend([]byte("world"))

	fmt.Println(m.Len(), "frames,", m.Size(), "bytes")
	for i, f := range m.Frames(nil) {
		fmt.Printf("%d: %s\n", i, f)
	}
	kept := m.Copy() // survives Release
	fmt.Printf("%q\n", kept)
	// Output:
	// 2 frames, 16 bytes
	// 0: topic
	// 1: hello world
	// ["topic" "hello world"]
}

func ExampleGetBuffer() {
	b := pool.GetBuffer(5)
	copy(b.B, "hello")
	fmt.Println(string(b.B))
	b.Release()
	// Output: hello
}

// A ROUTER-style envelope: the routing id goes in front of a received body and comes off again for
// the reply, without the body being copied.
func ExampleMsg_PushFront() {
	m := pool.NewMsg()
	defer m.Release()
	m.ReserveFront(16) // room for the id, set aside before the body arrives
	m.AppendFrame([]byte("request"))

	m.PushFront([]byte{0, 0, 0, 0, 42})
	fmt.Printf("%d frames: %x %s\n", m.Len(), m.Frame(0), m.Frame(1))

	id := m.PopFront() // a view, valid until m changes
	fmt.Printf("to %x: %d frame\n", id, m.Len())
	// Output:
	// 2 frames: 000000002a request
	// to 000000002a: 1 frame
}

// One body, several owners: each share is released on its own, and changing one copies it first.
func ExampleMsg_Share() {
	m := pool.NewMsg()
	m.AppendFrame([]byte("tick"))
	a, b := m.Share(), m.Share()
	m.Release() // a and b still read the body

	b.AppendFrame([]byte("extra")) // b gets a private copy; a is unchanged
	fmt.Println(a.Len(), string(a.Frame(0)), "|", b.Len(), string(b.Frame(1)))
	a.Release()
	b.Release()
	// Output:
	// 1 tick | 2 extra
}
