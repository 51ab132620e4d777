package swarm

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/zloop/zloop/codec"
)

// serverStream is what a server sends a swarm connection: its greeting, READY, then messages
// (one of two frames, one of one), with a PING among them.
func serverStream() []byte {
	b := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL", AsServer: false})
	b = codec.AppendReady(b, codec.Property{Name: "Socket-Type", Value: []byte("ROUTER")})
	b = codec.AppendFrame(b, codec.FlagMore, []byte("part"))
	b = appendRequest(b, 16, 42)
	b = codec.AppendPing(b, 0, []byte("ctx"))
	b = codec.AppendFrame(b, 0, make([]byte, 300)) // a long frame header
	return b
}

type item struct {
	ev   event
	body []byte
}

// feed parses b delivered in the given pieces, as the client does: a partial item is carried
// over and completed by the next piece.
func feed(pieces [][]byte) ([]item, error) {
	var s stream
	var got []item
	var carry []byte
	for _, p := range pieces {
		data := append(carry, p...)
		for len(data) > 0 {
			ev, body, n, err := s.next(data)
			if err != nil {
				return got, err
			}
			if n == 0 {
				break
			}
			if ev != evNone {
				got = append(got, item{ev, slices.Clone(body)})
			}
			data = data[n:]
		}
		carry = slices.Clone(data)
	}
	if len(carry) > 0 {
		return got, errors.New("bytes left over")
	}
	return got, nil
}

func TestStream(t *testing.T) {
	b := serverStream()
	want, err := feed([][]byte{b})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 4 || want[0].ev != evReady || want[1].ev != evMsg || want[2].ev != evPing || want[3].ev != evMsg ||
		binary.LittleEndian.Uint64(want[1].body) != 42 || len(want[1].body) != 16 || string(want[2].body) != "ctx" ||
		len(want[3].body) != 300 {
		t.Fatalf("got %+v", want)
	}
	// Split at every byte: the same items.
	for i := 1; i < len(b); i++ {
		got, err := feed([][]byte{b[:i], b[i:]})
		if err != nil || len(got) != len(want) {
			t.Fatalf("split at %d: %d items, %v", i, len(got), err)
		}
		for k := range got {
			if got[k].ev != want[k].ev || !slices.Equal(got[k].body, want[k].body) {
				t.Fatalf("split at %d: item %d differs", i, k)
			}
		}
	}
	// One byte at a time.
	var bytes [][]byte
	for i := range b {
		bytes = append(bytes, b[i:i+1])
	}
	if got, err := feed(bytes); err != nil || len(got) != len(want) {
		t.Fatalf("byte by byte: %d items, %v", len(got), err)
	}
}

func TestStreamRefuses(t *testing.T) {
	g := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "NULL"})
	plain := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN"})
	for name, b := range map[string][]byte{
		"not zmtp":          []byte("GET / HTTP/1.1\r\n"),
		"plain":             plain,
		"message first":     codec.AppendFrame(slices.Clone(g), 0, []byte("x")),
		"ping first":        codec.AppendPing(slices.Clone(g), 0, nil),
		"reserved flags":    append(slices.Clone(g), 0x80, 0),
		"frame over 1 MiB":  codec.AppendFrameHeader(codec.AppendReady(slices.Clone(g)), 0, maxFrame+1),
		"bad command frame": codec.AppendFrame(slices.Clone(g), codec.FlagCommand, []byte{9, 'x'}),
	} {
		if _, err := feed([][]byte{b}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHello(t *testing.T) {
	for _, m := range []Mode{ModeIdle, ModeSub, ModeDealer} {
		b := hello(m)
		g, n, err := codec.ParseGreeting(b)
		if err != nil || g.Mechanism != "NULL" || g.Major != 3 || g.Minor != 1 {
			t.Fatalf("%s: greeting %+v, %v", m, g, err)
		}
		h, hn, err := codec.ParseFrameHeader(b[n:], -1)
		if err != nil || !h.Command() || n+hn+int(h.Size) != len(b) {
			t.Fatalf("%s: READY frame %+v, %v", m, h, err)
		}
		c, err := codec.ParseCommand(b[n+hn:])
		want := map[Mode]string{ModeSub: "SUB"}[m]
		if want == "" {
			want = "DEALER"
		}
		typ := ""
		_ = codec.ParseMetadata(c.Data, func(k, v []byte) error {
			if string(k) == "Socket-Type" {
				typ = string(v)
			}
			return nil
		})
		if err != nil || !c.Is(codec.CmdReady) || typ != want {
			t.Fatalf("%s: READY %q of %q, %v", m, c.Name, typ, err)
		}
	}
	if !slices.Equal(subscribeAll, []byte{0, 1, 1}) {
		t.Fatalf("subscription %x", subscribeAll)
	}
}

func FuzzStream(f *testing.F) {
	f.Add(serverStream(), uint16(7))
	f.Add(serverStream()[:70], uint16(64))
	f.Fuzz(func(t *testing.T, b []byte, at uint16) {
		whole, err1 := feed([][]byte{b})
		i := int(at) % (len(b) + 1)
		split, err2 := feed([][]byte{b[:i], b[i:]})
		if (err1 == nil) != (err2 == nil) || len(whole) != len(split) {
			t.Fatalf("whole: %d items, %v; split at %d: %d items, %v", len(whole), err1, i, len(split), err2)
		}
	})
}
