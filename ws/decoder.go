package ws

import "math"

// Handler receives what a Decoder decodes. Its methods run on the goroutine that
// called Feed, during that call.
type Handler interface {
	// Frame announces a ZMTP frame (a complete data message): flags is its first
	// payload byte, size the length of the body that follows. Returning false means
	// "not now": Feed stops before this message's header and consumes nothing of it,
	// so the next Feed announces the same frame again (flow control).
	Frame(flags byte, size int) bool
	// FrameData delivers the body of the frame just announced, unmasked, in order,
	// possibly in several pieces; last marks the final piece. A 0-byte body gets one
	// call with an empty p and last set. p is valid only during the call.
	FrameData(p []byte, last bool)
	// Control delivers a control frame: OpPing (answer with an OpPong carrying the
	// same payload), OpPong, or OpClose (answer with a close frame, then close the
	// connection). payload is unmasked and valid only during the call.
	Control(op byte, payload []byte)
}

// DefaultFragmentLimit is how many payload bytes a Decoder buffers at most for the
// fragments of one message before its final fragment arrives; see SetFragmentLimit.
const DefaultFragmentLimit = 1 << 20

// Decoder states.
const (
	stHeader  uint8 = iota // at a frame boundary
	stBody                 // streaming the body of an announced frame to FrameData
	stCollect              // buffering a non-final fragment's payload
	stClosed               // a close frame arrived; everything after it is ignored
)

// Decoder is a resumable, streaming decoder of ZWS 2.0 frames from WebSocket bytes:
// its input may be split at any byte. A Decoder belongs to one connection and must be
// used by one goroutine at a time (the connection's event loop).
//
// Memory: an unfragmented message's body is never buffered, it is handed to
// FrameData in place. A fragmented message's fragments are collected until its final
// fragment, up to the fragment limit; the final fragment is streamed like an
// unfragmented body.
type Decoder struct {
	server    bool
	maxSize   int64 // body limit, -1 for none
	fragLimit int   // cap on buffered fragment payload, flags byte included

	state     uint8
	blocked   bool
	masked    bool
	mask      [4]byte
	maskPos   int
	remaining uint64 // payload bytes of the current frame not yet consumed

	inFrag bool   // inside a fragmented message
	frag   []byte // its payload so far, unmasked, flags byte first

	err error
}

// NewDecoder returns a Decoder for the server side of a connection (server = true: it
// expects masked frames, as clients must send) or the client side (unmasked frames).
// A frame with the wrong masking is a protocol error, as in libzmq.
//
// maxSize bounds one ZMTP frame body (-1 = no bound, like libzmq's MAXMSGSIZE); a
// longer frame is rejected from its header, before any of it is buffered or announced.
// Fragmented messages are accepted and delivered as one frame at their final
// fragment; the bytes buffered for one are bounded by DefaultFragmentLimit (see
// SetFragmentLimit) as well as by maxSize. An empty data message (no flags byte), a
// text message, and a flags byte with reserved bits (2-7) set are protocol errors.
func NewDecoder(server bool, maxSize int64) *Decoder {
	if maxSize < 0 {
		maxSize = -1
	}
	return &Decoder{server: server, maxSize: maxSize, fragLimit: DefaultFragmentLimit}
}

// SetFragmentLimit sets how many payload bytes (flags byte included) the Decoder
// buffers at most for a fragmented message before its final fragment; n <= 0 rejects
// every fragmented message. Call it before the first Feed.
func (d *Decoder) SetFragmentLimit(n int) {
	d.fragLimit = max(n, 0)
}

// Blocked reports whether the last Feed stopped because Handler.Frame returned false.
func (d *Decoder) Blocked() bool { return d.blocked }

// Closed reports whether a close frame has been decoded. Feed discards everything
// after it, since RFC 6455 lets nothing follow a close frame.
func (d *Decoder) Closed() bool { return d.state == stClosed }

// Feed decodes what it can from b, calling h as frames arrive, and returns how many
// bytes it consumed. Bytes it did not consume (an incomplete header, a header and
// flags byte not yet complete, an incomplete control frame of at most 139 bytes, or a
// frame that Handler.Frame refused) must be passed again, followed by more input, to
// the next call. A body is consumed as it arrives, so the caller never holds more than
// one header's worth of bytes for the decoder.
//
// Feed unmasks payload bytes of b IN PLACE (the caller's buffer is modified, and
// consumed bytes no longer hold what the peer sent). b is not used after Feed returns.
//
// A protocol error is returned as a *ProtocolError, with n counting the bytes consumed
// before the offending frame; the Decoder is then dead and every later Feed returns the
// same error. Feed does not allocate for unfragmented messages.
func (d *Decoder) Feed(b []byte, h Handler) (n int, err error) {
	if d.err != nil {
		return 0, d.err
	}
	d.blocked = false
	off := 0
	for {
		switch d.state {
		case stClosed:
			return len(b), nil

		case stBody, stCollect:
			avail := len(b) - off
			if avail == 0 {
				return off, nil
			}
			k := avail
			if uint64(k) > d.remaining {
				k = int(d.remaining)
			}
			p := b[off : off+k]
			if d.masked {
				MaskBytes(p, d.mask, d.maskPos)
				d.maskPos += k
			}
			off += k
			d.remaining -= uint64(k)
			if d.state == stCollect {
				// The header check bounded the total, so this append grows only with
				// bytes that actually arrived, never with a length the peer declared.
				d.frag = append(d.frag, p...)
			} else {
				h.FrameData(p, d.remaining == 0)
			}
			if d.remaining == 0 {
				d.state = stHeader
			}

		case stHeader:
			if off == len(b) {
				return off, nil
			}
			next, err := d.header(b, off, h)
			if err != nil {
				d.err = err
				return off, err
			}
			if next < 0 {
				return off, nil
			}
			off = next
		}
	}
}

// header handles the frame starting at b[off]. It returns the new offset, or -1 when
// the frame cannot be started yet (too few bytes, or Handler.Frame said no).
func (d *Decoder) header(b []byte, off int, h Handler) (int, error) {
	hdr, hn, err := ParseHeader(b[off:], -1)
	if err == ErrShort {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	if hdr.Masked != d.server {
		if d.server {
			return 0, protoErr(opHeader, errUnmasked)
		}
		return 0, protoErr(opHeader, errMasked)
	}
	switch hdr.Op {
	case OpClose, OpPing, OpPong:
		// At most 139 bytes: asking the caller to keep them is cheaper than a copy.
		end := off + hn + int(hdr.Len)
		if end > len(b) {
			return -1, nil
		}
		p := b[off+hn : end]
		if hdr.Masked {
			MaskBytes(p, hdr.Mask, 0)
		}
		if hdr.Op == OpClose {
			d.state = stClosed
		}
		h.Control(hdr.Op, p)
		return end, nil

	case OpText:
		return 0, protoErr(opMessage, errText)

	case OpBinary:
		if d.inFrag {
			return 0, protoErr(opMessage, errInterleaved)
		}
		if !hdr.Fin {
			if err := d.checkFrag(hdr.Len); err != nil {
				return 0, err
			}
			d.inFrag = true
			d.collect(hdr)
			return off + hn, nil
		}
		return d.final(b, off, hn, hdr, h)

	default: // OpContinuation; ParseHeader let no other opcode through
		if !d.inFrag {
			return 0, protoErr(opMessage, errContinuation)
		}
		if !hdr.Fin {
			if err := d.checkFrag(uint64(len(d.frag)) + hdr.Len); err != nil {
				return 0, err
			}
			d.collect(hdr)
			return off + hn, nil
		}
		return d.final(b, off, hn, hdr, h)
	}
}

// checkFrag bounds the payload buffered for a fragmented message.
func (d *Decoder) checkFrag(total uint64) error {
	if total > uint64(d.fragLimit) || (total > 0 && d.overLimit(total-1)) {
		return protoErr(opMessage, errFragLimit)
	}
	return nil
}

func (d *Decoder) overLimit(size uint64) bool {
	// Frame takes an int size, so MaxInt bounds it even without a limit.
	return size > math.MaxInt || (d.maxSize >= 0 && size > uint64(d.maxSize))
}

func (d *Decoder) collect(hdr Header) {
	d.masked, d.mask, d.maskPos = hdr.Masked, hdr.Mask, 0
	d.remaining = hdr.Len
	if hdr.Len > 0 {
		d.state = stCollect
	}
}

// final announces the message that ends with the frame at b[off] (an unfragmented
// binary frame, or the last fragment) and starts streaming its body.
func (d *Decoder) final(b []byte, off, hn int, hdr Header, h Handler) (int, error) {
	have := uint64(len(d.frag))
	total := have + hdr.Len
	if total == 0 {
		return 0, protoErr(opMessage, errEmpty)
	}
	if d.overLimit(total - 1) {
		return 0, protoErr(opMessage, errOverLimit)
	}
	var flags byte
	skip := 0 // 1 when the flags byte is this frame's first payload byte
	if have > 0 {
		flags = d.frag[0]
	} else {
		if off+hn >= len(b) {
			return -1, nil
		}
		// Read, not unmasked in place: if Frame refuses, the bytes stay as they came.
		flags = b[off+hn]
		if hdr.Masked {
			flags ^= hdr.Mask[0]
		}
		skip = 1
	}
	if flags&reservedFlags != 0 {
		return 0, protoErr(opMessage, errFlags)
	}
	if !h.Frame(flags, int(total-1)) {
		d.blocked = true
		return -1, nil
	}
	off += hn + skip
	d.masked, d.mask, d.maskPos = hdr.Masked, hdr.Mask, skip
	d.remaining = hdr.Len - uint64(skip)
	if d.remaining > 0 {
		d.state = stBody
	}
	if d.inFrag {
		d.inFrag = false
		var prefix []byte // the body bytes buffered before this fragment
		if have > 0 {
			prefix = d.frag[1:]
		}
		if len(prefix) > 0 || d.remaining == 0 {
			h.FrameData(prefix, d.remaining == 0)
		}
		if cap(d.frag) > 64<<10 {
			d.frag = nil // do not pin a large buffer for the connection's lifetime
		} else {
			d.frag = d.frag[:0]
		}
	} else if d.remaining == 0 {
		h.FrameData(b[off:off], true)
	}
	return off, nil
}
