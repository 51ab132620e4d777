package codec

import (
	"errors"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wantProto fails unless err is a *ProtocolError for op wrapping target.
func wantProto(t *testing.T, err error, op string, target error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *ProtocolError", err, err)
	}
	if pe.Op != op {
		t.Fatalf("Op = %q, want %q (err %v)", pe.Op, op, err)
	}
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want errors.Is %v", err, target)
	}
	if errors.Is(err, ErrShort) {
		t.Fatalf("protocol error %v also matches ErrShort", err)
	}
}

// wantShort fails unless err is exactly the bare ErrShort sentinel.
func wantShort(t *testing.T, err error) {
	t.Helper()
	if err != ErrShort {
		t.Fatalf("err = %v, want bare ErrShort", err)
	}
}
