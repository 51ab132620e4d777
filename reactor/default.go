package reactor

import (
	"context"
	"slices"
	"sync"

	"github.com/zloop/zloop/internal/background"
)

var (
	defaultMu sync.Mutex
	defaultR  *Reactor
)

// Default returns the process-wide reactor, started on first use with the default number of loops. Sockets
// created without a reactor live on it.
func Default() (*Reactor, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultR == nil {
		r, err := New(Config{})
		if err != nil {
			return nil, err
		}
		defaultR = r
	}
	return defaultR, nil
}

// CloseDefault shuts the default reactor down if it was started, like zmq_ctx_term on the global
// context: see Reactor.Shutdown (sockets still open on it are terminated, what closed sockets
// queued is delivered within their LINGER). The next Default starts a new one. Any goroutine.
func CloseDefault() error { return ShutdownDefault(context.Background()) }

// ShutdownDefault is CloseDefault bounded by ctx, like Reactor.Shutdown.
func ShutdownDefault(ctx context.Context) error {
	defaultMu.Lock()
	r := defaultR
	defaultR = nil
	defaultMu.Unlock()
	if r == nil {
		return nil
	}
	return r.Shutdown(ctx)
}

// BackgroundGoroutines returns the functions of the goroutines that outlive every reactor, for a
// leak checker's ignore list: gnet's worker pool (ants) starts its housekeeping goroutines when the
// package is initialised and keeps them, and its workers, for the life of the process; zloop
// cannot stop them without breaking gnet for the rest of the process. After Reactor.Shutdown no
// other goroutine of zloop's remains. With go.uber.org/goleak:
//
//	var opts []goleak.Option
//	for _, f := range reactor.BackgroundGoroutines() {
//		opts = append(opts, goleak.IgnoreAnyFunction(f))
//	}
//	goleak.VerifyNone(t, opts...)
func BackgroundGoroutines() []string { return slices.Clone(background.Goroutines) }
