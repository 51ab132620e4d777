package reactor

import (
	"context"
	"sync"
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
