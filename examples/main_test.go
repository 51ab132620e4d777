package examples

import (
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
	"github.com/zloop/zloop/reactor"
)

// The examples use the default reactor; close it like zmq_ctx_term before looking for leaks.
func TestMain(m *testing.M) { leaktest.Main(m, func() { _ = reactor.CloseDefault() }) }
