package codec

import (
	"bytes"
	"strings"
	"testing"
)

// oneCommand parses frame as exactly one command frame.
func oneCommand(t *testing.T, frame []byte) Command {
	t.Helper()
	h, n, err := ParseFrameHeader(frame, -1)
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	if !h.Command() || h.More() {
		t.Fatalf("flags %#x: want a command", h.Flags)
	}
	if uint64(len(frame)-n) != h.Size {
		t.Fatalf("frame has %d body bytes, header says %d", len(frame)-n, h.Size)
	}
	c, err := ParseCommand(frame[n:])
	if err != nil {
		t.Fatalf("ParseCommand: %v", err)
	}
	return c
}

func TestCommandWireForm(t *testing.T) {
	got := AppendPing(nil, 0x0102, []byte("ab"))
	want := []byte{0x04, 9, 4, 'P', 'I', 'N', 'G', 0x01, 0x02, 'a', 'b'}
	if !bytes.Equal(got, want) {
		t.Fatalf("PING = %x, want %x", got, want)
	}
	got = AppendSubscribe(nil, []byte("A"))
	want = []byte{0x04, 11, 9, 'S', 'U', 'B', 'S', 'C', 'R', 'I', 'B', 'E', 'A'}
	if !bytes.Equal(got, want) {
		t.Fatalf("SUBSCRIBE = %x, want %x", got, want)
	}
	got = AppendError(nil, "no")
	want = []byte{0x04, 9, 5, 'E', 'R', 'R', 'O', 'R', 2, 'n', 'o'}
	if !bytes.Equal(got, want) {
		t.Fatalf("ERROR = %x, want %x", got, want)
	}
}

func TestCommandRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 300) // forces the long header
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{CmdSubscribe, nil}, {CmdCancel, []byte("topic")}, {"HELLO", big},
		{strings.Repeat("a", 255), []byte{0}}, {"X", nil},
	} {
		c := oneCommand(t, AppendCommand(nil, tc.name, tc.data))
		if !c.Is(tc.name) || string(c.Name) != tc.name || !bytes.Equal(c.Data, tc.data) {
			t.Fatalf("%q: got name %q data %d bytes", tc.name, c.Name, len(c.Data))
		}
	}
	c := oneCommand(t, AppendCommand(nil, strings.Repeat("b", 300), nil))
	if len(c.Name) != 255 {
		t.Fatalf("name not cut to 255: %d", len(c.Name))
	}
	c = oneCommand(t, AppendSubscribe(nil, []byte("t")))
	if !c.Is(CmdSubscribe) || string(c.Data) != "t" {
		t.Fatalf("subscribe: %q %q", c.Name, c.Data)
	}
	c = oneCommand(t, AppendCancel(nil, nil))
	if !c.Is(CmdCancel) || len(c.Data) != 0 {
		t.Fatalf("cancel: %q %q", c.Name, c.Data)
	}
}

func TestCommandIs(t *testing.T) {
	c := Command{Name: []byte("READY")}
	for name, want := range map[string]bool{"READY": true, "ready": false, "READ": false, "READYX": false, "": false} {
		if c.Is(name) != want {
			t.Errorf("Is(%q) = %v", name, !want)
		}
	}
}

func TestParseCommandErrors(t *testing.T) {
	for _, in := range [][]byte{
		{},                 // empty body
		{0},                // empty name
		{0, 'A'},           // empty name with data
		{5, 'R', 'E', 'A'}, // name past end
		{1},                // name past end
		{4, 'P', 'I', 'N', '1'},
		{2, 'A', ' '},
		{1, 0x80},
	} {
		_, err := ParseCommand(in)
		wantProto(t, err, opCommand, ErrMalformed)
	}
	// Every truncation of a valid body either parses (with less data) or is
	// refused; never ErrShort, because a body is always complete.
	body := []byte("\x05READY\x00")
	for i := 0; i < len(body); i++ {
		c, err := ParseCommand(body[:i])
		if i >= 6 {
			if err != nil || !c.Is(CmdReady) {
				t.Fatalf("prefix %d: %v", i, err)
			}
			continue
		}
		wantProto(t, err, opCommand, ErrMalformed)
	}
}

func TestParseCommandSlicesAreCapped(t *testing.T) {
	body := []byte("\x04PINGdata")
	c, err := ParseCommand(body)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(c.Name, 'X')
	if string(body) != "\x04PINGdata" {
		t.Fatalf("appending to Name overwrote the body: %q", body)
	}
}

func TestErrorCommand(t *testing.T) {
	for _, reason := range []string{"", "Invalid socket type", strings.Repeat("r", 255)} {
		c := oneCommand(t, AppendError(nil, reason))
		if !c.Is(CmdError) {
			t.Fatalf("name %q", c.Name)
		}
		got, err := ParseError(c.Data)
		if err != nil || string(got) != reason {
			t.Fatalf("reason %q: got %q err=%v", reason, got, err)
		}
	}
	c := oneCommand(t, AppendError(nil, strings.Repeat("q", 400)))
	got, err := ParseError(c.Data)
	if err != nil || len(got) != 255 {
		t.Fatalf("long reason: %d bytes, err=%v", len(got), err)
	}
	// libzmq ignores bytes after the reason; so do we.
	if got, err := ParseError([]byte("\x02okEXTRA")); err != nil || string(got) != "ok" {
		t.Fatalf("trailing bytes: %q %v", got, err)
	}
	for _, in := range [][]byte{nil, {3, 'a', 'b'}, {1}} {
		_, err := ParseError(in)
		wantProto(t, err, opCommand, ErrMalformed)
	}
}

func TestPingPong(t *testing.T) {
	for _, tc := range []struct {
		ttl uint16
		ctx []byte
	}{{0, nil}, {1, []byte{0}}, {65535, []byte("0123456789abcdef")}, {300, []byte("ctx")}} {
		c := oneCommand(t, AppendPing(nil, tc.ttl, tc.ctx))
		if !c.Is(CmdPing) {
			t.Fatalf("name %q", c.Name)
		}
		ttl, ctx, err := ParsePing(c.Data)
		if err != nil || ttl != tc.ttl || !bytes.Equal(ctx, tc.ctx) {
			t.Fatalf("ping %d %q: got %d %q %v", tc.ttl, tc.ctx, ttl, ctx, err)
		}
		p := oneCommand(t, AppendPong(nil, ctx))
		if !p.Is(CmdPong) || !bytes.Equal(p.Data, tc.ctx) {
			t.Fatalf("pong: %q %q", p.Name, p.Data)
		}
	}
	long := []byte("0123456789abcdefXYZ")
	c := oneCommand(t, AppendPing(nil, 5, long))
	if _, ctx, _ := ParsePing(c.Data); string(ctx) != string(long[:16]) {
		t.Fatalf("AppendPing did not cut the context: %q", ctx)
	}
	if p := oneCommand(t, AppendPong(nil, long)); string(p.Data) != string(long[:16]) {
		t.Fatalf("AppendPong did not cut the context: %q", p.Data)
	}
	// A peer may send a longer context; keep 16 bytes like libzmq.
	ttl, ctx, err := ParsePing(append([]byte{0, 9}, long...))
	if err != nil || ttl != 9 || string(ctx) != string(long[:16]) || cap(ctx) != 16 {
		t.Fatalf("long context: %d %q cap %d %v", ttl, ctx, cap(ctx), err)
	}
	for _, in := range [][]byte{nil, {1}} {
		_, _, err := ParsePing(in)
		wantProto(t, err, opCommand, ErrMalformed)
	}
}

func TestReady(t *testing.T) {
	props := []Property{{"Socket-Type", []byte("ROUTER")}, {"Identity", nil}, {"X-Big", bytes.Repeat([]byte("v"), 400)}}
	frame := AppendReady(nil, props...)
	c := oneCommand(t, frame)
	if !c.Is(CmdReady) {
		t.Fatalf("name %q", c.Name)
	}
	var got []Property
	err := ParseMetadata(c.Data, func(name, value []byte) error {
		got = append(got, Property{string(name), bytes.Clone(value)})
		return nil
	})
	if err != nil || len(got) != len(props) {
		t.Fatalf("metadata: %v, %d props", err, len(got))
	}
	for i := range props {
		if got[i].Name != props[i].Name || !bytes.Equal(got[i].Value, props[i].Value) {
			t.Fatalf("prop %d: %q=%q", i, got[i].Name, got[i].Value)
		}
	}
	if c := oneCommand(t, AppendReady(nil)); !c.Is(CmdReady) || len(c.Data) != 0 {
		t.Fatalf("empty READY: %q %q", c.Name, c.Data)
	}
}

// Every command's body encoder, framed as a ZMTP command, is byte for byte its frame encoder: a
// transport that frames commands itself (ZWS) sends exactly the bodies ZMTP would.
func TestCommandBodiesMatchFrames(t *testing.T) {
	props := []Property{{Name: "Socket-Type", Value: []byte("DEALER")}, {Name: "Identity", Value: []byte{0, 1}}}
	long := strings.Repeat("x", 300)
	cases := []struct {
		name        string
		frame, body []byte
	}{
		{"command", AppendCommand(nil, "HELLO", []byte("data")), AppendCommandBody(nil, "HELLO", []byte("data"))},
		{"long name", AppendCommand(nil, long, nil), AppendCommandBody(nil, long, nil)},
		{"metadata", AppendMetadataCommand(nil, CmdReady, props...), AppendMetadataCommandBody(nil, CmdReady, props...)},
		{"error", AppendError(nil, long), AppendErrorBody(nil, long)},
		{"ping", AppendPing(nil, 300, []byte(long)), AppendPingBody(nil, 300, []byte(long))},
	}
	for _, c := range cases {
		if want := AppendFrame(nil, FlagCommand, c.body); !bytes.Equal(c.frame, want) {
			t.Errorf("%s: frame %x, body framed %x", c.name, c.frame, want)
		}
	}
}
