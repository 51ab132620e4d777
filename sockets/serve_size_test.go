package sockets

import (
	"testing"
	"unsafe"
)

// A Server keeps a servePeer per connection: it stays in the 96-byte size class (the index in
// Server.named sits in anonymous's padding), as a Serve endpoint's idle connections are counted.
func TestServePeerSize(t *testing.T) {
	if n := unsafe.Sizeof(servePeer{}); n > 96 {
		t.Fatalf("servePeer is %d bytes, past the 96-byte size class", n)
	}
}
