package codec

import (
	"bytes"
	"errors"
	"testing"
)

func curveSamples() [][]byte {
	var h CurveHello
	h.Major, h.Nonce = 1, 1
	for i := range h.Transient {
		h.Transient[i] = byte(i)
		h.Box[i] = byte(200 - i)
	}
	var w CurveWelcome
	w.Nonce[3], w.Box[143] = 7, 9
	in := CurveInitiate{Nonce: 2, Box: bytes.Repeat([]byte{5}, 32+CurveVouchSize+CurveBoxOverhead+20)}
	in.Cookie[0] = 1
	return [][]byte{
		AppendCurveHello(nil, &h),
		AppendCurveWelcome(nil, &w),
		AppendCurveInitiate(nil, &in),
		AppendCurveReady(nil, &CurveBoxed{Nonce: 1, Box: make([]byte, 16)}),
		AppendCurveMessage(nil, &CurveBoxed{Nonce: 3, Box: make([]byte, 17+100)}),
	}
}

// parseCurve parses a command body of any CURVE kind and re-encodes it.
func parseCurve(body []byte) ([]byte, error) {
	c, err := ParseCommand(body)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Is(CmdHello):
		h, err := ParseCurveHello(c.Data)
		if err != nil {
			return nil, err
		}
		return AppendCurveHello(nil, &h), nil
	case c.Is(CmdWelcome):
		w, err := ParseCurveWelcome(c.Data)
		if err != nil {
			return nil, err
		}
		return AppendCurveWelcome(nil, &w), nil
	case c.Is(CmdInitiate):
		in, err := ParseCurveInitiate(c.Data)
		if err != nil {
			return nil, err
		}
		return AppendCurveInitiate(nil, &in), nil
	case c.Is(CmdReady):
		r, err := ParseCurveReady(c.Data)
		if err != nil {
			return nil, err
		}
		return AppendCurveReady(nil, &r), nil
	case c.Is(CmdMessage):
		if !IsCurveMessage(body) {
			return nil, errors.New("IsCurveMessage false for a MESSAGE")
		}
		m, err := ParseCurveMessage(c.Data)
		if err != nil {
			return nil, err
		}
		return AppendCurveMessage(nil, &m), nil
	}
	return nil, errors.New("not a CURVE command")
}

func TestCurveCommandsRoundTrip(t *testing.T) {
	sizes := []int{200, 168, 0, 6 + 8 + 16, 8 + 8 + 117}
	for i, b := range curveSamples() {
		if sizes[i] != 0 && len(b) != sizes[i] {
			t.Errorf("sample %d: %d bytes, want %d", i, len(b), sizes[i])
		}
		got, err := parseCurve(b)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
}

// TestCurveCommandsSplit: a command body arrives whole (the session frames it), so every cut
// short of the whole body is a malformed command, never a misread one, and never a panic.
func TestCurveCommandsSplit(t *testing.T) {
	// The shortest valid body of each: HELLO and WELCOME are fixed, the others carry boxes of
	// any length from their minimum up.
	minimum := []int{200, 168, 9 + curveInitiateMin, 6 + curveReadyMin, 8 + curveMessageMin}
	for i, b := range curveSamples() {
		for cut := 0; cut < minimum[i]; cut++ {
			if _, err := parseCurve(b[:cut]); err == nil {
				t.Fatalf("sample %d cut at %d parsed", i, cut)
			} else if cut > 9 && !errors.Is(err, ErrMalformed) {
				t.Fatalf("sample %d cut at %d: %v", i, cut, err)
			}
		}
	}
	// Fixed-size commands refuse a byte too many as well.
	for _, b := range curveSamples()[:2] {
		if _, err := parseCurve(append(bytes.Clone(b), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q with a byte more: %v", b[1:6], err)
		}
	}
}

func TestCurveParseAllocFree(t *testing.T) {
	s := curveSamples()
	if n := testing.AllocsPerRun(100, func() {
		_, _ = ParseCurveHello(s[0][6:])
		_, _ = ParseCurveMessage(s[4][8:])
		_ = AppendCurveMessageHead(s[4][:0], 9)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func FuzzCurveCommand(f *testing.F) {
	for _, b := range curveSamples() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseCurve(body)
		if err != nil {
			return
		}
		c, _ := ParseCommand(body)
		if c.Is(CmdHello) {
			// The padding is not kept; everything else is.
			if len(got) != len(body) || !bytes.Equal(got[:8], body[:8]) || !bytes.Equal(got[80:], body[80:]) {
				t.Fatalf("HELLO changed")
			}
			return
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("re-encoding changed %x to %x", body, got)
		}
	})
}
