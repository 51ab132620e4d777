package reactor

import (
	"testing"
	"unsafe"
)

// A server with many idle peers is mostly its conns and pipes (issue 11: at most 3 KB each). Go
// rounds an allocation up to its size class, and an object over 512 bytes with pointers carries an
// 8-byte header: conn is held to the 576-byte class and Pipe to the 256-byte one, so that a field
// added without care shows here rather than as 64 bytes more per connection in the swarm run.
func TestPerConnectionSizes(t *testing.T) {
	const header = 8
	if n := unsafe.Sizeof(conn{}) + header; n > 576 {
		t.Errorf("conn takes %d bytes with its header, past the 576-byte size class", n)
	}
	if n := unsafe.Sizeof(Pipe{}); n > 256 {
		t.Errorf("Pipe takes %d bytes, past the 256-byte size class", n)
	}
}

// A publisher reads every pipe's fanFull for every message (FanOut) while the loops lock mu and
// change the queues as they drain: fanFull stays in the first cache line, mu out of it.
func TestPipeFanFullOwnCacheLine(t *testing.T) {
	var p Pipe
	if off := unsafe.Offsetof(p.fanFull); off+unsafe.Sizeof(p.fanFull) > 64 {
		t.Errorf("fanFull at offset %d: past the first cache line", off)
	}
	if off := unsafe.Offsetof(p.mu); off < 64 {
		t.Errorf("mu at offset %d: shares fanFull's cache line", off)
	}
}
