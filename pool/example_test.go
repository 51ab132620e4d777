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
