package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// fill writes a pattern into b that differs for every stream and every 8-byte word, so that a
// reply that is shifted, truncated or another stream's shows.
func fill(b []byte, stream int) {
	seed := uint64(stream+1) * 0x9e3779b97f4a7c15
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(i)^seed)
	}
	for ; i < len(b); i++ {
		b[i] = byte(i) ^ byte(seed)
	}
}

// runClient sends c.Count messages of c.Size bytes at once, one on each of c.Count DEALER
// connections to ep, then reads every reply and checks it byte for byte. It returns the time from
// the first send to the last reply. The client is libzmq through cgo for every server, so that
// only the server differs; its own memory is not measured.
func runClient(ctx context.Context, ep string, c testCase) (time.Duration, error) {
	zctx, err := zmq.NewContext()
	if err != nil {
		return 0, err
	}
	defer zctx.Term()
	wait := time.Minute
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	socks := make([]*zmq.Socket, 0, c.Count)
	defer func() {
		for _, s := range socks {
			_ = s.Close()
		}
	}()
	payloads := make([][]byte, c.Count)
	for i := range c.Count {
		s, err := zctx.NewSocket(zmq.DEALER)
		if err != nil {
			return 0, err
		}
		socks = append(socks, s)
		for _, set := range []func() error{
			func() error { return s.SetLinger(0) },
			func() error { return s.SetRcvtimeo(wait) },
			func() error { return s.SetSndtimeo(wait) },
		} {
			if err := set(); err != nil {
				return 0, err
			}
		}
		if err := s.Connect(ep); err != nil {
			return 0, err
		}
		payloads[i] = make([]byte, c.Size)
		fill(payloads[i], i)
	}
	start := time.Now()
	for i, s := range socks {
		if _, err := s.SendBytes(payloads[i], 0); err != nil {
			return 0, fmt.Errorf("send %d: %w", i, err)
		}
	}
	for i, s := range socks {
		b, err := s.RecvBytes(0)
		if err != nil {
			return 0, fmt.Errorf("reply %d: %w", i, err)
		}
		if !bytes.Equal(b, payloads[i]) {
			return 0, fmt.Errorf("reply %d: %d bytes that are not the %d sent", i, len(b), c.Size)
		}
		if more, err := s.GetRcvmore(); err != nil || more {
			return 0, fmt.Errorf("reply %d: more than one frame (%v)", i, err)
		}
	}
	return time.Since(start), ctx.Err()
}
