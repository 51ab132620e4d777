package codec

import "encoding/binary"

// Frame flags and fixed sizes of ZMTP 3.x.
const (
	FlagMore    byte = 0x01 // more frames of this message follow
	FlagLong    byte = 0x02 // 8-byte size field; a wire detail, never in FrameHeader.Flags
	FlagCommand byte = 0x04 // command frame (never has FlagMore)

	GreetingSize     = 64  // bytes in a ZMTP 3.x greeting
	SignatureSize    = 10  // its signature: 0xFF, 8 bytes of padding, 0x7F
	GreetingHeadSize = 11  // its signature and major version: enough to tell a 1.0 or 2.0 peer
	MaxShortSize     = 255 // largest body a short (2-byte) header can describe
)

const (
	flagsReserved = ^(FlagMore | FlagLong | FlagCommand)
	shortHeader   = 2
	longHeader    = 9
	sizeInvalid   = uint64(1) << 63 // long sizes at or above this are never valid
)

// FrameHeader is a decoded frame header. Flags holds only FlagMore and
// FlagCommand; FlagLong is stripped because it only says how Size was encoded.
type FrameHeader struct {
	Flags byte
	Size  uint64
}

// More reports whether more frames of the same message follow.
func (h FrameHeader) More() bool { return h.Flags&FlagMore != 0 }

// Command reports whether the frame is a command frame.
func (h FrameHeader) Command() bool { return h.Flags&FlagCommand != 0 }

// ParseFrameHeader decodes the frame header at the front of b and returns it
// with its length n (2 or 9). The body is the h.Size bytes after b[:n]; it is
// not examined.
//
// It returns the bare ErrShort while b is a prefix of some valid header, and
// a *ProtocolError as soon as no continuation can be valid: reserved flag
// bits (ErrReservedFlags), MORE on a command frame (ErrMalformed), or a size
// over maxSize or at least 2^63 (ErrTooLarge). The size limit is checked on
// the header, even on a partial 8-byte size, so nothing is buffered or
// allocated for a frame that will be refused. maxSize applies to message and
// command frames alike; maxSize < 0 means no limit. A long header carrying a
// size below 256 is accepted: the spec only says senders SHOULD use the short
// form.
//
// Safe for concurrent use; allocates only when it returns a protocol error.
func ParseFrameHeader(b []byte, maxSize int64) (h FrameHeader, n int, err error) {
	if len(b) == 0 {
		return FrameHeader{}, 0, ErrShort
	}
	flags := b[0]
	if flags&flagsReserved != 0 {
		return FrameHeader{}, 0, protoErr(opFrame, ErrReservedFlags)
	}
	if flags&(FlagMore|FlagCommand) == FlagMore|FlagCommand {
		return FrameHeader{}, 0, protoErr(opFrame, errCommandMore)
	}
	h.Flags = flags &^ FlagLong
	if flags&FlagLong == 0 {
		if len(b) < shortHeader {
			return FrameHeader{}, 0, ErrShort
		}
		h.Size = uint64(b[1])
		if err := checkSize(h.Size, maxSize); err != nil {
			return FrameHeader{}, 0, err
		}
		return h, shortHeader, nil
	}
	if len(b) < longHeader {
		// The bytes present are the high-order bytes of the size, so filling
		// the rest with zeros gives the smallest size this header can still
		// become: if even that is refused, waiting for more bytes is pointless.
		var least uint64
		for i, c := range b[1:] {
			least |= uint64(c) << (56 - 8*i)
		}
		if err := checkSize(least, maxSize); err != nil {
			return FrameHeader{}, 0, err
		}
		return FrameHeader{}, 0, ErrShort
	}
	h.Size = binary.BigEndian.Uint64(b[1:longHeader])
	if err := checkSize(h.Size, maxSize); err != nil {
		return FrameHeader{}, 0, err
	}
	return h, longHeader, nil
}

func checkSize(size uint64, maxSize int64) error {
	if size >= sizeInvalid {
		return protoErr(opFrame, errHugeSize)
	}
	if maxSize >= 0 && size > uint64(maxSize) {
		return protoErr(opFrame, errOverLimit)
	}
	return nil
}

// FrameHeaderLen returns the length of the header AppendFrameHeader writes for
// a body of size bytes: 2 up to MaxShortSize, 9 above. A negative size counts
// as 0, as in AppendFrameHeader.
func FrameHeaderLen(size int) int {
	if size <= MaxShortSize {
		return shortHeader
	}
	return longHeader
}

// AppendFrameHeader appends the header of a frame with a body of size bytes,
// in the short form when size <= MaxShortSize and the long form otherwise.
// Only FlagMore and FlagCommand are taken from flags; FlagMore is dropped from
// a command frame because the spec forbids it there. A negative size is
// encoded as 0 (it cannot come from len, so it is a caller bug; writing a
// size >= 2^63 instead would poison the stream).
//
// It does not allocate when dst has 9 bytes of spare capacity. Use it with
// FrameHeaderLen to write a header in front of a body sent separately
// (writev), so the body is never copied.
func AppendFrameHeader(dst []byte, flags byte, size int) []byte {
	flags &= FlagMore | FlagCommand
	if flags&FlagCommand != 0 {
		flags &^= FlagMore
	}
	if size < 0 {
		size = 0
	}
	if size <= MaxShortSize {
		return append(dst, flags, byte(size))
	}
	return binary.BigEndian.AppendUint64(append(dst, flags|FlagLong), uint64(size))
}

// AppendFrame appends a whole frame (header and body) with the given flags,
// as AppendFrameHeader does. It does not allocate when dst has room for
// FrameHeaderLen(len(body))+len(body) more bytes.
func AppendFrame(dst []byte, flags byte, body []byte) []byte {
	return append(AppendFrameHeader(dst, flags, len(body)), body...)
}
