package reactor

import "sync"

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

// CloseDefault closes the default reactor if it was started (like zmq_ctx_term on the global
// context); the next Default starts a new one. Close every socket on it first.
func CloseDefault() error {
	defaultMu.Lock()
	r := defaultR
	defaultR = nil
	defaultMu.Unlock()
	if r == nil {
		return nil
	}
	return r.Close()
}
