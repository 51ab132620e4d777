package ws

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// checkErr fails unless err is nil, ErrShort or a well-formed *ProtocolError.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil || err == ErrShort {
		return
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Err == nil || !errors.Is(err, ErrProtocol) || errors.Is(err, ErrShort) {
		t.Fatalf("unexpected error %v (%T)", err, err)
	}
}

func FuzzHeader(f *testing.F) {
	for _, size := range []int{0, 1, 124, 125, 126, 65534, 65535, 65536, 200000} {
		body := make([]byte, min(size, 300))
		f.Add(AppendFrame(nil, FlagMore, body, nil)[:HeaderLen(size+1, false)], int64(-1))
		f.Add(AppendFrame(nil, FlagCommand, body, &testMask)[:HeaderLen(size+1, true)], int64(size))
		f.Add(AppendHeader(nil, Header{Op: OpContinuation, Len: uint64(size)}), int64(100))
	}
	f.Add(AppendControl(nil, OpPing, []byte("p"), &testMask), int64(0))
	f.Add(AppendClose(nil, CloseNormal, "bye", nil), int64(-1))
	f.Add([]byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, int64(-1))
	f.Add([]byte{0x89, 0x7e, 0, 5}, int64(-1))
	f.Add([]byte{0xc2, 0x00}, int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, maxLen int64) {
		h, n, err := ParseHeader(b, maxLen)
		checkErr(t, err)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			if err == ErrShort {
				if len(b) >= 14 {
					t.Fatalf("ErrShort with %d bytes", len(b))
				}
				// Any completion decides: ErrShort never comes back for 14 bytes.
				full := append(bytes.Clone(b), make([]byte, 14-len(b))...)
				if _, _, err := ParseHeader(full, maxLen); err == ErrShort {
					t.Fatalf("ErrShort for 14 bytes %x", full)
				}
				return
			}
			// A protocol error is final: more bytes give the same verdict, and a
			// prefix gives ErrShort or the same verdict.
			more := append(bytes.Clone(b), make([]byte, 14)...)
			if _, _, err2 := ParseHeader(more, maxLen); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("%x: %v, but with more bytes %v", b, err, err2)
			}
			for i := range b {
				if _, _, err2 := ParseHeader(b[:i], maxLen); err2 != ErrShort && err2.Error() != err.Error() {
					t.Fatalf("%x: %v, but prefix %d gives %v", b, err, i, err2)
				}
			}
			return
		}
		if n > len(b) || n != HeaderLen(0, h.Masked)+map[byte]int{126: 2, 127: 8}[b[1]&0x7f] {
			t.Fatalf("n=%d for %x", n, b[:min(len(b), 14)])
		}
		if h.Op >= OpClose && (h.Len > MaxControlPayload || !h.Fin) {
			t.Fatalf("accepted bad control frame %+v", h)
		}
		if h.Len>>63 != 0 || (maxLen >= 0 && h.Op < OpClose && h.Len > uint64(maxLen)) {
			t.Fatalf("accepted length %d with maxLen %d", h.Len, maxLen)
		}
		enc := AppendHeader(nil, h)
		h2, n2, err := ParseHeader(enc, -1)
		if err != nil || h2 != h || n2 != len(enc) {
			t.Fatalf("re-encoded %+v as %x: %+v n=%d err=%v", h, enc, h2, n2, err)
		}
		if len(enc) == n && !bytes.Equal(enc, b[:n]) {
			t.Fatalf("minimal header %x re-encoded as %x", b[:n], enc)
		}
		for i := range n {
			if _, _, err := ParseHeader(b[:i], maxLen); err != ErrShort {
				t.Fatalf("prefix %d of a valid header: %v", i, err)
			}
		}
	})
}

// smallStream is a compact seed with every kind of frame the decoder handles.
func smallStream(masked bool) []byte {
	s := &streamBuilder{masked: masked}
	s.frame(FlagMore, []byte("hello"))
	s.control(OpPing, []byte("p"))
	s.frame(0, nil)
	s.frame(FlagCommand, pattern(130, 1))
	s.fragment(OpBinary, false, []byte("\x01ab"))
	s.control(OpPong, nil)
	s.fragment(OpContinuation, false, nil)
	s.fragment(OpContinuation, true, []byte("cd"))
	s.frame(0, []byte("x"))
	s.wire = AppendClose(s.wire, CloseNormal, "bye", s.key())
	return s.wire
}

func FuzzDecoder(f *testing.F) {
	for _, masked := range []bool{true, false} {
		f.Add(smallStream(masked), masked, int64(-1), uint8(0))
		f.Add(smallStream(masked), masked, int64(100), uint8(3))
		var mask *[4]byte
		if masked {
			mask = &testMask
		}
		for _, size := range []int{0, 1, 125, 126, 300} {
			f.Add(AppendFrame(nil, FlagMore, pattern(size, size), mask), masked, int64(size), uint8(size))
		}
		f.Add(AppendControl(nil, OpPing, []byte("ping"), mask), masked, int64(-1), uint8(1))
	}
	f.Add([]byte{0x02, 0x80, 1, 2, 3, 4, 0x80, 0x80, 1, 2, 3, 4}, true, int64(-1), uint8(0))
	f.Add([]byte{0x81, 0x80, 1, 2, 3, 4}, true, int64(-1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, server bool, maxSize int64, chunk uint8) {
		run := func(step int) *conn {
			c := newConn(t, server, maxSize)
			c.d.SetFragmentLimit(4096)
			c.wire = data
			w := bytes.Clone(data)
			if step == 0 {
				c.feed(w)
				return c
			}
			for len(w) > 0 {
				k := min(len(w), step)
				c.feed(w[:k])
				w = w[k:]
			}
			return c
		}
		whole := run(0)
		checkErr(t, whole.err)
		pieces := run(1 + int(chunk)%64)
		if !slices.Equal(whole.h.events, pieces.h.events) || (whole.err == nil) != (pieces.err == nil) {
			t.Fatalf("whole: %s\npieces: %s", whole.result(), pieces.result())
		}
		if whole.err != nil {
			if whole.err.Error() != pieces.err.Error() {
				t.Fatalf("whole: %v, pieces: %v", whole.err, pieces.err)
			}
			return
		}
		if len(whole.buf) != len(pieces.buf) || whole.h.open != pieces.h.open || whole.d.Closed() != pieces.d.Closed() {
			t.Fatalf("whole: %s\npieces: %s", whole.result(), pieces.result())
		}
		// What is left unconsumed is an incomplete header: never 14+125 bytes or more.
		if len(whole.buf) >= 14+MaxControlPayload {
			t.Fatalf("%d bytes left unconsumed", len(whole.buf))
		}
	})
}

func FuzzAccept(f *testing.F) {
	frame := AppendFrame(nil, FlagCommand, []byte("\x05READY"), &testMask)
	seeds := [][]byte{
		libzmqRequest("/zmq", "ZWS2.0/NULL,ZWS2.0"),
		libzmqRequest("/", "ZWS2.0/PLAIN"),
		libzmqRequest("/zmq", "chat"),
		dialerRequest(f, "ws://host:1/zmq", ProtoNull),
		dialerRequest(f, "ws://host:1/zmq?a=b", ProtoCurve, ProtoPlain),
		[]byte("GET / HTTP/1.1\n\n"),
		[]byte("GET /\r\n\r\n"),
	}
	for _, s := range seeds {
		f.Add(s, uint16(0))
		f.Add(append(bytes.Clone(s), frame...), uint16(len(s)/2))
	}
	cfg := &ServerConfig{Protocols: []string{ProtoNull, ProtoBare, ProtoPlain}, MaxHeader: 1024}
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		in := bytes.Clone(b)
		proto, n, out, err := Accept(b, cfg, nil)
		if !bytes.Equal(in, b) {
			t.Fatal("Accept modified its input")
		}
		switch {
		case err == ErrShort:
			if len(b) >= cfg.MaxHeader || n != 0 || proto != "" || len(out) != 0 {
				t.Fatalf("ErrShort with %d bytes, n=%d", len(b), n)
			}
		case err == nil:
			if n <= 0 || n > len(b) || n > cfg.MaxHeader || !slices.Contains(cfg.Protocols, proto) {
				t.Fatalf("n=%d of %d, proto %q", n, len(b), proto)
			}
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 101 Switching Protocols\r\n")) || !bytes.Contains(out, []byte("Sec-WebSocket-Protocol: "+proto+"\r\n")) {
				t.Fatalf("response %q", out)
			}
			// The same request alone gives the same answer; any shorter prefix is short.
			p2, n2, out2, err2 := Accept(b[:n], cfg, nil)
			if err2 != nil || p2 != proto || n2 != n || !bytes.Equal(out2, out) {
				t.Fatalf("request alone: %q %d %v", p2, n2, err2)
			}
			if i := int(cut) % n; true {
				if _, _, _, err := Accept(b[:i], cfg, nil); err != ErrShort {
					t.Fatalf("prefix %d of a %d-byte request: %v", i, n, err)
				}
			}
		default:
			var rej *RejectError
			if !errors.As(err, &rej) || !errors.Is(err, ErrHandshake) || n != 0 || proto != "" || len(out) != 0 {
				t.Fatalf("err %v (%T) n=%d", err, err, n)
			}
			resp := parseResponse(t, rej.Response)
			if resp.StatusCode != rej.Status || rej.Status < 400 || !strings.HasPrefix(rej.Error(), "zmq: ws: ") {
				t.Fatalf("status %d, response %q", rej.Status, rej.Response)
			}
			if rej.Status == http.StatusRequestHeaderFieldsTooLarge && len(b) < cfg.MaxHeader {
				t.Fatalf("431 for %d bytes", len(b))
			}
		}
	})
}
