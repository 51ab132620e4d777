package testpeer

import (
	"encoding/binary"
	"fmt"
)

// Sequence messages are what SendSeq sends and RecvCheck expects: single frames of a
// fixed size whose first 8 bytes (fewer if the size is smaller) are the little-endian
// sequence number 0, 1, 2, ... Bytes 8 and on carry a fixed pattern, (j*31+7) mod 251 at
// offset j, that RecvCheckPattern and CheckSeqPattern also verify. The prime period keeps
// a shifted or duplicated chunk of a large body from matching by accident.

func fill(j int) byte { return byte((j*31 + 7) % 251) }

// SeqPayload appends to dst the body of sequence message seq of the given size, exactly
// as the peer's SendSeq builds it, and returns the extended slice.
func SeqPayload(dst []byte, seq uint64, size int) []byte {
	var head [8]byte
	binary.LittleEndian.PutUint64(head[:], seq)
	dst = append(dst, head[:min(max(size, 0), 8)]...)
	for j := 8; j < size; j++ {
		dst = append(dst, fill(j))
	}
	return dst
}

// CheckSeq reports whether b is size bytes long and starts with sequence number seq: the
// check RecvCheck makes. The error wraps ErrSeq.
func CheckSeq(b []byte, seq uint64, size int) error {
	if len(b) != size {
		return fmt.Errorf("%w: message %d is %d bytes, want %d", ErrSeq, seq, len(b), size)
	}
	var want [8]byte
	binary.LittleEndian.PutUint64(want[:], seq)
	n := min(size, 8)
	if string(b[:n]) != string(want[:n]) {
		var got [8]byte
		copy(got[:], b[:n])
		return fmt.Errorf("%w: message %d carries sequence %d", ErrSeq, seq, binary.LittleEndian.Uint64(got[:]))
	}
	return nil
}

// CheckSeqPattern is CheckSeq plus the fill pattern of bytes 8 and on.
func CheckSeqPattern(b []byte, seq uint64, size int) error {
	if err := CheckSeq(b, seq, size); err != nil {
		return err
	}
	for j := 8; j < size; j++ {
		if b[j] != fill(j) {
			return fmt.Errorf("%w: message %d: body differs at byte %d", ErrSeq, seq, j)
		}
	}
	return nil
}
