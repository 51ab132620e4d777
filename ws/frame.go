package ws

import (
	"crypto/subtle"
	"encoding/binary"
	"slices"

	gws "github.com/gobwas/ws"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	OpContinuation byte = 0
	OpText         byte = 1
	OpBinary       byte = 2
	OpClose        byte = 8
	OpPing         byte = 9
	OpPong         byte = 10
)

// ZWS 2.0 subprotocols. ProtoBare is the legacy name libzmq accepts for the NULL
// mechanism; with it libzmq skips the security handshake entirely (see the package doc).
const (
	ProtoNull  = "ZWS2.0/NULL"
	ProtoPlain = "ZWS2.0/PLAIN"
	ProtoCurve = "ZWS2.0/CURVE"
	ProtoBare  = "ZWS2.0"
)

// ZWS flag bits carried in the first payload byte of every data message. COMMAND is
// 0x02 here, not 0x04 as in ZMTP over TCP (codec.FlagCommand), and there is no LONG
// bit: the WebSocket length carries the size.
const (
	FlagMore    byte = 0x01
	FlagCommand byte = 0x02

	reservedFlags = ^(FlagMore | FlagCommand)
)

// Close status codes (RFC 6455 section 7.4.1) a ZWS endpoint needs.
const (
	CloseNormal        uint16 = 1000
	CloseGoingAway     uint16 = 1001
	CloseProtocolError uint16 = 1002
	CloseUnsupported   uint16 = 1003 // e.g. a text message
	CloseTooBig        uint16 = 1009
)

// MaxControlPayload is the largest payload of a control frame (RFC 6455 section 5.5).
const MaxControlPayload = 125

const (
	finBit  = 0x80
	rsvBits = 0x70
	opMask  = 0x0F
	maskBit = 0x80
)

// Header is a WebSocket frame header. Len is the payload length; Mask is meaningful
// only when Masked is set.
type Header struct {
	Fin    bool
	Op     byte
	Masked bool
	Mask   [4]byte
	Len    uint64
}

// ParseHeader parses the frame header at the start of b and returns it with its
// length n in bytes. It returns ErrShort while b is a valid but incomplete header, and
// a *ProtocolError for RSV bits, a reserved opcode, a fragmented control frame, a
// control frame longer than 125 bytes, or a length of 2^63 or more. When maxLen >= 0,
// a data frame (continuation, text or binary) whose payload is longer than maxLen is
// rejected with an error matching ErrTooLarge before any payload is read. Lengths that
// are not minimally encoded are accepted, as most implementations do.
//
// Checks run in wire order, so a prefix of b either gives ErrShort or the same error
// as b. ParseHeader does not allocate unless it fails. Any goroutine may call it.
func ParseHeader(b []byte, maxLen int64) (Header, int, error) {
	var h Header
	if len(b) < 1 {
		return h, 0, ErrShort
	}
	b0 := b[0]
	if b0&rsvBits != 0 {
		return h, 0, protoErr(opHeader, errRSV)
	}
	h.Fin = b0&finBit != 0
	h.Op = b0 & opMask
	switch h.Op {
	case OpContinuation, OpText, OpBinary:
	case OpClose, OpPing, OpPong:
		if !h.Fin {
			return h, 0, protoErr(opHeader, errCtrlFrag)
		}
	default:
		return h, 0, protoErr(opHeader, errOpcode)
	}
	if len(b) < 2 {
		return h, 0, ErrShort
	}
	b1 := b[1]
	h.Masked = b1&maskBit != 0
	n := 2
	switch l7 := b1 &^ maskBit; l7 {
	case 126:
		if len(b) < 4 {
			return h, 0, ErrShort
		}
		h.Len = uint64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, ErrShort
		}
		h.Len = binary.BigEndian.Uint64(b[2:])
		if h.Len>>63 != 0 {
			return h, 0, protoErr(opHeader, errHuge)
		}
		n = 10
	default:
		h.Len = uint64(l7)
	}
	if h.Op >= OpClose {
		if h.Len > MaxControlPayload {
			return h, 0, protoErr(opHeader, errCtrlLong)
		}
	} else if maxLen >= 0 && h.Len > uint64(maxLen) {
		return h, 0, protoErr(opHeader, errOverLimit)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrShort
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// HeaderLen returns the length of the minimal header for a frame with payloadLen
// bytes of payload (a negative payloadLen counts as 0).
func HeaderLen(payloadLen int, masked bool) int {
	n := 2
	switch {
	case payloadLen > 0xFFFF:
		n = 10
	case payloadLen > MaxControlPayload:
		n = 4
	}
	if masked {
		n += 4
	}
	return n
}

// AppendHeader appends h with the minimal length encoding. Only the low four bits of
// h.Op are used and the RSV bits are always zero; h.Len is written as given, so a
// length of 2^63 or more produces a header no peer accepts.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.Op & opMask
	if h.Fin {
		b0 |= finBit
	}
	var m *[4]byte
	if h.Masked {
		m = &h.Mask
	}
	return appendHeader(dst, b0, h.Len, m)
}

func appendHeader(dst []byte, b0 byte, n uint64, mask *[4]byte) []byte {
	var b1 byte
	if mask != nil {
		b1 = maskBit
	}
	switch {
	case n <= MaxControlPayload:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, n)
	}
	if mask != nil {
		dst = append(dst, mask[0], mask[1], mask[2], mask[3])
	}
	return dst
}

// MaskBytes XORs b in place with the masking key (masking and unmasking are the same
// operation). pos is the offset of b[0] within the frame's payload, so a payload can be
// processed in pieces as it arrives.
func MaskBytes(b []byte, key [4]byte, pos int) {
	if len(b) >= maskBlockMin {
		maskXOR(b, b, key, pos)
		return
	}
	if len(b) >= maskSIMDMin {
		// gobwas/ws's Cipher has SIMD kernels; pos&3 keeps it away from a
		// negative offset, which it would index with.
		gws.Cipher(b, key, pos&3)
		return
	}
	// Below maskSIMDMin, Cipher's fixed cost (about 40 ns here) outweighs its speed:
	// 8-byte words in plain Go took 8 ns for 64 bytes against Cipher's 43.
	r := pos & 3
	k := [4]byte{key[r], key[(r+1)&3], key[(r+2)&3], key[(r+3)&3]}
	if len(b) >= 8 {
		k32 := uint64(binary.LittleEndian.Uint32(k[:]))
		k64 := k32<<32 | k32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= k[i&3]
	}
}

// maskSIMDMin is where gobwas/ws's Cipher becomes faster than the word loop
// (measured: 256 bytes 29 ns vs 47 ns, 1024 bytes 69 ns vs 57 ns).
const maskSIMDMin = 512

// maskBlockMin is where maskXOR becomes faster than Cipher: from 4 KiB its key stream's set-up is
// paid for (measured in place: 4 KiB 211 ns against 256, 64 KiB 1.6 us against 4.7, 4 MiB 12.8
// GB/s against 9.4).
const maskBlockMin = 4 << 10

// maskXOR writes src XORed with the key, from payload offset pos, to dst (which may be src
// itself), a block at a time against a key stream: crypto/subtle's XORBytes has vector kernels for
// the whole width of a register, and one pass of it both copies and masks.
func maskXOR(dst, src []byte, key [4]byte, pos int) {
	var ks [maskBlockMin]byte
	n := min(len(src), len(ks))
	r := pos & 3
	ks[0], ks[1], ks[2], ks[3] = key[r], key[(r+1)&3], key[(r+2)&3], key[(r+3)&3]
	for f := 4; f < n; f *= 2 {
		copy(ks[f:n], ks[:f])
	}
	for len(src) > 0 { // every block but the last is len(ks) long, a multiple of 4: the key stays in phase
		k := min(len(src), len(ks))
		subtle.XORBytes(dst[:k], src[:k], ks[:k])
		dst, src = dst[k:], src[k:]
	}
}

// AppendMasked appends src XORed with the masking key, from payload offset pos, to dst: a copy and
// the masking in one pass, where append and MaskBytes make two. src is not modified. It allocates
// only when dst lacks room for src. Any goroutine; src and dst must not overlap.
func AppendMasked(dst, src []byte, key [4]byte, pos int) []byte {
	if len(src) < maskBlockMin {
		start := len(dst)
		dst = append(dst, src...)
		MaskBytes(dst[start:], key, pos)
		return dst
	}
	dst = slices.Grow(dst, len(src))
	start := len(dst)
	dst = dst[:start+len(src)]
	maskXOR(dst[start:], src, key, pos)
	return dst
}

// AppendFrame appends one whole unfragmented binary message carrying a ZMTP frame:
// its payload is the flags byte followed by body. With mask != nil (the client side)
// the payload is masked while it is appended; body itself is not modified. It does not
// allocate when dst has room for HeaderLen(len(body)+1, mask != nil)+1+len(body) more
// bytes.
func AppendFrame(dst []byte, flags byte, body []byte, mask *[4]byte) []byte {
	dst = appendHeader(dst, finBit|OpBinary, uint64(len(body))+1, mask)
	if mask == nil {
		dst = append(dst, flags)
		return append(dst, body...)
	}
	dst = append(dst, flags^mask[0])
	return AppendMasked(dst, body, *mask, 1)
}

// AppendFrameHeader appends the header and the flags byte of an unmasked (server)
// binary message whose bodyLen-byte body the caller writes right after, for example
// with writev, so that a large body is never copied. A client must use AppendFrame:
// its payload has to be masked.
func AppendFrameHeader(dst []byte, flags byte, bodyLen int) []byte {
	if bodyLen < 0 {
		bodyLen = 0
	}
	dst = appendHeader(dst, finBit|OpBinary, uint64(bodyLen)+1, nil)
	return append(dst, flags)
}

// AppendControl appends a control frame (OpPing, OpPong or OpClose; only the low four
// bits of op are used) with payload, masked when mask != nil. A payload longer than
// 125 bytes is cut to 125: control frames cannot be longer.
func AppendControl(dst []byte, op byte, payload []byte, mask *[4]byte) []byte {
	if len(payload) > MaxControlPayload {
		payload = payload[:MaxControlPayload]
	}
	dst = appendHeader(dst, finBit|op&opMask, uint64(len(payload)), mask)
	start := len(dst)
	dst = append(dst, payload...)
	if mask != nil {
		MaskBytes(dst[start:], *mask, 0)
	}
	return dst
}

// AppendClose appends a close frame carrying a status code and a reason, masked when
// mask != nil. The reason is cut so that the payload fits 125 bytes.
func AppendClose(dst []byte, code uint16, reason string, mask *[4]byte) []byte {
	var p [MaxControlPayload]byte
	binary.BigEndian.PutUint16(p[:], code)
	n := 2 + copy(p[2:], reason)
	return AppendControl(dst, OpClose, p[:n], mask)
}

// ParseClose splits a close frame's payload into its status code and reason. An empty
// payload has no code (ok is false); a 1-byte payload is invalid (ok is false too).
// reason aliases p.
func ParseClose(p []byte) (code uint16, reason []byte, ok bool) {
	if len(p) < 2 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(p), p[2:], true
}
