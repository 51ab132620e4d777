package codec

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

func TestFrameHeaderRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 254, 255, 256, 65535, 65536, 1 << 32, math.MaxInt64}
	for _, size := range sizes {
		for _, flags := range []byte{0, FlagMore, FlagCommand} {
			hdr := AppendFrameHeader(nil, flags, size)
			wantLen := 2
			if size > MaxShortSize {
				wantLen = 9
			}
			if len(hdr) != wantLen || FrameHeaderLen(size) != wantLen {
				t.Fatalf("size %d: header %x, FrameHeaderLen %d, want %d bytes", size, hdr, FrameHeaderLen(size), wantLen)
			}
			// The wire form, spelled out independently of the encoder.
			want := []byte{flags, byte(size)}
			if size > MaxShortSize {
				want = binary.BigEndian.AppendUint64([]byte{flags | FlagLong}, uint64(size))
			}
			if !bytes.Equal(hdr, want) {
				t.Fatalf("size %d flags %#x: header %x, want %x", size, flags, hdr, want)
			}
			h, n, err := ParseFrameHeader(hdr, -1)
			if err != nil || n != wantLen || h.Size != uint64(size) || h.Flags != flags {
				t.Fatalf("size %d flags %#x: parsed %+v n=%d err=%v", size, flags, h, n, err)
			}
			if h.More() != (flags == FlagMore) || h.Command() != (flags == FlagCommand) {
				t.Fatalf("accessors wrong for %+v", h)
			}
			for i := 0; i < len(hdr); i++ {
				_, _, err := ParseFrameHeader(hdr[:i], -1)
				wantShort(t, err)
			}
		}
	}
}

func TestAppendFrameHeaderSanitises(t *testing.T) {
	if got := AppendFrameHeader(nil, 0xFF, 3); !bytes.Equal(got, []byte{FlagCommand, 3}) {
		t.Errorf("flags 0xFF: %x, want command without MORE/LONG/reserved", got)
	}
	if got := AppendFrameHeader(nil, FlagMore|FlagLong, 3); !bytes.Equal(got, []byte{FlagMore, 3}) {
		t.Errorf("LONG from the caller leaked: %x", got)
	}
	if got := AppendFrameHeader(nil, 0, -5); !bytes.Equal(got, []byte{0, 0}) || FrameHeaderLen(-5) != 2 {
		t.Errorf("negative size: %x", got)
	}
	prefix := []byte("abc")
	got := AppendFrame(prefix, FlagMore, []byte("xyz"))
	if !bytes.Equal(got, []byte("abc\x01\x03xyz")) {
		t.Errorf("AppendFrame = %q", got)
	}
}

func TestParseFrameHeaderErrors(t *testing.T) {
	long := func(flags byte, size uint64) []byte {
		return binary.BigEndian.AppendUint64([]byte{flags | FlagLong}, size)
	}
	tests := []struct {
		name    string
		in      []byte
		max     int64
		target  error // nil: ErrShort
		okAfter bool  // for short-form cases: the full form parses
	}{
		{name: "empty", in: nil, max: -1},
		{name: "flags only", in: []byte{0}, max: -1},
		{name: "long flags only", in: []byte{FlagLong}, max: -1},
		{name: "command with MORE", in: []byte{FlagCommand | FlagMore}, max: -1, target: ErrMalformed},
		{name: "long command with MORE", in: []byte{FlagCommand | FlagMore | FlagLong}, max: -1, target: ErrMalformed},
		{name: "size 2^63", in: long(0, 1<<63), max: -1, target: ErrTooLarge},
		{name: "size 2^64-1", in: long(0, math.MaxUint64), max: -1, target: ErrTooLarge},
		{name: "size 2^63 from 2 bytes", in: []byte{FlagLong, 0x80}, max: -1, target: ErrTooLarge},
		{name: "2^63-1 prefix", in: []byte{FlagLong, 0x7F, 0xFF}, max: -1},
		{name: "short over limit", in: []byte{0, 11}, max: 10, target: ErrTooLarge},
		{name: "short at limit", in: []byte{0, 10}, max: 10, okAfter: true},
		{name: "zero limit", in: []byte{0, 1}, max: 0, target: ErrTooLarge},
		{name: "zero limit empty frame", in: []byte{0, 0}, max: 0, okAfter: true},
		{name: "long over limit", in: long(0, 1001), max: 1000, target: ErrTooLarge},
		{name: "long at limit", in: long(0, 1000), max: 1000, okAfter: true},
		{name: "partial long already over limit", in: []byte{FlagLong, 0, 0, 0, 0, 0, 0, 4}, max: 1000, target: ErrTooLarge},
		{name: "partial long could still fit", in: []byte{FlagLong, 0, 0, 0, 0, 0, 0, 3}, max: 1000},
		{name: "2^32 over 4 GiB-1 limit", in: long(0, 1<<32), max: 1<<32 - 1, target: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseFrameHeader(tc.in, tc.max)
			switch {
			case tc.okAfter:
				if err != nil || n != len(tc.in) {
					t.Fatalf("got %+v n=%d err=%v, want success", h, n, err)
				}
			case tc.target == nil:
				wantShort(t, err)
			default:
				wantProto(t, err, opFrame, tc.target)
				if n != 0 || h != (FrameHeader{}) {
					t.Fatalf("error with n=%d h=%+v", n, h)
				}
			}
		})
	}
}

func TestParseFrameHeaderReservedBits(t *testing.T) {
	for bit := 3; bit < 8; bit++ {
		for _, base := range []byte{0, FlagMore, FlagLong, FlagCommand} {
			flags := base | 1<<bit
			// One byte is enough to refuse it, and more bytes do not help.
			for _, in := range [][]byte{{flags}, {flags, 0}, append([]byte{flags}, make([]byte, 8)...)} {
				_, _, err := ParseFrameHeader(in, -1)
				wantProto(t, err, opFrame, ErrReservedFlags)
			}
		}
	}
	// Every one of the 256 flag values: valid exactly when no reserved bit is
	// set and MORE is not combined with COMMAND.
	for f := 0; f < 256; f++ {
		flags := byte(f)
		_, _, err := ParseFrameHeader(append([]byte{flags}, make([]byte, 8)...), -1)
		valid := flags&0xF8 == 0 && flags&(FlagMore|FlagCommand) != FlagMore|FlagCommand
		if (err == nil) != valid {
			t.Errorf("flags %#02x: err = %v, want valid=%v", flags, err, valid)
		}
	}
}

func TestParseFrameHeaderAcceptsNonCanonicalLong(t *testing.T) {
	in := binary.BigEndian.AppendUint64([]byte{FlagLong | FlagMore}, 5)
	h, n, err := ParseFrameHeader(in, -1)
	if err != nil || n != 9 || h.Size != 5 || h.Flags != FlagMore {
		t.Fatalf("got %+v n=%d err=%v", h, n, err)
	}
}

func TestParseFrameHeaderIgnoresTrailingBytes(t *testing.T) {
	in := AppendFrame(nil, FlagMore, []byte("hello"))
	in = AppendFrame(in, 0, bytes.Repeat([]byte{'x'}, 300))
	h, n, err := ParseFrameHeader(in, -1)
	if err != nil || n != 2 || h.Size != 5 || !h.More() {
		t.Fatalf("first: %+v n=%d err=%v", h, n, err)
	}
	rest := in[n+int(h.Size):]
	h, n, err = ParseFrameHeader(rest, -1)
	if err != nil || n != 9 || h.Size != 300 || h.More() {
		t.Fatalf("second: %+v n=%d err=%v", h, n, err)
	}
	if len(rest[n:]) != 300 {
		t.Fatalf("body length %d", len(rest[n:]))
	}
}
