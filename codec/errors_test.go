package codec

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorTexts(t *testing.T) {
	sentinels := []error{ErrShort, ErrNotZMTP, ErrVersion, ErrReservedFlags, ErrTooLarge, ErrMalformed}
	for _, e := range sentinels {
		if !strings.HasPrefix(e.Error(), "zmq: ") || strings.Count(e.Error(), "zmq: ") != 1 {
			t.Errorf("sentinel %q: want exactly one leading \"zmq: \"", e)
		}
	}
	errs := []error{
		protoErr(opFrame, ErrTooLarge),
		protoErr(opFrame, errCommandMore),
		protoErr(opMetadata, errPropValueShort),
		&ProtocolError{Op: "frame"},
		&VersionError{Major: 2},
	}
	for _, e := range errs {
		s := e.Error()
		if !strings.HasPrefix(s, "zmq: ") || strings.Count(s, "zmq: ") != 1 {
			t.Errorf("%q: want exactly one leading \"zmq: \"", s)
		}
	}
	if got := protoErr(opFrame, errCommandMore).Error(); got != "zmq: protocol error in frame: malformed input: MORE flag on a command frame" {
		t.Errorf("text = %q", got)
	}
	if !strings.Contains((&VersionError{Major: 2}).Error(), "2.0") {
		t.Errorf("VersionError text lacks the version: %q", (&VersionError{Major: 2}).Error())
	}
}

func TestErrorWrapping(t *testing.T) {
	err := protoErr(opFrame, errOverLimit)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatal("ErrTooLarge not found through ProtocolError")
	}
	if errors.Is(err, ErrMalformed) || errors.Is(err, ErrShort) {
		t.Fatal("wrong sentinel matched")
	}
	var ve *VersionError
	verr := error(&VersionError{Major: 1})
	if !errors.As(verr, &ve) || ve.Major != 1 || !errors.Is(verr, ErrVersion) || errors.Is(verr, ErrNotZMTP) {
		t.Fatalf("VersionError wrapping broken: %v", verr)
	}
}
