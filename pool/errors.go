package pool

import (
	"errors"
	"fmt"
)

var (
	// ErrDoubleRelease is wrapped by the panic value of Release on a Msg or Buffer that
	// was already released. It is a bug in the caller: two owners for one value.
	ErrDoubleRelease = errors.New("zmq: pool: released twice")

	// ErrUseAfterRelease is wrapped by the panic value of a method called on a Msg after
	// its Release.
	ErrUseAfterRelease = errors.New("zmq: pool: used after release")

	// ErrNotPooled is wrapped by the panic value of a method called on a Msg or Buffer
	// that did not come from NewMsg or GetBuffer (a zero value or a copy of a struct).
	ErrNotPooled = errors.New("zmq: pool: value not obtained from NewMsg or GetBuffer")
)

// MisuseError is the panic value for a violation of the lifetime policy. It names the
// type and method involved; errors.Is matches its sentinel.
type MisuseError struct {
	Type string // "Msg" or "Buffer"
	Op   string // the method that was called
	Err  error  // ErrDoubleRelease, ErrUseAfterRelease or ErrNotPooled
}

func (e *MisuseError) Error() string {
	return fmt.Sprintf("%v (%s.%s)", e.Err, e.Type, e.Op)
}

// Unwrap returns the sentinel error.
func (e *MisuseError) Unwrap() error { return e.Err }
