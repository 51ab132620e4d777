package sockets

import (
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
	"github.com/zloop/zloop/internal/procpeer"
	"github.com/zloop/zloop/reactor"
)

// Examples use the default reactor; close it like zmq_ctx_term before looking for leaks. A
// process the matrix of interop_matrix_test.go started as a zloop peer serves and exits
// instead of running the tests, and so does the echo server of large_rss_test.go.
func TestMain(m *testing.M) {
	procpeer.ServeChild(zloopPeer)
	serveLargeEcho()
	leaktest.Main(m, func() { _ = reactor.CloseDefault() })
}
