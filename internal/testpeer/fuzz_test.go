package testpeer

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzCheckSeq: the checkers never panic, and a body CheckSeqPattern accepts is exactly
// the one SeqPayload builds (so the pattern check is as strict as it claims).
func FuzzCheckSeq(f *testing.F) {
	for _, size := range []int{0, 5, 8, 9, 40} {
		for _, seq := range []uint64{0, 7, 1 << 33} {
			f.Add(SeqPayload(nil, seq, size), seq, size)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, seq uint64, size int) {
		if size > 1<<16 {
			size %= 1 << 16 // keep SeqPayload cheap; the checks do not depend on scale
		}
		err := CheckSeq(b, seq, size)
		if err != nil && !errors.Is(err, ErrSeq) {
			t.Fatalf("CheckSeq error %v does not wrap ErrSeq", err)
		}
		if err == nil && len(b) != size {
			t.Fatalf("CheckSeq accepted %d bytes for size %d", len(b), size)
		}
		if CheckSeqPattern(b, seq, size) == nil {
			if err != nil {
				t.Fatal("CheckSeqPattern accepted what CheckSeq rejected")
			}
			if want := SeqPayload(nil, seq, size); !bytes.Equal(b, want) {
				t.Fatalf("accepted %x, SeqPayload makes %x", b, want)
			}
		}
	})
}
