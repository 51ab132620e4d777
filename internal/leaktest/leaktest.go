// Package leaktest holds the goleak settings shared by every package's TestMain.
package leaktest

import (
	"fmt"
	"os"
	"testing"

	"github.com/zloop/zloop/internal/background"

	"go.uber.org/goleak"
)

// Options are the goleak options for code built on the reactor: exactly the goroutines that
// reactor.BackgroundGoroutines names (internal/background) (gnet's worker pool lives for the whole process).
func Options() []goleak.Option {
	var opts []goleak.Option
	for _, f := range background.Goroutines {
		opts = append(opts, goleak.IgnoreAnyFunction(f))
	}
	return opts
}

// Main runs the tests, then cleanup (for example closing the default reactor), then fails the run
// if any goroutine leaked.
func Main(m *testing.M, cleanup func()) {
	code := m.Run()
	if cleanup != nil {
		cleanup()
	}
	if code == 0 {
		if err := goleak.Find(Options()...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
