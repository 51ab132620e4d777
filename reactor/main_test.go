package reactor

import (
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, func() { _ = CloseDefault() }) }
