package swarm

import (
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
)

// leaktest knows the background goroutines gnet keeps for the process (the end-to-end test runs a
// zloop server here).
func TestMain(m *testing.M) { leaktest.Main(m, nil) }
