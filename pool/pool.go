package pool

import (
	"slices"
	"sync"
	"sync/atomic"
)

const (
	// maxReserve caps what AddFrame reserves up front: the size hint usually comes from a
	// peer's frame header, and a hostile peer must not make us allocate gigabytes by
	// announcing them. Bytes that really arrive still grow the buffer as needed.
	maxReserve = 64 << 10

	// maxKeptFrames bounds the frame-offset slice kept across reuse, so that one message of
	// millions of tiny frames does not pin that much memory in the pool for ever.
	maxKeptFrames = 4096

	// PoisonByte fills released storage while checking is on.
	PoisonByte = 0xDB
)

const (
	stateZero     uint32 = iota // never handed out by NewMsg/GetBuffer
	stateLive                   // owned by a caller
	stateReleased               // back in (or retired from) the pool
)

var (
	msgs    = sync.Pool{New: func() any { return new(Msg) }}
	buffers = sync.Pool{New: func() any { return new(Buffer) }}
	bodies  = sync.Pool{New: func() any { return new(sharedBody) }}

	debug atomic.Bool
)

// SetDebug turns lifetime checking on or off for the whole process (it is always on in
// race builds). Any goroutine may call it; it affects values released afterwards.
func SetDebug(on bool) { debug.Store(on) }

// Checking reports whether lifetime checking is on.
func Checking() bool { return raceChecks || debug.Load() }

func poison(b []byte) {
	b = b[:cap(b)]
	for i := range b {
		b[i] = PoisonByte
	}
}

// maxKeptBytes is the largest body buffer a released Msg keeps for its next use; larger ones go
// back to their size class (class.go).
const maxKeptBytes = smallMax

// Msg is a multipart ZeroMQ message whose frame bodies live, concatenated, in one pooled
// buffer. Obtain one with NewMsg; the zero value is not usable.
type Msg struct {
	b     []byte      // the frames' bodies, from a size class (class.go); nil: no storage yet
	sb    *sharedBody // non-nil while b is shared with other Msgs (Share): then nobody writes to it
	off   int         // start of frame 0 in b: room for envelope frames, or where popped frames were
	ends  []int       // end offset of each frame in b; capacity kept across reuse
	state atomic.Uint32
	cmd   bool      // a ZMTP command: one frame holding name length, name and data
	md    *Metadata // the connection's properties (zmq_msg_gets); shared, immutable
	// extra counts the holders beside the first (Hold): each Release takes one off, and the
	// one that finds none left (the count goes negative) releases the message.
	extra atomic.Int32
}

// sharedBody counts the Msgs that share one body buffer; the last to be released recycles it.
type sharedBody struct {
	b    []byte
	refs atomic.Int32
}

// Share returns a new Msg with the same frames as m without copying them: both read one body buffer,
// which is recycled when the last of them is released. Each is owned and released on its own, by
// any goroutine; a mutation of either (appending, Extend, PushFront, Reset, ...) first gives that one
// a private copy. For fanning a message out to many peers. Any goroutine may call it; m's owner
// serialises it with m's other methods.
func (m *Msg) Share() *Msg {
	m.live("Share")
	if m.sb == nil {
		sb := bodies.Get().(*sharedBody)
		sb.b = m.b
		sb.refs.Store(1)
		m.sb = sb
	}
	m.sb.refs.Add(1)
	c := msgs.Get().(*Msg)
	c.state.Store(stateLive)
	freeBody(c.b) // a buffer kept from its last use: c reads m's instead
	c.b, c.sb, c.off, c.cmd, c.md = m.b, m.sb, m.off, m.cmd, m.md
	c.ends = append(c.ends[:0], m.ends...)
	return c
}

// own gives m a body buffer of its own before a mutation, copying the shared one unless m is the
// last holder.
func (m *Msg) own() {
	sb := m.sb
	if sb == nil {
		return
	}
	m.sb = nil
	if sb.refs.Load() == 1 { // the others are gone: the buffer is m's alone now
		sb.b = nil
		bodies.Put(sb)
		return
	}
	nb := newBody(len(m.b))
	m.b = append(nb, m.b...)
	sb.release()
}

// release drops one holder of the shared body and recycles the body with the last one.
func (sb *sharedBody) release() {
	if sb.refs.Add(-1) != 0 {
		return
	}
	b := sb.b
	sb.b = nil
	bodies.Put(sb)
	freeBody(b) // poisons it instead while checking
}

// grow makes room for a body of total bytes, keeping what m holds: storage of exactly total bytes'
// class (exactly total above the largest class), or, when amortize is set, at least twice the
// current length, so that a body built by many appends is copied O(1) times per byte. The old
// storage goes back to its class. m is not shared.
func (m *Msg) grow(total int, amortize bool) {
	if total <= cap(m.b) {
		return
	}
	if amortize {
		total = max(total, 2*len(m.b))
	}
	nb := appendChunked(newBody(total), m.b)
	freeBody(m.b)
	m.b = nb
}

// NewMsg returns an empty message from the pool, owned by the caller, who must Release
// it (or hand it to an API that takes ownership). Any goroutine may call it.
func NewMsg() *Msg {
	m := msgs.Get().(*Msg)
	m.state.Store(stateLive)
	m.cmd = false // md is nil already: Release drops it, so that the pool holds no connection's metadata
	return m
}

// SetCommand marks m as a ZMTP command (SUBSCRIBE, CANCEL, ...): its single frame is the
// command body (name length, name, data) and goes on the wire with the COMMAND flag.
func (m *Msg) SetCommand(on bool) {
	m.live("SetCommand")
	m.cmd = on
}

// IsCommand reports whether m was marked with SetCommand.
func (m *Msg) IsCommand() bool {
	m.live("IsCommand")
	return m.cmd
}

// live is the cheap guard of every method; the panic path is kept out of line so that
// the guard stays inlinable.
func (m *Msg) live(op string) {
	if m.state.Load() != stateLive {
		m.misuse(op)
	}
}

//go:noinline
func (m *Msg) misuse(op string) {
	err := ErrUseAfterRelease
	switch m.state.Load() {
	case stateZero:
		err = ErrNotPooled
	case stateReleased:
		if op == "Release" {
			err = ErrDoubleRelease
		}
	}
	panic(&MisuseError{Type: "Msg", Op: op, Err: err})
}

// AppendFrame copies p as a new last frame. p may be reused by the caller at once.
func (m *Msg) AppendFrame(p []byte) {
	m.live("AppendFrame")
	m.own()
	m.grow(len(m.b)+len(p), true)
	m.b = appendChunked(m.b, p)
	m.ends = append(m.ends, len(m.b))
}

// AppendFrames copies each of frames as a new frame, in order.
func (m *Msg) AppendFrames(frames ...[]byte) {
	m.live("AppendFrames")
	m.own()
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	m.grow(len(m.b)+n, true)
	m.ends = slices.Grow(m.ends, len(frames))
	for _, f := range frames {
		m.b = appendChunked(m.b, f)
		m.ends = append(m.ends, len(m.b))
	}
}

// AddFrame starts a new, empty last frame that Extend then fills. It reserves room for
// min(sizeHint, 64 KiB) bytes: the hint saves regrowth for ordinary frames, and the cap
// keeps a peer's announced size from driving a large allocation by itself.
func (m *Msg) AddFrame(sizeHint int) {
	m.live("AddFrame")
	m.own()
	if sizeHint > maxReserve {
		sizeHint = maxReserve
	}
	if sizeHint > 0 {
		m.grow(len(m.b)+sizeHint, true)
	}
	m.ends = append(m.ends, len(m.b))
}

// ReserveFrame starts a new, empty last frame with room for exactly size bytes, which Extend then
// fills without moving the body: the storage is allocated (or taken from its size class) once, at
// its final size. The caller vouches for size: a size read from a peer must have been checked
// against a limit first (AddFrame caps what it reserves instead). The body is copied only when the
// frames before are at least as large as this one, and then into twice their size, so that a
// message of many large frames is still copied O(1) times per byte.
func (m *Msg) ReserveFrame(size int) {
	m.live("ReserveFrame")
	m.own()
	if size > 0 {
		m.grow(len(m.b)+size, size < len(m.b))
	}
	m.ends = append(m.ends, len(m.b))
}

// Grow makes room for n more bytes after the last frame, so that the next n bytes of Extend do not
// move the body. It allocates exactly what is missing (rounded up to its size class), not more:
// the caller decides how a body of unknown final size grows.
func (m *Msg) Grow(n int) {
	m.live("Grow")
	m.own()
	if n > 0 {
		m.grow(len(m.b)+n, false)
	}
}

// Spare returns the room after the last frame (see ReserveFrame and Grow), for reading the frame's
// next bytes straight into it, as from a socket. Passing a filled prefix of it to Extend takes the
// bytes in place, without a copy. It is valid until the next mutation of m.
func (m *Msg) Spare() []byte {
	m.live("Spare")
	m.own()
	return m.b[len(m.b):cap(m.b)]
}

// Extend appends p to the last frame, for a frame that arrives in pieces. On a message
// without frames it starts one. p may be reused by the caller at once. When p is a prefix of
// Spare (the bytes were read into the message itself), Extend copies nothing.
func (m *Msg) Extend(p []byte) {
	m.live("Extend")
	m.own()
	if n := len(m.b); len(p) > 0 && cap(m.b)-n >= len(p) && &m.b[:n+1][n] == &p[0] {
		m.b = m.b[:n+len(p)]
	} else {
		m.grow(n+len(p), true)
		m.b = appendChunked(m.b, p)
	}
	if len(m.ends) == 0 {
		m.ends = append(m.ends, len(m.b))
		return
	}
	m.ends[len(m.ends)-1] = len(m.b)
}

// Len returns the number of frames.
func (m *Msg) Len() int {
	m.live("Len")
	return len(m.ends)
}

// Size returns the total number of body bytes over all frames.
func (m *Msg) Size() int {
	m.live("Size")
	return len(m.b) - m.off
}

// Frame returns a view of frame i, 0 <= i < Len() (other values panic like a slice index).
// The view is valid until Release or the next mutation of m; its capacity is clipped, so
// appending to it never overwrites the next frame.
func (m *Msg) Frame(i int) []byte {
	m.live("Frame")
	start := m.off
	if i > 0 {
		start = m.ends[i-1]
	}
	end := m.ends[i]
	return m.b[start:end:end]
}

// Frames appends a view of every frame to dst and returns the extended slice. The views
// are valid until Release or the next mutation of m.
func (m *Msg) Frames(dst [][]byte) [][]byte {
	m.live("Frames")
	start := m.off
	for _, end := range m.ends {
		dst = append(dst, m.b[start:end:end])
		start = end
	}
	return dst
}

// Copy returns independent copies of all frames (two allocations in total). They stay
// valid after Release; this is the convenient, allocating API.
func (m *Msg) Copy() [][]byte {
	m.live("Copy")
	body := slices.Clone(m.b[m.off:])
	if body == nil {
		body = []byte{}
	}
	out := make([][]byte, len(m.ends))
	start := 0
	for i, end := range m.ends {
		end -= m.off
		out[i] = body[start:end:end]
		start = end
	}
	return out
}

// headroomExtra is what PushFront adds to the room it makes when it has to move the frames: an
// envelope usually grows by a few frames, and each should not move the body again.
const headroomExtra = 32

// ReserveFront sets aside n bytes in front of an empty message for frames that PushFront adds later
// (a ROUTER's routing id on every received message), so that they need not move the body. On a
// message with frames it does nothing.
func (m *Msg) ReserveFront(n int) {
	m.live("ReserveFront")
	if len(m.ends) > 0 || n <= 0 {
		return
	}
	m.own()
	m.b = m.b[:0]
	m.grow(n, false)
	m.b = m.b[:n]
	m.off = n
}

// PushFront copies p as a new first frame (an envelope frame). It uses the room in front of the
// frames (ReserveFront, or frames popped before) and moves the body only when there is too little.
// p may be reused by the caller at once. It may be the view PopFront just returned, which is then
// taken back without writing anything (so even on a shared body), but not a view of m's frames.
func (m *Msg) PushFront(p []byte) {
	m.live("PushFront")
	if n := len(p); n == 0 || (m.off >= n && &p[0] == &m.b[m.off-n]) {
		// An empty frame, or the frame just in front of the others: only the offsets change.
		m.off -= n
		m.ends = slices.Insert(m.ends, 0, m.off+n)
		return
	}
	m.own()
	if m.off < len(p) {
		m.moveFrames(len(p) - m.off + headroomExtra)
	}
	m.off -= len(p)
	copy(m.b[m.off:], p)
	m.ends = slices.Insert(m.ends, 0, m.off+len(p))
}

// moveFrames shifts every frame shift bytes further into the buffer.
func (m *Msg) moveFrames(shift int) {
	n := len(m.b)
	m.grow(n+shift, true)
	m.b = m.b[:n+shift]
	copy(m.b[m.off+shift:], m.b[m.off:n])
	m.off += shift
	for i := range m.ends {
		m.ends[i] += shift
	}
}

// PopFront removes the first frame, without copying anything, and returns a view of it that is
// valid until Release or the next mutation of m. On a message without frames it returns nil.
func (m *Msg) PopFront() []byte {
	m.live("PopFront")
	if len(m.ends) == 0 {
		return nil
	}
	start, end := m.off, m.ends[0]
	m.ends = slices.Delete(m.ends, 0, 1)
	m.off = end
	return m.b[start:end:end]
}

// Reset drops all frames but keeps the storage, invalidating earlier views.
func (m *Msg) Reset() {
	m.live("Reset")
	if m.sb != nil {
		sb := m.sb
		m.sb, m.b = nil, nil
		sb.release()
	}
	m.b = m.b[:0]
	m.off = 0
	m.ends = m.ends[:0]
	m.cmd = false
}

// Hold adds n holders to m, each of which releases it once (the owner keeps its own
// Release): the last Release recycles it. While more than one holds it, m is read-only
// for all of them (Frame, Len, Size, IsCommand): no mutation and no Share, as nothing
// orders the holders' accesses but the Releases. For handing one message to many
// readers, as a fan-out hands it to many connections' encoders, without a Msg each.
// The owner calls it, before handing m on.
func (m *Msg) Hold(n int) {
	m.live("Hold")
	if n > 0 {
		m.extra.Add(int32(n))
	}
}

// Release returns m to the pool; neither m nor any view of it may be used afterwards.
// A second Release panics (an error wrapping ErrDoubleRelease). With checking on, the
// bytes are poisoned with 0xDB and m is retired instead of recycled. Of a message held
// by several (Hold), only the last Release returns it.
func (m *Msg) Release() {
	if m.extra.Load() != 0 {
		if m.extra.Add(-1) >= 0 {
			return
		}
		m.extra.Store(0) // the last holder: the others are gone
	}
	if !m.state.CompareAndSwap(stateLive, stateReleased) {
		m.misuse("Release")
	}
	m.md = nil
	if sb := m.sb; sb != nil {
		// A shared body: the last of its holders recycles (or poisons) it.
		m.sb, m.b = nil, nil
		sb.release()
		if Checking() {
			m.ends = nil
			return
		}
		m.off = 0
		m.ends = keptEnds(m.ends)
		msgs.Put(m)
		return
	}
	if Checking() {
		b := m.b
		m.b = nil
		poison(b)
		m.ends = nil
		return
	}
	m.off = 0
	m.ends = keptEnds(m.ends)
	if cap(m.b) <= maxKeptBytes {
		// A small buffer stays with its Msg: one pool operation per message instead of two.
		m.b = m.b[:0]
	} else {
		freeBody(m.b) // back to its size class, or to the garbage collector
		m.b = nil
	}
	msgs.Put(m)
}

// keptEnds empties a frame-offset slice for reuse, or drops one too large to keep.
func keptEnds(ends []int) []int {
	if cap(ends) > maxKeptFrames {
		return nil
	}
	return ends[:0]
}

// Buffer is a pooled scratch byte slice. Obtain one with GetBuffer and Release it when
// done; the same lifetime policy as for Msg applies to B and every slice of it.
type Buffer struct {
	// B has the length asked of GetBuffer; its contents are unspecified (not zeroed).
	// The owner may reslice it or write into it freely. Release recycles the storage
	// GetBuffer provided, not anything B was later pointed at.
	B []byte

	store []byte // what GetBuffer took from its size class
	state atomic.Uint32
}

// GetBuffer returns a pooled Buffer whose B has length n (n < 0 counts as 0), owned by the
// caller. Any goroutine may call it.
func GetBuffer(n int) *Buffer {
	n = max(n, 0)
	b := buffers.Get().(*Buffer)
	b.state.Store(stateLive)
	b.store = newBody(n)
	b.B = b.store[:n]
	return b
}

// Release returns b to the pool; neither b nor any slice of b.B may be used afterwards
// (B is set to nil). A second Release panics (an error wrapping ErrDoubleRelease). With
// checking on, the storage is poisoned with 0xDB and not recycled.
func (b *Buffer) Release() {
	if !b.state.CompareAndSwap(stateLive, stateReleased) {
		err := ErrDoubleRelease
		if b.state.Load() == stateZero {
			err = ErrNotPooled
		}
		panic(&MisuseError{Type: "Buffer", Op: "Release", Err: err})
	}
	store := b.store
	b.store, b.B = nil, nil
	freeBody(store) // poisons it instead while checking
	if Checking() {
		return
	}
	buffers.Put(b)
}

// copyChunk bounds one memmove of a body. The runtime cannot stop a goroutine inside memmove, and a
// copy into fresh storage takes a page fault every 4 KiB: one 16 MiB copy ran for milliseconds while
// the garbage collector, waiting to scan the copying goroutine's stack, spun and sent it preemption
// signals (a tenth of a 16 MiB sender's CPU at the default high-water mark). Each piece is a call
// of its own, whose entry is where the goroutine stops when asked to.
const copyChunk = 256 << 10

// appendChunked is append(b, p...) in pieces of copyChunk bytes; b has room for p.
func appendChunked(b, p []byte) []byte {
	if len(p) <= copyChunk {
		return append(b, p...)
	}
	n := len(b)
	b = b[:n+len(p)]
	for off := 0; off < len(p); off += copyChunk {
		copyPiece(b[n+off:], p[off:min(off+copyChunk, len(p))])
	}
	return b
}

//go:noinline
func copyPiece(dst, src []byte) { copy(dst, src) }
