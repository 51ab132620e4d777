package pool_test

import (
	"fmt"
	"testing"

	"github.com/zloop/zloop/pool"
)

// Get: exact names first, then regardless of case; the first of a name wins; "Identity" falls back
// to Routing-Id, as libzmq's metadata_t::get; nil has nothing; no allocation.
func TestMetadataGet(t *testing.T) {
	md := pool.NewMetadata("Peer-Address", "10.0.0.1", "User-Id", "zap", "user-id", "peer's claim", "Routing-Id", "r1", "X-A", "1", "odd")
	for name, want := range map[string]string{"Peer-Address": "10.0.0.1", "User-Id": "zap", "user-id": "zap",
		"USER-ID": "zap", "Routing-Id": "r1", "Identity": "r1", "x-a": "1"} {
		if v, ok := md.Get(name); !ok || v != want {
			t.Errorf("%s = %q, %v; want %q", name, v, ok, want)
		}
	}
	if v, ok := md.Get("odd"); ok {
		t.Errorf("a name without value: %q", v)
	}
	if md.Len() != 4 {
		t.Errorf("%d properties, want 4", md.Len())
	}
	own := pool.NewMetadata("Identity", "own", "Routing-Id", "r")
	if v, _ := own.Get("Identity"); v != "own" {
		t.Errorf("Identity the peer sent: %q", v)
	}
	var none *pool.Metadata
	if _, ok := none.Get("User-Id"); ok || none.Len() != 0 {
		t.Error("nil metadata answers")
	}
	if w := md.With("X-B", "2").With("x-a", "ignored"); w.Len() != 5 || md.Len() != 4 {
		t.Errorf("With: %d, original %d", w.Len(), md.Len())
	}
	m := pool.NewMsg()
	m.SetMetadata(md)
	if allocs := testing.AllocsPerRun(100, func() { _, _ = m.Gets("user-id"); _, _ = m.Gets("Identity") }); allocs != 0 {
		t.Errorf("%.0f allocations per Gets", allocs)
	}
	c := m.Share()
	if c.Metadata() != md {
		t.Error("a shared message lost its metadata")
	}
	c.Release()
	m.Release()
	if n := pool.NewMsg(); n.Metadata() != nil {
		t.Error("a recycled message kept metadata")
	} else {
		n.Release()
	}
}

func ExampleMsg_Gets() {
	// The reactor builds one Metadata per connection when its handshake ends.
	md := pool.NewMetadata("Peer-Address", "192.0.2.7", "Socket-Type", "DEALER", "User-Id", "alice")
	m := pool.NewMsg()
	defer m.Release()
	m.AppendFrame([]byte("payload"))
	m.SetMetadata(md) // a pointer: every message of the connection shares md
	for _, name := range []string{"User-Id", "socket-type", "X-Missing"} {
		v, ok := m.Gets(name)
		fmt.Printf("%s=%q %v\n", name, v, ok)
	}
	// Output:
	// User-Id="alice" true
	// socket-type="DEALER" true
	// X-Missing="" false
}
