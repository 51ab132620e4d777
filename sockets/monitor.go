package sockets

import (
	"sync"

	"github.com/zloop/zloop/reactor"
)

// monitor is the event channel of a Socket or a Server (Socket.Monitor, Server.Monitor). Events
// come from the loops and never wait for room; it has a lock of its own, so that reporting an
// event never waits for the socket's lock, which a busy sender holds.
type monitor struct {
	mu   sync.Mutex
	ch   chan reactor.Event // nil: nobody monitors
	done bool               // stopped for good: start returns a closed channel
}

// start replaces the channel with a new one of capacity size (the old one is stopped).
func (m *monitor) start(size int) <-chan reactor.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopLocked()
	ch := make(chan reactor.Event, size)
	if m.done {
		close(ch)
		return ch
	}
	m.ch = ch
	return ch
}

// event passes e on, or drops it when the channel is full or there is none.
func (m *monitor) event(e reactor.Event) {
	m.mu.Lock()
	if m.ch != nil {
		select {
		case m.ch <- e:
		default:
		}
	}
	m.mu.Unlock()
}

// active reports whether somebody monitors.
func (m *monitor) active() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ch != nil
}

// stop sends EventMonitorStopped (if there is room) and closes the channel, for good: every later
// start returns a closed channel. (A start replacing a channel stops the old one with stopLocked.)
func (m *monitor) stop() {
	m.mu.Lock()
	m.done = true
	m.stopLocked()
	m.mu.Unlock()
}

func (m *monitor) stopLocked() {
	if m.ch == nil {
		return
	}
	select {
	case m.ch <- reactor.Event{Type: reactor.EventMonitorStopped}:
	default:
	}
	close(m.ch)
	m.ch = nil
}
