//go:build !linux && !darwin && !freebsd

package reactor

// Elsewhere a large body the kernel refuses is copied into gnet's buffer, which gnet flushes on its
// own: without a writability notice (outwatch.go) the loop would learn of room only at its
// poll, far too late to keep the kernel fed.
const refWrites = false

type outWatcher struct{}

func (r *Reactor) outWatch() *outWatcher { return nil }
func (*outWatcher) arm(*conn) bool       { return false }
func (*outWatcher) forget(*conn)         {}
func (*outWatcher) close()               {}

func writevFD(int, []byte, []byte) (int, error) { panic("zmq: reactor: writevFD without refWrites") }
