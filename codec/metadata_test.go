package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

type kv struct{ name, value string }

func collect(b []byte) ([]kv, error) {
	var out []kv
	err := ParseMetadata(b, func(name, value []byte) error {
		out = append(out, kv{string(name), string(value)})
		return nil
	})
	return out, err
}

func TestMetadataRoundTrip(t *testing.T) {
	props := []Property{
		{"Socket-Type", []byte("DEALER")},
		{"Identity", []byte{}},
		{"x.y-z_w+1", []byte{0, 1, 2}},
		{strings.Repeat("N", 255), bytes.Repeat([]byte{0xFE}, 70000)},
	}
	b := AppendMetadata([]byte("pre"), props...)
	if len(b)-3 != MetadataLen(props...) {
		t.Fatalf("MetadataLen %d, wrote %d", MetadataLen(props...), len(b)-3)
	}
	got, err := collect(b[3:])
	if err != nil || len(got) != len(props) {
		t.Fatalf("err=%v got %d props", err, len(got))
	}
	for i, p := range props {
		if got[i].name != p.Name || got[i].value != string(p.Value) {
			t.Fatalf("prop %d: %q", i, got[i].name)
		}
	}
	want := []byte("\x0bSocket-Type\x00\x00\x00\x06DEALER")
	if one := AppendProperty(nil, "Socket-Type", []byte("DEALER")); !bytes.Equal(one, want) {
		t.Fatalf("wire form %q, want %q", one, want)
	}
	if got, err := collect(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty metadata: %v %v", got, err)
	}
}

func TestAppendPropertyCutsName(t *testing.T) {
	long := strings.Repeat("n", 300)
	b := AppendProperty(nil, long, []byte("v"))
	if len(b) != MetadataLen(Property{long, []byte("v")}) {
		t.Fatalf("MetadataLen disagrees with AppendProperty: %d vs %d", MetadataLen(Property{long, []byte("v")}), len(b))
	}
	got, err := collect(b)
	if err != nil || len(got) != 1 || got[0].name != long[:255] || got[0].value != "v" {
		t.Fatalf("got %v err=%v", got, err)
	}
}

func TestParseMetadataTruncations(t *testing.T) {
	b := AppendMetadata(nil, Property{"A", []byte("xy")}, Property{"Bb", nil}, Property{"C", []byte("z")})
	bounds := map[int]int{0: 0, 8: 1, 15: 2, len(b): 3} // prefix length -> properties
	for i := 0; i <= len(b); i++ {
		got, err := collect(b[:i])
		if want, ok := bounds[i]; ok {
			if err != nil || len(got) != want {
				t.Fatalf("prefix %d: %d props, err=%v", i, len(got), err)
			}
			continue
		}
		wantProto(t, err, opMetadata, ErrMalformed)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	prop := func(name string, size uint32, value string) []byte {
		b := append([]byte{byte(len(name))}, name...)
		return append(binary.BigEndian.AppendUint32(b, size), value...)
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty name", prop("", 0, "")},
		{"space in name", prop("Socket Type", 0, "")},
		{"slash in name", prop("a/b", 0, "")},
		{"colon in name", prop("a:b", 0, "")},
		{"non-ASCII name", prop("caf\xc3\xa9", 0, "")},
		{"NUL in name", prop("a\x00", 0, "")},
		{"value past end", prop("A", 3, "ab")},
		{"value of 2^31", prop("A", 1<<31, "")},
		{"value of 2^32-1", prop("A", 1<<32-1, "")},
		{"name past end", []byte{5, 'A', 'B'}},
		{"size past end", []byte{1, 'A', 0, 0}},
		{"bad second property", append(prop("A", 1, "v"), prop("", 0, "")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := collect(tc.in)
			wantProto(t, err, opMetadata, ErrMalformed)
			if err := ParseMetadata(tc.in, nil); err == nil {
				t.Fatal("nil fn: malformed input validated")
			}
		})
	}
}

func TestParseMetadataStopsAtCallbackError(t *testing.T) {
	b := AppendMetadata(nil, Property{"A", nil}, Property{"B", nil}, Property{"C", nil})
	stop := errors.New("stop here")
	var seen []string
	err := ParseMetadata(b, func(name, _ []byte) error {
		seen = append(seen, string(name))
		if string(name) == "B" {
			return stop
		}
		return nil
	})
	if err != stop || strings.Join(seen, ",") != "A,B" {
		t.Fatalf("err=%v seen=%v", err, seen)
	}
	if err := ParseMetadata(b, nil); err != nil {
		t.Fatalf("nil fn: %v", err)
	}
}

func TestParseMetadataSlicesAreCapped(t *testing.T) {
	b := AppendMetadata(nil, Property{"A", []byte("v")}, Property{"B", []byte("w")})
	orig := bytes.Clone(b)
	_ = ParseMetadata(b, func(name, value []byte) error {
		_ = append(name, '!')
		_ = append(value, '!')
		return nil
	})
	if !bytes.Equal(b, orig) {
		t.Fatalf("appending to a returned slice changed the input: %q", b)
	}
}

func TestMetadataPreservesCase(t *testing.T) {
	got, err := collect(AppendMetadata(nil, Property{"socket-TYPE", []byte("PUB")}))
	if err != nil || got[0].name != "socket-TYPE" {
		t.Fatalf("got %v err=%v", got, err)
	}
}
