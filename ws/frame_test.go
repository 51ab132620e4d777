package ws

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
)

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// The RFC 6455 section 5.7 examples, byte for byte.
func TestRFCExamples(t *testing.T) {
	hello := []byte("Hello")
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{
			name: "unmasked text",
			got:  append(AppendHeader(nil, Header{Fin: true, Op: OpText, Len: 5}), hello...),
			want: "810548656c6c6f",
		},
		{
			name: "masked text",
			got: func() []byte {
				b := AppendHeader(nil, Header{Fin: true, Op: OpText, Masked: true, Mask: testMask, Len: 5})
				start := len(b)
				b = append(b, hello...)
				MaskBytes(b[start:], testMask, 0)
				return b
			}(),
			want: "818537fa213d7f9f4d5158",
		},
		{
			name: "unmasked ping",
			got:  AppendControl(nil, OpPing, hello, nil),
			want: "890548656c6c6f",
		},
		{
			name: "masked pong",
			got:  AppendControl(nil, OpPong, hello, &testMask),
			want: "8a8537fa213d7f9f4d5158",
		},
		{
			name: "256 bytes binary header",
			got:  AppendHeader(nil, Header{Fin: true, Op: OpBinary, Len: 256}),
			want: "827e0100",
		},
		{
			name: "64 KiB binary header",
			got:  AppendHeader(nil, Header{Fin: true, Op: OpBinary, Len: 65536}),
			want: "827f0000000000010000",
		},
		{
			name: "first text fragment",
			got:  AppendHeader(nil, Header{Op: OpText, Len: 3}),
			want: "0103",
		},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(c.got); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

// Every length encoding and its boundaries, masked and unmasked, through
// AppendFrame and back through ParseHeader and MaskBytes.
func TestFrameRoundTrip(t *testing.T) {
	bodies := []int{0, 1, 124, 125, 126, 65534, 65535, 65536, 200000}
	wantL7 := map[int]byte{0: 1, 1: 2, 124: 125, 125: 126, 126: 126, 65534: 126, 65535: 127, 65536: 127, 200000: 127}
	for _, size := range bodies {
		for _, masked := range []bool{false, true} {
			body := pattern(size, size)
			orig := bytes.Clone(body)
			var mask *[4]byte
			if masked {
				mask = &testMask
			}
			flags := byte(size % 4)
			b := AppendFrame([]byte("prefix"), flags, body, mask)[len("prefix"):]
			if !bytes.Equal(body, orig) {
				t.Fatalf("size %d: AppendFrame modified body", size)
			}
			if l7 := b[1] & 0x7f; l7 != wantL7[size] {
				t.Errorf("size %d: 7-bit length %d, want %d", size, l7, wantL7[size])
			}
			h, n, err := ParseHeader(b, -1)
			if err != nil {
				t.Fatalf("size %d masked %v: %v", size, masked, err)
			}
			if want := (Header{Fin: true, Op: OpBinary, Masked: masked, Len: uint64(size) + 1}); masked {
				want.Mask = testMask
				if h != want {
					t.Fatalf("header %+v, want %+v", h, want)
				}
			} else if h != want {
				t.Fatalf("header %+v, want %+v", h, want)
			}
			if n != HeaderLen(size+1, masked) {
				t.Fatalf("size %d: header is %d bytes, HeaderLen says %d", size, n, HeaderLen(size+1, masked))
			}
			if len(b) != n+1+size {
				t.Fatalf("size %d: frame is %d bytes, want %d", size, len(b), n+1+size)
			}
			payload := bytes.Clone(b[n:])
			if masked {
				if size > 0 && bytes.Equal(payload[1:], body) {
					t.Fatalf("size %d: masked payload equals the body", size)
				}
				MaskBytes(payload, h.Mask, 0)
			}
			if payload[0] != flags || !bytes.Equal(payload[1:], body) {
				t.Fatalf("size %d masked %v: payload does not round-trip", size, masked)
			}
			if !masked {
				hdr := AppendFrameHeader(nil, flags, size)
				if !bytes.Equal(hdr, b[:n+1]) {
					t.Fatalf("size %d: AppendFrameHeader %x, AppendFrame starts %x", size, hdr, b[:n+1])
				}
			}
		}
	}
}

// Raw payload lengths across the encodings, through AppendHeader and ParseHeader.
func TestHeaderRoundTrip(t *testing.T) {
	for _, l := range []uint64{0, 1, 125, 126, 65535, 65536, 200000, math.MaxInt64} {
		for _, op := range []byte{OpContinuation, OpBinary, OpText} {
			for _, fin := range []bool{false, true} {
				for _, masked := range []bool{false, true} {
					h := Header{Fin: fin, Op: op, Masked: masked, Len: l}
					if masked {
						h.Mask = [4]byte{1, 2, 3, byte(l)}
					}
					b := AppendHeader(nil, h)
					got, n, err := ParseHeader(b, -1)
					if err != nil || got != h || n != len(b) {
						t.Fatalf("%+v: got %+v n=%d err=%v (wire %x)", h, got, n, err, b)
					}
					if l <= math.MaxInt32 && n != HeaderLen(int(l), masked) {
						t.Fatalf("%+v: %d bytes, HeaderLen %d", h, n, HeaderLen(int(l), masked))
					}
					for i := range b {
						if _, _, err := ParseHeader(b[:i], -1); err != ErrShort {
							t.Fatalf("%+v: prefix %d: %v, want ErrShort", h, i, err)
						}
					}
				}
			}
		}
	}
}

func TestParseHeaderLimits(t *testing.T) {
	// maxLen applies to data frames only, from the header alone.
	b := AppendHeader(nil, Header{Fin: true, Op: OpBinary, Len: 1001})
	if _, _, err := ParseHeader(b, 1001); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, _, err := ParseHeader(b, 1000)
	wantProto(t, err, opHeader, ErrTooLarge)
	for _, op := range []byte{OpText, OpContinuation} {
		_, _, err = ParseHeader(AppendHeader(nil, Header{Op: op, Len: 1}), 0)
		wantProto(t, err, opHeader, ErrTooLarge)
	}
	if _, _, err := ParseHeader(AppendControl(nil, OpPing, []byte("abc"), nil), 0); err != nil {
		t.Fatalf("maxLen applied to a control frame: %v", err)
	}
	// Non-minimal length encodings are accepted, control frames included.
	for _, wire := range []string{"827e0005", "827f0000000000000005", "897e0005"} {
		raw, _ := hex.DecodeString(wire)
		h, n, err := ParseHeader(raw, -1)
		if err != nil || h.Len != 5 || n != len(raw) {
			t.Fatalf("%s: %+v n=%d err=%v", wire, h, n, err)
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	cases := []struct {
		name   string
		wire   string
		target error
	}{
		{name: "RSV1", wire: "c201", target: errRSV},
		{name: "RSV2", wire: "a201", target: errRSV},
		{name: "RSV3", wire: "9201", target: errRSV},
		{name: "opcode 3", wire: "8301", target: errOpcode},
		{name: "opcode 7", wire: "8701", target: errOpcode},
		{name: "opcode 11", wire: "8b01", target: errOpcode},
		{name: "opcode 15", wire: "8f01", target: errOpcode},
		{name: "fragmented ping", wire: "0900", target: errCtrlFrag},
		{name: "fragmented close", wire: "08", target: errCtrlFrag},
		{name: "ping of 126", wire: "897e007e", target: errCtrlLong},
		{name: "close of 65536", wire: "887f0000000000010000", target: errCtrlLong},
		{name: "length 2^63", wire: "827f8000000000000000", target: errHuge},
		{name: "length 2^64-1", wire: "827fffffffffffffffff", target: errHuge},
	}
	for _, c := range cases {
		raw, _ := hex.DecodeString(c.wire)
		h, n, err := ParseHeader(raw, -1)
		if n != 0 || h.Mask != ([4]byte{}) {
			t.Errorf("%s: n=%d h=%+v on error", c.name, n, h)
		}
		wantProto(t, err, opHeader, c.target)
		// More bytes never turn an error into success.
		if _, _, err2 := ParseHeader(append(raw, make([]byte, 16)...), -1); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%s: with more bytes: %v, want %v", c.name, err2, err)
		}
	}
}

// MaskBytes must give the same result whatever the pieces a payload is cut into.
func TestMaskBytesStreaming(t *testing.T) {
	key := [4]byte{0xa1, 0x02, 0xf3, 0x44}
	// 300 bytes stay on the word loop; 1500 cross maskSIMDMin into gobwas's Cipher; 9000 cross
	// maskBlockMin into maskXOR's key-stream blocks.
	for _, size := range []int{300, 1500, 9000} {
		payload := pattern(size, 7)
		want := bytes.Clone(payload)
		for i := range want {
			want[i] ^= key[i%4]
		}
		for cut := 0; cut <= len(payload); cut++ {
			b := bytes.Clone(payload)
			MaskBytes(b[:cut], key, 0)
			MaskBytes(b[cut:], key, cut)
			if !bytes.Equal(b, want) {
				t.Fatalf("size %d cut %d: wrong result", size, cut)
			}
		}
		b := bytes.Clone(payload)
		for i := range b {
			MaskBytes(b[i:i+1], key, i)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("size %d byte by byte: wrong result", size)
		}
	}
	// A negative position is taken modulo 4, not used as an index.
	for _, size := range []int{8, 1000} {
		payload := pattern(size, 3)
		b := bytes.Clone(payload)
		MaskBytes(b, key, -1)
		for i := range b {
			if b[i] != payload[i]^key[(i+3)%4] {
				t.Fatalf("size %d pos -1: byte %d wrong", size, i)
			}
		}
	}
}

// AppendMasked is append then MaskBytes, in one pass: after any prefix, from any payload offset,
// over block boundaries, and src untouched.
func TestAppendMasked(t *testing.T) {
	key := [4]byte{0x10, 0x32, 0x54, 0x76}
	for _, size := range []int{0, 3, 511, 4095, 4096, 4097, 3*4096 + 5, 1 << 20} {
		for pos := range 5 {
			src := pattern(size, 5)
			orig := bytes.Clone(src)
			got := AppendMasked([]byte("head"), src, key, pos)
			if !bytes.Equal(src, orig) {
				t.Fatalf("size %d pos %d: src changed", size, pos)
			}
			if string(got[:4]) != "head" || len(got) != 4+size {
				t.Fatalf("size %d pos %d: %d bytes, prefix %q", size, pos, len(got), got[:4])
			}
			for i, c := range got[4:] {
				if c != src[i]^key[(pos+i)%4] {
					t.Fatalf("size %d pos %d: byte %d is %#x, want %#x", size, pos, i, c, src[i]^key[(pos+i)%4])
				}
			}
		}
	}
}

func TestAppendControl(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 200)
	b := AppendControl(nil, OpPing, long, nil)
	h, n, err := ParseHeader(b, -1)
	if err != nil || h.Len != MaxControlPayload || len(b) != n+MaxControlPayload {
		t.Fatalf("long ping: %+v n=%d len=%d err=%v", h, n, len(b), err)
	}
	c := AppendClose(nil, CloseProtocolError, string(long), &testMask)
	h, n, err = ParseHeader(c, -1)
	if err != nil || h.Op != OpClose || !h.Fin || h.Len != MaxControlPayload {
		t.Fatalf("close: %+v err=%v", h, err)
	}
	p := bytes.Clone(c[n:])
	MaskBytes(p, h.Mask, 0)
	code, reason, ok := ParseClose(p)
	if !ok || code != CloseProtocolError || string(reason) != string(long[:MaxControlPayload-2]) {
		t.Fatalf("ParseClose: %d %q %v", code, reason, ok)
	}
	if _, _, ok := ParseClose([]byte{3}); ok {
		t.Fatal("ParseClose accepted a 1-byte payload")
	}
}

func TestErrorText(t *testing.T) {
	_, _, err := ParseHeader([]byte{0xc2, 0}, -1)
	want := "zmq: ws: protocol error in header: protocol violation: reserved bits RSV1-3 set (no extension was negotiated)"
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err.Error(), want)
	}
	for _, e := range []error{ErrShort, ErrProtocol, ErrTooLarge, ErrHandshake, err,
		&RejectError{Status: 404, Reason: "x"}, &handshakeError{msg: "m", cause: ErrTooLarge}} {
		s := e.Error()
		if !bytes.HasPrefix([]byte(s), []byte("zmq: ")) || bytes.Count([]byte(s), []byte("zmq: ")) != 1 {
			t.Errorf("%q: must start with \"zmq: \" exactly once", s)
		}
	}
}
