package pool

import (
	"math/bits"
	"sync"
	"sync/atomic"
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
// Retention is bounded twice. Each class keeps its most recently released buffers in a free list of
// its own, all classes together about keptTotal bytes at most: a steady stream takes back what it
// gave, whatever the garbage collector does and whichever goroutines release and take, without an
// allocation. When the free lists are full, a release makes room by moving buffers of the class
// least recently taken from to that class's sync.Pool (sizes an application no longer uses do not
// hold the room for ever), and what still does not fit goes to its own class's sync.Pool, which
// keeps it only until the garbage collector's second cycle (the runtime forces one at least every
// two minutes), so memory held for a burst returns to the runtime once the burst is over.
const (
	minClassShift = 6  // 64 bytes
	smallShift    = 18 // smallMax
	maxClassShift = 26 // maxClass

	smallMax = 1 << smallShift
	// maxClass is the largest pooled body.
	maxClass = 1 << maxClassShift

	nSmall   = smallShift - minClassShift + 1        // 64 B .. 256 KiB
	nClasses = nSmall + 4*(maxClassShift-smallShift) // and four per doubling up to 64 MiB

	// keptTotal bounds the bytes the free lists of all classes keep together.
	keptTotal = 64 << 20
)

// buf carries a body through a class's sync.Pool (which wants pointers; a slice would allocate).
type buf struct{ b []byte }

// class is one size's storage: a bounded free list, and a sync.Pool for what does not fit in it.
type class struct {
	mu   sync.Mutex
	free [][]byte      // most recently released last
	used atomic.Uint64 // the takes clock at the class's last newBody
	over sync.Pool     // *buf
}

var (
	classes [nClasses]class
	kept    atomic.Int64  // bytes in all free lists
	takes   atomic.Uint64 // newBody calls of any class: the clock that says which class is stale
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
	k := &classes[c]
	k.used.Store(takes.Add(1))
	k.mu.Lock()
	if n := len(k.free); n > 0 {
		b := k.free[n-1]
		k.free[n-1] = nil
		k.free = k.free[:n-1]
		k.mu.Unlock()
		kept.Add(-int64(size))
		return b
	}
	k.mu.Unlock()
	if h, _ := k.over.Get().(*buf); h != nil {
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
	k := &classes[c]
	for kept.Load()+int64(size) > keptTotal && evictStalerThan(c, k.used.Load()) {
	}
	if kept.Add(int64(size)) <= keptTotal {
		k.mu.Lock()
		k.free = append(k.free, b[:0])
		k.mu.Unlock()
		return
	}
	kept.Add(-int64(size))
	k.overflow(b[:0])
}

// overflow puts b in the class's sync.Pool, in a holder (a slice would allocate there).
func (k *class) overflow(b []byte) {
	h := holders.Get().(*buf)
	h.b = b
	k.over.Put(h)
}

// evictStalerThan drops a free buffer of the class least recently taken from, if that is another
// class than c and staler than used, and reports whether it did (or should look again).
func evictStalerThan(c int, used uint64) bool {
	victim, vused := -1, used
	for j := range classes {
		k := &classes[j]
		u := k.used.Load()
		if j == c || u >= vused {
			continue
		}
		k.mu.Lock()
		n := len(k.free)
		k.mu.Unlock()
		if n > 0 {
			victim, vused = j, u
		}
	}
	if victim < 0 {
		return false
	}
	k := &classes[victim]
	k.mu.Lock()
	n := len(k.free)
	if n == 0 {
		k.mu.Unlock()
		return true // taken meanwhile: look again
	}
	b := k.free[n-1]
	k.free[n-1] = nil
	k.free = k.free[:n-1]
	k.mu.Unlock()
	kept.Add(-int64(cap(b)))
	// Into its class's sync.Pool rather than straight to the collector: a class taken from just
	// before the one that evicts it (a large frame's first part, then its whole) finds it there at
	// its next take, and the collector still has it within two cycles if nobody does.
	k.overflow(b)
	return true
}
