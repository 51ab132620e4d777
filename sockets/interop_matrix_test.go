package sockets

// The process-level interop matrix: every compatible pair of rfc 28-31 with each peer a
// separate process that sends (or receives), closes with the default linger, terminates its
// context and exits at once, the way command-line tools and batch jobs use ZeroMQ; every
// message must arrive, exactly once, in order. zloop against libzmq 4.3, zloop on either
// side, and zloop against zloop; either side binding; over tcp, ipc and ws; 1000 small
// single-frame messages (300 round trips for request-reply) then multipart ones with empty
// and large frames. internal/procpeer documents the peers' contract and the sync steps.

import (
	"runtime"
	"testing"

	"github.com/zloop/zloop/internal/procpeer"
	"github.com/zloop/zloop/reactor"
)

// zloopPeer is this package as a procpeer peer: the public API on the default reactor.
var zloopPeer = procpeer.Lib{
	New: func(spec procpeer.Spec) (procpeer.Socket, error) {
		typ := Type(-1)
		for t := Pair; t <= Stream; t++ {
			if t.String() == spec.Type {
				typ = t
			}
		}
		var opts []Option
		if spec.RoutingID != "" {
			opts = append(opts, WithRoutingID([]byte(spec.RoutingID)))
		}
		if spec.To != "" {
			opts = append(opts, WithRouterMandatory(true))
		}
		if spec.UnlimitedHWM {
			opts = append(opts, WithHWM(0))
		}
		s, err := New(typ, opts...)
		if err != nil {
			return nil, err
		}
		return s, nil
	},
	Unroutable: ErrHostUnreachable,
	Term:       reactor.CloseDefault,
}

// matrixParallel is how many cases run at once: a case mostly waits for its processes.
func matrixParallel() int { return 3 * runtime.GOMAXPROCS(0) }

// Both sub-matrices share one bound on parallel cases. Without python3 and pyzmq the libzmq
// cases skip, or fail when CI=true.
func TestProcessMatrix(t *testing.T) {
	z, l := procpeer.Zloop, procpeer.Libzmq
	procpeer.RunAll(t, matrixParallel(),
		procpeer.Group{Name: "libzmq", Cases: procpeer.Cases([2]procpeer.Impl{z, l}, [2]procpeer.Impl{l, z})},
		procpeer.Group{Name: "zloop", Cases: procpeer.Cases([2]procpeer.Impl{z, z})})
}
