package codec

import (
	"bytes"
	"errors"
	"testing"
)

// rfc 32's test vector.
var z85Vector = []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}

func TestZ85Vector(t *testing.T) {
	got, err := AppendZ85(nil, z85Vector)
	if err != nil || string(got) != "HelloWorld" {
		t.Fatalf("encode: %q, %v", got, err)
	}
	back, err := AppendZ85Decode(nil, got)
	if err != nil || !bytes.Equal(back, z85Vector) {
		t.Fatalf("decode: %x, %v", back, err)
	}
}

// libzmq's curve_keygen output for a known key pair (rfc 26's example keys, as in libzmq's tests).
func TestZ85Key(t *testing.T) {
	const text = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	raw, err := AppendZ85Decode(nil, []byte(text))
	if err != nil || len(raw) != 32 {
		t.Fatalf("decode: %d bytes, %v", len(raw), err)
	}
	again, _ := AppendZ85(nil, raw)
	if string(again) != text {
		t.Fatalf("round trip %q", again)
	}
}

func TestZ85Errors(t *testing.T) {
	for _, in := range []string{"Hell", "HelloWorl", "Hello Worl", "%%%%%", "\x00ello", "Hello\xff"} {
		dst := []byte("keep")
		got, err := AppendZ85Decode(dst, []byte(in))
		if !errors.Is(err, ErrZ85) || string(got) != "keep" {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	if _, err := AppendZ85(nil, []byte{1, 2, 3}); !errors.Is(err, ErrZ85) {
		t.Errorf("3 bytes: %v", err)
	}
	// The largest group that fits 32 bits decodes; one more does not.
	if got, err := AppendZ85Decode(nil, []byte("%nSc0")); err != nil || !bytes.Equal(got, []byte{0xFF, 0xFF, 0xFF, 0xFF}) {
		t.Errorf("%%nSc0: %x, %v", got, err)
	}
	if _, err := AppendZ85Decode(nil, []byte("%nSc1")); !errors.Is(err, ErrZ85) {
		t.Errorf("%%nSc1: %v", err)
	}
}

// TestZ85Split: text decodes group by group, so any split on a group boundary decodes to the same
// bytes in pieces, and any other split is refused rather than misread.
func TestZ85Split(t *testing.T) {
	src := make([]byte, 64)
	for i := range src {
		src[i] = byte(i * 37)
	}
	text, _ := AppendZ85(nil, src)
	for i := 0; i <= len(text); i++ {
		a, errA := AppendZ85Decode(nil, text[:i])
		b, errB := AppendZ85Decode(a, text[i:])
		if i%5 == 0 {
			if errA != nil || errB != nil || !bytes.Equal(b, src) {
				t.Fatalf("split %d: %v %v", i, errA, errB)
			}
		} else if !errors.Is(errA, ErrZ85) || !errors.Is(errB, ErrZ85) {
			t.Fatalf("split %d accepted: %v %v", i, errA, errB)
		}
	}
}

func TestZ85AllocFree(t *testing.T) {
	key := make([]byte, 32)
	text := make([]byte, 0, 40)
	raw := make([]byte, 0, 32)
	if n := testing.AllocsPerRun(100, func() {
		text, _ = AppendZ85(text[:0], key)
		raw, _ = AppendZ85Decode(raw[:0], text)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func FuzzZ85(f *testing.F) {
	f.Add([]byte("HelloWorld"))
	f.Add([]byte("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"))
	f.Add([]byte("%nSc1"))
	f.Fuzz(func(t *testing.T, text []byte) {
		raw, err := AppendZ85Decode(nil, text)
		if err != nil {
			if !errors.Is(err, ErrZ85) || raw != nil {
				t.Fatalf("bad error %v with %x", err, raw)
			}
			// Whatever was refused, encoding any bytes round-trips.
			raw = text[:len(text)/4*4]
			enc, err := AppendZ85(nil, raw)
			if err != nil {
				t.Fatal(err)
			}
			back, err := AppendZ85Decode(nil, enc)
			if err != nil || !bytes.Equal(back, raw) {
				t.Fatalf("round trip of %x: %x %v", raw, back, err)
			}
			return
		}
		if len(raw) != Z85DecodedLen(len(text)) {
			t.Fatalf("%d bytes from %d characters", len(raw), len(text))
		}
		enc, err := AppendZ85(nil, raw)
		if err != nil || !bytes.Equal(enc, text) {
			t.Fatalf("re-encoding %q gave %q, %v", text, enc, err)
		}
	})
}
