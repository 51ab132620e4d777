package pool

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// withDebug runs f with checking forced to on (or off, where the build allows it).
func withDebug(t *testing.T, on bool, f func()) {
	t.Helper()
	old := debug.Load()
	SetDebug(on)
	defer SetDebug(old)
	f()
}

// mustPanic returns the error the call panicked with, failing the test if it did not.
func mustPanic(t *testing.T, want error, f func()) {
	t.Helper()
	var got any
	func() {
		defer func() { got = recover() }()
		f()
	}()
	if got == nil {
		t.Fatalf("no panic, want %v", want)
	}
	err, ok := got.(error)
	if !ok || !errors.Is(err, want) {
		t.Fatalf("panic value %v, want an error wrapping %v", got, want)
	}
	var me *MisuseError
	if !errors.As(err, &me) {
		t.Fatalf("panic value %T is not a *MisuseError", got)
	}
}

func frames(m *Msg) []string {
	var out []string
	for _, f := range m.Frames(nil) {
		out = append(out, string(f))
	}
	return out
}

func TestMsgFrames(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	if m.Len() != 0 || m.Size() != 0 {
		t.Fatalf("new msg: len %d size %d", m.Len(), m.Size())
	}
	m.AppendFrame([]byte("ab"))
	m.AppendFrame(nil)
	m.AppendFrames([]byte("cde"), []byte(""), []byte("f"))
	m.AddFrame(10)
	m.Extend([]byte("gh"))
	m.Extend([]byte("i"))
	m.AddFrame(0)
	want := []string{"ab", "", "cde", "", "f", "ghi", ""}
	if got := frames(m); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("frames %q, want %q", got, want)
	}
	if m.Len() != len(want) || m.Size() != 9 {
		t.Fatalf("len %d size %d", m.Len(), m.Size())
	}
	for i, w := range want {
		if got := string(m.Frame(i)); got != w {
			t.Fatalf("Frame(%d) = %q, want %q", i, got, w)
		}
	}
	// Views are clipped: appending to one must not overwrite its neighbour.
	f0 := m.Frame(0)
	_ = append(f0, 'X')
	if got := string(m.Frame(1)); got != "" {
		t.Fatalf("frame 1 changed to %q", got)
	}
	if got := string(m.Frame(2)); got != "cde" {
		t.Fatalf("frame 2 changed to %q", got)
	}
	m.Reset()
	if m.Len() != 0 || m.Size() != 0 {
		t.Fatalf("after Reset: len %d size %d", m.Len(), m.Size())
	}
	m.AppendFrame([]byte("z"))
	if got := frames(m); len(got) != 1 || got[0] != "z" {
		t.Fatalf("after Reset and append: %q", got)
	}
}

func TestExtendWithoutFrame(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	m.Extend([]byte("ab"))
	m.Extend([]byte("c"))
	if got := frames(m); len(got) != 1 || got[0] != "abc" {
		t.Fatalf("frames %q", got)
	}
}

// TestExtendSplit is the split-buffer test of the streaming path: a frame fed to Extend cut
// at every byte position, and byte by byte, must equal the same frame added whole.
func TestExtendSplit(t *testing.T) {
	body := make([]byte, 300)
	for i := range body {
		body[i] = byte(i*31 + 7)
	}
	for cut := 0; cut <= len(body); cut++ {
		m := NewMsg()
		m.AppendFrame([]byte("head"))
		m.AddFrame(len(body))
		m.Extend(body[:cut])
		m.Extend(body[cut:])
		m.AppendFrame([]byte("tail"))
		if !bytes.Equal(m.Frame(1), body) || string(m.Frame(0)) != "head" || string(m.Frame(2)) != "tail" {
			t.Fatalf("cut %d: frames differ", cut)
		}
		m.Release()
	}
	m := NewMsg()
	defer m.Release()
	m.AddFrame(len(body))
	for i := range body {
		m.Extend(body[i : i+1])
	}
	if !bytes.Equal(m.Frame(0), body) || m.Len() != 1 {
		t.Fatalf("byte by byte: got %d frames, body equal %v", m.Len(), bytes.Equal(m.Frame(0), body))
	}
}

func TestAddFrameReserveIsCapped(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	m.AddFrame(1 << 30)
	if c := cap(m.b); c < maxReserve || c > 4*maxReserve {
		t.Fatalf("cap after AddFrame(1 GiB) = %d, want within [%d, %d]", c, maxReserve, 4*maxReserve)
	}
	m.AddFrame(-5) // a negative hint reserves nothing and still adds a frame
	if m.Len() != 2 || m.Size() != 0 {
		t.Fatalf("len %d size %d", m.Len(), m.Size())
	}
}

func TestCopyIsIndependent(t *testing.T) {
	withDebug(t, true, func() {
		m := NewMsg()
		m.AppendFrames([]byte("one"), []byte("two"), nil)
		c := m.Copy()
		m.Release() // poisons m's storage; the copies must not see it
		if len(c) != 3 || string(c[0]) != "one" || string(c[1]) != "two" || len(c[2]) != 0 {
			t.Fatalf("copy %q", c)
		}
		_ = append(c[0], 'X')
		if string(c[1]) != "two" {
			t.Fatalf("copies overlap: %q", c[1])
		}
	})
	m := NewMsg()
	defer m.Release()
	if c := m.Copy(); c == nil || len(c) != 0 {
		t.Fatalf("copy of empty msg: %#v", c)
	}
}

func TestDoubleReleasePanics(t *testing.T) {
	for _, dbg := range []bool{false, true} {
		withDebug(t, dbg, func() {
			m := NewMsg()
			m.AppendFrame([]byte("x"))
			m.Release()
			mustPanic(t, ErrDoubleRelease, m.Release)

			b := GetBuffer(10)
			b.Release()
			mustPanic(t, ErrDoubleRelease, b.Release)
		})
	}
}

func TestConcurrentDoubleRelease(t *testing.T) {
	// Two goroutines releasing the same Msg: exactly one must panic.
	for range 100 {
		m := NewMsg()
		panics := make(chan bool, 2)
		for range 2 {
			go func() {
				defer func() { panics <- recover() != nil }()
				m.Release()
			}()
		}
		a, b := <-panics, <-panics
		if a == b {
			t.Fatalf("panics: %v %v, want exactly one", a, b)
		}
	}
}

func TestUseAfterReleasePanics(t *testing.T) {
	withDebug(t, true, func() {
		ops := map[string]func(m *Msg){
			"AppendFrame":  func(m *Msg) { m.AppendFrame([]byte("x")) },
			"AppendFrames": func(m *Msg) { m.AppendFrames([]byte("x")) },
			"AddFrame":     func(m *Msg) { m.AddFrame(1) },
			"Extend":       func(m *Msg) { m.Extend([]byte("x")) },
			"Len":          func(m *Msg) { m.Len() },
			"Size":         func(m *Msg) { m.Size() },
			"Frame":        func(m *Msg) { m.Frame(0) },
			"Frames":       func(m *Msg) { m.Frames(nil) },
			"Copy":         func(m *Msg) { m.Copy() },
			"Reset":        func(m *Msg) { m.Reset() },
		}
		for name, op := range ops {
			t.Run(name, func(t *testing.T) {
				m := NewMsg()
				m.AppendFrame([]byte("payload"))
				m.Release()
				mustPanic(t, ErrUseAfterRelease, func() { op(m) })
				// Retired, not recycled: a later NewMsg must not revive the stale pointer.
				n := NewMsg()
				mustPanic(t, ErrUseAfterRelease, func() { op(m) })
				n.Release()
			})
		}
		b := GetBuffer(4)
		b.Release()
		if b.B != nil {
			t.Fatalf("Buffer.B after Release = %v, want nil", b.B)
		}
	})
}

func TestZeroValuePanics(t *testing.T) {
	var m Msg
	mustPanic(t, ErrNotPooled, func() { m.AppendFrame([]byte("x")) })
	mustPanic(t, ErrNotPooled, m.Release)
	var b Buffer
	mustPanic(t, ErrNotPooled, b.Release)
}

func TestPoisonVisibleThroughRetainedView(t *testing.T) {
	withDebug(t, true, func() {
		m := NewMsg()
		m.AppendFrame([]byte("secret"))
		m.AddFrame(8)
		m.Extend([]byte("more"))
		v0, v1 := m.Frame(0), m.Frame(1)
		m.Release()
		for _, v := range [][]byte{v0, v1} {
			if len(v) == 0 {
				t.Fatal("empty view")
			}
			for i, c := range v {
				if c != PoisonByte {
					t.Fatalf("view byte %d = %#x after Release, want %#x", i, c, PoisonByte)
				}
			}
		}

		b := GetBuffer(16)
		copy(b.B, "scratch data....")
		kept := b.B
		b.Release()
		if !bytes.Equal(kept, bytes.Repeat([]byte{PoisonByte}, 16)) {
			t.Fatalf("buffer view after Release = %q", kept)
		}
	})
}

func TestNoPoisonWithoutChecking(t *testing.T) {
	if raceChecks {
		t.Skip("checking is always on in race builds")
	}
	withDebug(t, false, func() {
		m := NewMsg()
		m.AppendFrame([]byte("keep"))
		v := m.Frame(0)
		m.Release()
		// Storage went back to the pool untouched; production pays no memset.
		if string(v) != "keep" {
			t.Fatalf("view = %q", v)
		}
	})
}

func TestGetBuffer(t *testing.T) {
	for _, n := range []int{0, 1, 100, 5000, 1 << 20} {
		b := GetBuffer(n)
		if len(b.B) != n {
			t.Fatalf("GetBuffer(%d): len %d", n, len(b.B))
		}
		for i := range b.B {
			b.B[i] = byte(i)
		}
		b.Release()
	}
	b := GetBuffer(-3)
	if len(b.B) != 0 {
		t.Fatalf("GetBuffer(-3): len %d", len(b.B))
	}
	b.Release()
}

func TestEndsCapacityBounded(t *testing.T) {
	if Checking() {
		t.Skip("checking retires released messages")
	}
	m := NewMsg()
	for range maxKeptFrames + 1 {
		m.AddFrame(0)
	}
	m.Release()
	if m.ends != nil {
		t.Fatalf("kept %d frame offsets, want them dropped", cap(m.ends))
	}
	m = NewMsg()
	m.AppendFrame([]byte("a"))
	m.Release()
	if m.ends == nil || cap(m.ends) == 0 {
		t.Fatal("small frame-offset slice not kept for reuse")
	}
}

var sink int

// Envelope frames go in front without moving the body while there is room, and PopFront hands back
// the frame in place.
func TestPushPopFront(t *testing.T) {
	m := NewMsg()
	defer m.Release()
	m.ReserveFront(8)
	m.AppendFrame([]byte("body"))
	body := &m.Frame(0)[0]
	m.PushFront(nil)
	m.PushFront([]byte("id-1"))
	if got := frames(m); fmt.Sprint(got) != "[id-1  body]" || m.Size() != 8 {
		t.Fatalf("frames %q, size %d", got, m.Size())
	}
	if &m.Frame(2)[0] != body {
		t.Fatal("the body moved although the reserved room sufficed")
	}
	// Past the reserved room the frames move once, with room to spare for more.
	m.PushFront([]byte("a-longer-routing-id"))
	moved := &m.Frame(3)[0]
	m.PushFront([]byte("x"))
	if &m.Frame(4)[0] != moved || string(m.Frame(4)) != "body" {
		t.Fatal("a second push moved the body again")
	}
	for _, want := range []string{"x", "a-longer-routing-id", "id-1", ""} {
		if got := m.PopFront(); string(got) != want {
			t.Fatalf("popped %q, want %q", got, want)
		}
	}
	if got := frames(m); fmt.Sprint(got) != "[body]" || m.Size() != 4 || m.Len() != 1 {
		t.Fatalf("after popping: %q, size %d", got, m.Size())
	}
	if m.PopFront() == nil || m.PopFront() != nil || m.Len() != 0 || m.Size() != 0 {
		t.Fatal("popping the last frame, then an empty message")
	}
	if c := m.Copy(); len(c) != 0 {
		t.Fatalf("copy of an emptied message: %q", c)
	}
}

// A shared message reads the same bytes as its original until either changes, and each is released
// on its own, in any order.
func TestShare(t *testing.T) {
	for _, lastFirst := range []bool{false, true} {
		m := NewMsg()
		m.AppendFrames([]byte("topic"), []byte("payload"))
		c := m.Share()
		if fmt.Sprint(frames(c)) != "[topic payload]" || &c.Frame(1)[0] != &m.Frame(1)[0] {
			t.Fatalf("share: %q, same bytes %v", frames(c), &c.Frame(1)[0] == &m.Frame(1)[0])
		}
		d := c.Share()
		d.PopFront() // header only: the others keep both frames
		c.AppendFrame([]byte("more"))
		if fmt.Sprint(frames(m)) != "[topic payload]" || fmt.Sprint(frames(c)) != "[topic payload more]" ||
			fmt.Sprint(frames(d)) != "[payload]" {
			t.Fatalf("after changes: %q %q %q", frames(m), frames(c), frames(d))
		}
		if &c.Frame(1)[0] == &m.Frame(1)[0] || &d.Frame(0)[0] != &m.Frame(1)[0] {
			t.Fatal("a changed message still reads the shared bytes, or an unchanged one stopped")
		}
		if lastFirst {
			m, d = d, m
		}
		m.Release()
		if got := string(d.Frame(len(frames(d)) - 1)); got != "payload" {
			t.Fatalf("the remaining holder reads %q", got)
		}
		d.Release()
		c.Release()
	}
}

// With checking on, the shared bytes are poisoned when the last holder releases them, not before.
func TestSharePoison(t *testing.T) {
	withDebug(t, true, func() {
		m := NewMsg()
		m.AppendFrame([]byte("data"))
		c := m.Share()
		view := c.Frame(0)
		m.Release()
		if string(view) != "data" {
			t.Fatalf("poisoned while shared: %q", view)
		}
		c.Release()
		if view[0] != PoisonByte {
			t.Fatalf("not poisoned after the last release: %q", view)
		}
	})
}

// Holders on many goroutines release concurrently; the body is recycled once (the race detector and
// the pool's own checks would catch a second recycling).
func TestShareConcurrentRelease(t *testing.T) {
	for round := 0; round < 50; round++ {
		m := NewMsg()
		m.AppendFrame(bytes.Repeat([]byte{byte(round)}, 100))
		done := make(chan struct{})
		for i := 0; i < 8; i++ {
			c := m.Share()
			go func() {
				defer func() { done <- struct{}{} }()
				if c.Frame(0)[99] != byte(round) {
					t.Error("a holder reads wrong bytes")
				}
				c.Release()
			}()
		}
		m.Release()
		for i := 0; i < 8; i++ {
			<-done
		}
	}
}

// A held message stays readable until its last holder releases it, whichever that is, and is
// poisoned (checking on) only then; releases from many goroutines recycle it once.
func TestHold(t *testing.T) {
	withDebug(t, true, func() {
		m := NewMsg()
		m.AppendFrame([]byte("data"))
		view := m.Frame(0)
		m.Hold(2)
		m.Release()
		m.Release()
		if string(view) != "data" || string(m.Frame(0)) != "data" {
			t.Fatalf("released before its last holder: %q", view)
		}
		m.Release()
		if view[0] != PoisonByte {
			t.Fatalf("not poisoned after the last release: %q", view)
		}
		defer func() {
			if e, ok := recover().(*MisuseError); !ok || !errors.Is(e, ErrDoubleRelease) {
				t.Fatalf("a release past the holders: %v", e)
			}
		}()
		m.Release()
	})
	for round := 0; round < 50; round++ {
		m := NewMsg()
		m.AppendFrame(bytes.Repeat([]byte{byte(round)}, 100))
		m.Hold(8)
		done := make(chan struct{})
		for i := 0; i < 8; i++ {
			go func() {
				defer func() { done <- struct{}{} }()
				if m.Frame(0)[99] != byte(round) {
					t.Error("a holder reads wrong bytes")
				}
				m.Release()
			}()
		}
		m.Release()
		for i := 0; i < 8; i++ {
			<-done
		}
		// Recycled with no holders left over: the next owner's single Release returns it.
		n := NewMsg()
		if n.extra.Load() != 0 {
			t.Fatalf("a recycled message keeps %d holders", n.extra.Load())
		}
		n.Release()
	}
}

func TestZeroAllocs(t *testing.T) {
	if Checking() {
		t.Skip("checking on (race build or SetDebug): released values are not recycled")
	}
	p := make([]byte, 64)
	recv := func() {
		m := NewMsg()
		m.AddFrame(len(p))
		m.Extend(p[:20])
		m.Extend(p[20:])
		m.AddFrame(len(p))
		m.Extend(p)
		sink += m.Size() + len(m.Frame(1))
		m.Release()
	}
	send := func() {
		m := NewMsg()
		m.AppendFrame(p)
		m.AppendFrames(p, p[:3])
		sink += m.Len()
		m.Release()
	}
	scratch := func() {
		b := GetBuffer(256)
		b.B[0] = 1
		b.Release()
	}
	envelope := func() { // a ROUTER's id on a received message, then a reply's envelope swapped
		m := NewMsg()
		m.ReserveFront(16)
		m.AppendFrame(p)
		m.PushFront(p[:5])
		id := m.PopFront()
		m.PushFront(nil)
		m.PushFront(id)
		sink += m.Len()
		m.Release()
	}
	share := func() { // a message fanned out to three peers
		m := NewMsg()
		m.AppendFrame(p)
		a, b := m.Share(), m.Share()
		sink += len(a.Frame(0)) + len(b.Frame(0))
		b.Release()
		m.Release()
		a.Release()
	}
	for name, f := range map[string]func(){"recv": recv, "send": send, "scratch": scratch, "envelope": envelope, "share": share} {
		for range 100 { // warm the pools
			f()
		}
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, a)
		}
	}
}

func BenchmarkMsgRecv64(b *testing.B) {
	p := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		m := NewMsg()
		m.AddFrame(len(p))
		m.Extend(p[:32])
		m.Extend(p[32:])
		m.Release()
	}
}

func BenchmarkMsgSend64(b *testing.B) {
	p := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		m := NewMsg()
		m.AppendFrame(p)
		m.Release()
	}
}

func BenchmarkMsgSend64Parallel(b *testing.B) {
	p := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := NewMsg()
			m.AppendFrame(p)
			m.Release()
		}
	})
}

func BenchmarkGetBuffer256(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		buf := GetBuffer(256)
		buf.Release()
	}
}

// A frame popped from a shared message and pushed back is taken back in place: nothing is written
// to the shared body, so a holder releasing its share meanwhile cannot pull the bytes away (the
// copy-on-write path used to read them after dropping its reference).
func TestPushFrontPoppedOnShared(t *testing.T) {
	withDebug(t, true, func() {
		for i := 0; i < 200; i++ {
			m := NewMsg()
			m.AppendFrames([]byte("routing-id"), bytes.Repeat([]byte{7}, 4096))
			c := m.Share()
			done := make(chan struct{})
			go func() { c.Release(); close(done) }()
			id := m.PopFront()
			m.PushFront(id)
			<-done
			if string(m.Frame(0)) != "routing-id" || m.Frame(1)[4095] != 7 {
				t.Fatalf("round %d: %q", i, m.Frame(0))
			}
			m.Release()
		}
	})
}

// A frame copied in pieces (appendChunked) arrives whole and in place, whatever its length against
// the piece size, after frames already there and before frames added later.
func TestAppendFrameInPieces(t *testing.T) {
	for _, n := range []int{copyChunk - 1, copyChunk, copyChunk + 1, 3*copyChunk + 5} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*7 + i>>16)
		}
		m := NewMsg()
		m.AppendFrame([]byte("head"))
		m.AppendFrame(p)
		m.AppendFrames([]byte("x"), p)
		m.AddFrame(0)
		m.Extend(p[:n/2])
		m.Extend(p[n/2:])
		want := [][]byte{[]byte("head"), p, []byte("x"), p, p}
		if m.Len() != len(want) {
			t.Fatalf("%d bytes: %d frames, want %d", n, m.Len(), len(want))
		}
		for i, w := range want {
			if !bytes.Equal(m.Frame(i), w) {
				t.Fatalf("%d bytes: frame %d differs", n, i)
			}
		}
		m.Release()
	}
}
