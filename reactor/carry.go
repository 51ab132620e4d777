package reactor

import "slices"

// carry holds bytes that gnet had read for a connection when we took it out of gnet (a pause, or the
// peer's EOF while paused). They are parsed before anything newer. The bytes are consumed from the
// front by an offset and compacted in place when more is appended. Each loop keeps one spare buffer
// for its carries: pauses come and go many times a second under a slow reader, and a general pool
// would drop buffers this large.
type carry struct {
	b   []byte // nil when empty
	off int    // consumed bytes at the front of b
}

func (k *carry) len() int { return len(k.b) - k.off }

// bytes returns the unconsumed bytes, valid until the next add or consume.
func (k *carry) bytes() []byte { return k.b[k.off:] }

// add appends p (copied), taking l's spare buffer when k has none.
func (k *carry) add(l *loop, p []byte) {
	if len(p) == 0 {
		return
	}
	if k.b == nil {
		k.b, l.spare = l.spare[:0], nil
		k.off = 0
	}
	if k.off > 0 && len(k.b)+len(p) > cap(k.b) {
		n := copy(k.b, k.b[k.off:])
		k.b, k.off = k.b[:n], 0
	}
	k.b = append(k.b, p...)
}

// grow makes room for at least n more bytes at the end (tls.go decrypts straight into it).
func (k *carry) grow(l *loop, n int) {
	if k.b == nil {
		k.b, l.spare = l.spare[:0], nil
		k.off = 0
	}
	if k.off > 0 {
		m := copy(k.b, k.b[k.off:])
		k.b, k.off = k.b[:m], 0
	}
	k.b = slices.Grow(k.b, n)
}

// consume drops n bytes from the front and gives the buffer back to l once it is empty.
func (k *carry) consume(l *loop, n int) {
	k.off += n
	if k.off >= len(k.b) {
		k.reset(l)
	}
}

func (k *carry) reset(l *loop) {
	if k.b != nil && cap(k.b) > cap(l.spare) && cap(k.b) <= maxSpare {
		l.spare = k.b[:0]
	}
	k.b, k.off = nil, 0
}

// maxSpare bounds the buffer a loop keeps between pauses.
const maxSpare = 1 << 20

// maxDrain bounds what readAll takes from a closed connection's descriptor: more than any kernel
// socket buffer holds, so it only stops a runaway.
const maxDrain = 64 << 20

// readAll appends what the kernel still holds for fd, up to its end or an error. fd is
// non-blocking; the peer has closed, so nothing new arrives while it reads.
func (k *carry) readAll(l *loop, fd int) {
	if k.b == nil {
		k.b, l.spare = l.spare[:0], nil
		k.off = 0
	}
	for read := 0; read < maxDrain; {
		if len(k.b) == cap(k.b) {
			k.b = slices.Grow(k.b, 64<<10)
		}
		n, err := readFD(fd, k.b[len(k.b):cap(k.b)])
		if n <= 0 || err != nil {
			return
		}
		k.b = k.b[:len(k.b)+n]
		read += n
	}
}
