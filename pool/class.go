package pool

import (
	"math/bits"
	"sync"
)

// Body storage comes in size classes, each with a pool of its own, so that a 1 MiB body is recycled
// as a 1 MiB body and never stands in for a 64-byte one (nor a 64-byte one for it), and growing a
// body never copies it through a ladder of doublings.
//
//   - Up to smallMax (256 KiB) the classes are powers of two from 64 bytes.
//   - From there to maxClass (64 MiB) there are four per doubling (1¼, 1½, 1¾ and 2 times a power of
//     two), so a body wastes at most a fifth of its class; pages a body never touched cost no
//     resident memory anyway.
//   - A body larger than maxClass is allocated at exactly its size, once, and left to the garbage
//     collector when released: pooling it would pin that much memory for the next message that may
//     never come.
//
// Retention is bounded the way sync.Pool bounds it: a class keeps at most what was released and not
// taken again since the garbage collector's last two cycles (the runtime forces a cycle at least
// every two minutes), so memory held for bursts returns to the runtime once they are over, and in a
// steady stream the same buffers go round without an allocation.
const (
	minClassShift = 6  // 64 bytes
	smallShift    = 18 // smallMax
	maxClassShift = 26 // maxClass

	smallMax = 1 << smallShift
	// maxClass is the largest pooled body.
	maxClass = 1 << maxClassShift

	nSmall   = smallShift - minClassShift + 1        // 64 B .. 256 KiB
	nClasses = nSmall + 4*(maxClassShift-smallShift) // and four per doubling up to 64 MiB
)

// buf carries a body through a class pool (sync.Pool wants pointers; a slice would allocate).
type buf struct{ b []byte }

var (
	classes [nClasses]sync.Pool // *buf, each b of exactly its class's capacity
	holders = sync.Pool{New: func() any { return new(buf) }}
)

// classOf returns the smallest class holding n bytes and its capacity, or -1 and n when n is above
// maxClass.
func classOf(n int) (int, int) {
	switch {
	case n <= 1<<minClassShift:
		return 0, 1 << minClassShift
	case n <= smallMax:
		s := bits.Len(uint(n - 1)) // 2^(s-1) < n <= 2^s
		return s - minClassShift, 1 << s
	case n <= maxClass:
		s := bits.Len(uint(n-1)) - 1 // 2^s < n <= 2^(s+1)
		step := 1 << (s - 2)
		q := (n - 1<<s + step - 1) / step // 1..4 quarters above 2^s
		return nSmall + 4*(s-smallShift) + q - 1, 1<<s + q*step
	}
	return -1, n
}

// newBody returns empty storage for at least n bytes: from n's class pool, or exactly n above the
// largest class.
func newBody(n int) []byte {
	c, size := classOf(n)
	if c < 0 {
		return make([]byte, 0, size)
	}
	if h, _ := classes[c].Get().(*buf); h != nil {
		b := h.b
		h.b = nil
		holders.Put(h)
		return b
	}
	return make([]byte, 0, size)
}

// freeBody gives storage back to its class pool; storage of no class (larger than maxClass, or not
// from newBody) is left to the garbage collector. With checking on it is poisoned and dropped.
func freeBody(b []byte) {
	if cap(b) == 0 {
		return
	}
	if Checking() {
		poison(b)
		return
	}
	c, size := classOf(cap(b))
	if c < 0 || size != cap(b) {
		return
	}
	h := holders.Get().(*buf)
	h.b = b[:0]
	classes[c].Put(h)
}
