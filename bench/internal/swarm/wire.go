package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/zloop/zloop/codec"
)

// maxFrame bounds what a swarm connection accepts from the server: the benchmark's messages are
// small, and a larger frame means a broken stream.
const maxFrame = 1 << 20

// errStream is a server byte stream the swarm does not understand.
var errStream = errors.New("swarm: bad stream from the server")

// hello is what a connection sends first, all at once: the NULL mechanism needs no reply before
// READY, so the greeting and READY go out in one write. The returned buffer is the caller's.
func hello(m Mode) []byte {
	typ := "DEALER"
	if m == ModeSub {
		typ = "SUB"
	}
	b := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	return codec.AppendReady(b, codec.Property{Name: "Socket-Type", Value: []byte(typ)})
}

// subscribeAll is a SUB's subscription to everything, sent once the server's READY arrived: the
// ZMTP 3.0 subscription message (0x01 and an empty topic), which every server understands, rather
// than 3.1's SUBSCRIBE command. libzmq 4.3.4 drops a connection whose subscription arrives in the
// same segment as its greeting and READY, so it is not part of the hello.
var subscribeAll = codec.AppendFrame(nil, 0, []byte{1})

// appendRequest appends a dealer's request of size bytes (>= 8) whose first 8 bytes are its send
// time t (nanoseconds, little-endian).
func appendRequest(dst []byte, size int, t int64) []byte {
	dst = codec.AppendFrameHeader(dst, 0, size)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(t))
	for range size - 8 {
		dst = append(dst, 0)
	}
	return dst
}

// stream is the server side of one connection as the swarm reads it: the greeting, the READY
// command, then messages. It is a parser of a byte stream fed in pieces of any size.
type stream struct {
	greeted bool // the 64-byte greeting is through
	ready   bool // the server's READY is through: the connection is up
	more    bool // the last message frame had MORE set
}

// event is what one complete frame meant.
type event int

const (
	evNone  event = iota
	evReady       // the handshake completed
	evMsg         // a whole message ended with this frame; body is its last frame
	evPing        // the server's PING (heartbeats, ZMTP 3.1); body is its context, to be sent back in a PONG
)

// next parses one item from the front of b: the greeting or a whole frame. It returns what it
// meant, the last frame's body (valid as long as b), and the bytes it took; n == 0 means b holds
// only part of the next item.
func (s *stream) next(b []byte) (ev event, body []byte, n int, err error) {
	if !s.greeted {
		g, n, err := codec.ParseGreeting(b)
		if errors.Is(err, codec.ErrShort) {
			return evNone, nil, 0, nil
		}
		if err != nil {
			return evNone, nil, 0, err
		}
		if g.Mechanism != "NULL" {
			return evNone, nil, 0, fmt.Errorf("%w: mechanism %s", errStream, g.Mechanism)
		}
		s.greeted = true
		return evNone, nil, n, nil
	}
	h, hn, err := codec.ParseFrameHeader(b, maxFrame)
	if errors.Is(err, codec.ErrShort) {
		return evNone, nil, 0, nil
	}
	if err != nil {
		return evNone, nil, 0, err
	}
	end := hn + int(h.Size)
	if len(b) < end {
		return evNone, nil, 0, nil
	}
	body = b[hn:end]
	if h.Command() {
		c, err := codec.ParseCommand(body)
		if err != nil {
			return evNone, nil, 0, err
		}
		if !s.ready {
			if !c.Is(codec.CmdReady) {
				return evNone, nil, 0, fmt.Errorf("%w: %s before READY", errStream, c.Name)
			}
			s.ready = true
			return evReady, nil, end, nil
		}
		if c.Is(codec.CmdPing) {
			_, ctx, err := codec.ParsePing(c.Data)
			if err != nil {
				return evNone, nil, 0, err
			}
			return evPing, ctx, end, nil
		}
		return evNone, nil, end, nil // PONG (the swarm sends no PING) and the like
	}
	if !s.ready {
		return evNone, nil, 0, fmt.Errorf("%w: a message before READY", errStream)
	}
	s.more = h.More()
	if s.more {
		return evNone, nil, end, nil
	}
	return evMsg, body, end, nil
}
