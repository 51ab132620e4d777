package procpeer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// The plan is what a sender sends, the same in Go and in oneshot.py: count single-frame
// messages "s0", "s1", ..., then multi multipart messages ["m<j>", "", body, "t<j>"] whose
// body has size multiSizes[j % len(multiSizes)] and byte k = (k*31 + j*7 + 7) mod 251. The
// names make a report readable; the bodies cover empty frames and frames past every
// length encoding (ZMTP short/long, WebSocket 7/16/64-bit).
var multiSizes = []int{0, 1, 255, 256, 4096, 65536, 70000}

// probe is what a PUB sends until the test tells it its subscriber got one.
var probe = []byte("PROBE")

// replyTag is the frame a replier puts before the request to make its reply.
var replyTag = []byte("re")

func body(j, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte((k*31 + j*7 + 7) % 251)
	}
	return b
}

// Plan returns the messages of a plan of count single-frame and multi multipart messages.
func Plan(count, multi int) [][][]byte {
	msgs := make([][][]byte, 0, count+multi)
	for i := range count {
		msgs = append(msgs, [][]byte{fmt.Appendf(nil, "s%d", i)})
	}
	for j := range multi {
		msgs = append(msgs, [][]byte{fmt.Appendf(nil, "m%d", j), {}, body(j, multiSizes[j%len(multiSizes)]),
			fmt.Appendf(nil, "t%d", j)})
	}
	return msgs
}

// Summary is how a receiver reports a frame: "=text" for up to 40 printable ASCII bytes,
// "0x..." for other short frames, "#len:digest" (the first 8 bytes of its SHA-256) for the
// rest; oneshot.py computes the same.
func Summary(f []byte) string {
	if len(f) <= 40 {
		for _, c := range f {
			if c < 0x20 || c > 0x7e {
				return "0x" + hex.EncodeToString(f)
			}
		}
		return "=" + string(f)
	}
	sum := sha256.Sum256(f)
	return fmt.Sprintf("#%d:%x", len(f), sum[:8])
}

// Summaries returns the summary of each frame of m.
func Summaries(m [][]byte) []string {
	s := make([]string, len(m))
	for i, f := range m {
		s[i] = Summary(f)
	}
	return s
}

func msgString(m []string) string { return "[" + strings.Join(m, " ") + "]" }
