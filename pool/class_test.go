package pool

import (
	"bytes"
	"testing"
)

// Every size maps to the smallest class that holds it, classes grow monotonically, and none wastes
// more than a fifth of itself above the small range.
func TestClassOf(t *testing.T) {
	prev := 0
	for c := 0; c < nClasses; c++ {
		var size int
		for n := prev + 1; ; n++ {
			got, s := classOf(n)
			if got != c {
				t.Fatalf("classOf(%d) = %d, want %d (class above %d)", n, got, c, prev)
			}
			size = s
			if n > smallMax && n == prev+1 && float64(size-n)/float64(size) > 0.2 {
				t.Fatalf("class %d of %d bytes holds %d: wastes more than a fifth", c, size, n)
			}
			n = size // jump to the class's last size
			if got, s := classOf(n); got != c || s != size {
				t.Fatalf("classOf(%d) = %d, %d, want %d, %d", n, got, s, c, size)
			}
			break
		}
		if size <= prev {
			t.Fatalf("class %d: %d bytes, not above %d", c, size, prev)
		}
		prev = size
	}
	if prev != maxClass {
		t.Fatalf("largest class %d bytes, want %d", prev, maxClass)
	}
	if c, s := classOf(maxClass + 1); c != -1 || s != maxClass+1 {
		t.Fatalf("classOf(maxClass+1) = %d, %d: want no class, exact size", c, s)
	}
	if c, s := classOf(0); c != 0 || s != 64 {
		t.Fatalf("classOf(0) = %d, %d", c, s)
	}
}

// ReserveFrame allocates a body once at its final size: Spare has room for the whole frame, bytes
// read into it are taken in place, and the body is its class's size (exactly the size above the
// largest class).
func TestReserveFrameExact(t *testing.T) {
	for _, size := range []int{100, 1 << 20, 3<<20 + 5, maxClass + 1} {
		m := NewMsg()
		m.ReserveFront(16)
		m.ReserveFrame(size)
		sp := m.Spare()
		if len(sp) < size {
			t.Fatalf("%d: spare %d", size, len(sp))
		}
		_, class := classOf(16 + size)
		if cap(m.b) != class {
			t.Fatalf("%d: cap %d, want the class's %d", size, cap(m.b), class)
		}
		base := &m.b[:1][0]
		for i := range size {
			sp[i] = byte(i * 7)
		}
		m.Extend(sp[:size/3])
		m.Extend(sp[size/3 : size])
		if &m.b[:1][0] != base {
			t.Fatalf("%d: the body moved", size)
		}
		f := m.Frame(0)
		if len(f) != size || f[size-1] != byte((size-1)*7) || f[0] != 0 {
			t.Fatalf("%d: frame of %d bytes, wrong content", size, len(f))
		}
		m.PushFront([]byte("id"))
		if &m.b[:1][0] != base || string(m.Frame(0)) != "id" {
			t.Fatalf("%d: envelope moved the body", size)
		}
		m.Release()
	}
}

// Frames before a large one: the body is copied once into its new size; many frames as large as all
// before them double it instead of copying on every frame.
func TestReserveFrameSeveral(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	m.AppendFrame([]byte("head"))
	m.ReserveFrame(1 << 20)
	if c := cap(m.b); c != 1<<20+1<<18 { // the class above 1 MiB + 4 bytes
		t.Fatalf("cap %d", c)
	}
	m.Extend(make([]byte, 1<<20))
	moves := 0
	for i := 0; i < 8; i++ {
		before := cap(m.b)
		m.ReserveFrame(1 << 20)
		if cap(m.b) != before {
			moves++
		}
		m.Extend(bytes.Repeat([]byte{byte(i)}, 1<<20))
	}
	if moves > 4 {
		t.Fatalf("%d moves for 8 frames of 1 MiB", moves)
	}
	if m.Len() != 10 || m.Frame(9)[0] != 7 || string(m.Frame(0)) != "head" {
		t.Fatalf("%d frames", m.Len())
	}
}

// Grow allocates what is missing and no more: a caller growing a body of unknown size decides the
// steps.
func TestGrowExact(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	m.ReserveFrame(0)
	m.Extend(make([]byte, 100))
	m.Grow(maxClass + 10)
	if c := cap(m.b); c != 100+maxClass+10 {
		t.Fatalf("cap %d, want %d", c, 100+maxClass+10)
	}
	m.Grow(5) // there is room: nothing moves
	if c := cap(m.b); c != 100+maxClass+10 {
		t.Fatalf("cap %d after a Grow within the room", c)
	}
}

// Extend of bytes that are not in Spare copies them, even when they come from the message itself.
func TestExtendNotSpare(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	m.AppendFrame([]byte("abc"))
	m.AddFrame(0)
	m.Extend(m.Frame(0)) // the frame before, not the spare room
	if got := frames(m); len(got) != 2 || got[1] != "abc" {
		t.Fatalf("frames %q", got)
	}
}

// Large bodies go round their class: steady receiving and sending of 1 MiB messages, and of 20 MB
// ones, allocates nothing once warm; a body above the largest class is not kept.
func TestZeroAllocsLarge(t *testing.T) {
	if Checking() {
		t.Skip("checking on (race build or SetDebug): released values are not recycled")
	}
	for _, size := range []int{1 << 20, 20e6} {
		payload := make([]byte, size)
		recv := func() {
			m := NewMsg()
			m.ReserveFront(32)
			m.ReserveFrame(size)
			sp := m.Spare()
			m.Extend(sp[:64<<10])
			m.Extend(payload[64<<10:]) // the rest copied, as out of gnet's buffer
			sink += m.Size()
			m.Release()
		}
		send := func() {
			m := NewMsg()
			m.AppendFrame(payload)
			sink += m.Size()
			m.Release()
		}
		for name, f := range map[string]func(){"recv": recv, "send": send} {
			for range 3 {
				f()
			}
			if a := testing.AllocsPerRun(20, f); a != 0 {
				t.Errorf("%d bytes, %s: %v allocs per run, want 0", size, name, a)
			}
		}
	}
	m := NewMsg()
	m.ReserveFrame(maxClass + 1)
	m.Release()
	if m.b != nil {
		t.Fatal("a Msg kept a body above the largest class")
	}
}

// Free lists filled with a size nobody takes any more do not keep the room from the size in use:
// releasing the new size drops the stale buffers, and its steady state allocates nothing.
func TestStaleClassEvicted(t *testing.T) {
	if Checking() {
		t.Skip("checking on (race build or SetDebug): released bodies are not recycled")
	}
	var stale [][]byte
	for i := 0; i < keptTotal/(3<<20)+2; i++ {
		stale = append(stale, newBody(3<<20))
	}
	for _, b := range stale {
		freeBody(b)
	}
	const inFlight = 40 // 40 MiB: within the budget, not beside the stale 3 MiB bodies
	bodies := make([][]byte, inFlight)
	cycle := func() {
		for i := range bodies {
			bodies[i] = newBody(1 << 20)
		}
		for i := range bodies {
			freeBody(bodies[i])
			bodies[i] = nil
		}
	}
	cycle()
	if a := testing.AllocsPerRun(20, cycle); a != 0 {
		t.Fatalf("%v allocations per cycle of %d bodies, want 0", a, inFlight)
	}
	c, _ := classOf(3 << 20)
	classes[c].mu.Lock()
	n := len(classes[c].free)
	classes[c].mu.Unlock()
	if n*(3<<20)+inFlight<<20 > keptTotal {
		t.Fatalf("%d stale 3 MiB bodies kept beside %d MiB in use", n, inFlight)
	}
}
