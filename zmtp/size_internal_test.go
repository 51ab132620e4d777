package zmtp

import (
	"testing"
	"unsafe"
)

// A Session per peer: held to the 576-byte size class (with the 8-byte header Go gives an object
// over 512 bytes with pointers), see reactor's TestPerConnectionSizes.
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(Session{}) + 8; n > 576 {
		t.Errorf("Session takes %d bytes with its header, past the 576-byte size class", n)
	}
}
