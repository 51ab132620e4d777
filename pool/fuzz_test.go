package pool

import (
	"bytes"
	"testing"
)

// FuzzMsgOps drives a Msg with an operation stream decoded from the input and checks it
// against a plain [][]byte model after every step.
func FuzzMsgOps(f *testing.F) {
	// Seeds: op streams that build the messages the encoder side produces most
	// (one frame, an empty delimiter plus body, a frame in pieces).
	f.Add([]byte{0, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c', 6, 1})
	f.Add([]byte{1, 200, 2, 3, 'a', 'b', 'c', 2, 1, 'd', 4, 1, 0})
	f.Add([]byte{5, 0, 2, 'x', 'y', 3, 1, 0, 0})
	// Envelopes: a ROUTER's id pushed in front of a received body, a REQ's delimiter popped.
	f.Add([]byte{9, 8, 1, 0, 2, 3, 'a', 'b', 'c', 7, 5, 0, 'i', 'd', '0', '1', 6, 0, 8, 6, 0})
	f.Add([]byte{0, 0, 0, 2, 'h', 'i', 8, 7, 40, 'e', 'n', 'v', 6, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		m := NewMsg()
		defer func() { m.Release() }() // m may be swapped for a shared copy
		var model [][]byte
		next := func() int {
			if len(in) == 0 {
				return 0
			}
			c := int(in[0])
			in = in[1:]
			return c
		}
		take := func() []byte {
			n := min(next(), len(in))
			p := in[:n]
			in = in[n:]
			return p
		}
		for len(in) > 0 {
			switch next() % 11 {
			case 0:
				p := take()
				m.AppendFrame(p)
				model = append(model, bytes.Clone(p))
			case 1:
				m.AddFrame(next() << (next() % 24))
				model = append(model, []byte{})
			case 2:
				p := take()
				m.Extend(p)
				if len(model) == 0 {
					model = append(model, []byte{})
				}
				model[len(model)-1] = append(model[len(model)-1], p...)
			case 3:
				a, b := take(), take()
				m.AppendFrames(a, b)
				model = append(model, bytes.Clone(a), bytes.Clone(b))
			case 4:
				m.Reset()
				model = model[:0]
			case 5:
				c := m.Copy()
				if len(c) != len(model) {
					t.Fatalf("copy has %d frames, model %d", len(c), len(model))
				}
			case 6:
				if len(model) > 0 {
					i := next() % len(model)
					if !bytes.Equal(m.Frame(i), model[i]) {
						t.Fatalf("frame %d = %q, model %q", i, m.Frame(i), model[i])
					}
				}
			case 7:
				p := take()
				m.PushFront(p)
				model = append([][]byte{bytes.Clone(p)}, model...)
			case 8:
				got := m.PopFront()
				if len(model) == 0 {
					if got != nil {
						t.Fatalf("PopFront of an empty message: %q", got)
					}
					break
				}
				if !bytes.Equal(got, model[0]) {
					t.Fatalf("popped %q, model %q", got, model[0])
				}
				model = model[1:]
				if len(model) > 0 && next()%2 == 0 {
					m.PushFront(got) // put back from its own storage
					model = append([][]byte{bytes.Clone(got)}, model...)
				}
			case 9:
				m.ReserveFront(next())
			case 10:
				// A shared copy reads the same frames; changing it leaves m alone.
				c := m.Share()
				if c.Len() != len(model) {
					t.Fatalf("share has %d frames, model %d", c.Len(), len(model))
				}
				for i := range model {
					if !bytes.Equal(c.Frame(i), model[i]) {
						t.Fatalf("shared frame %d = %q, model %q", i, c.Frame(i), model[i])
					}
				}
				c.PushFront(take())
				c.AppendFrame(take())
				if next()%2 == 0 {
					m, c = c, m // keep the changed one, release the original
					model = append([][]byte{bytes.Clone(m.Frame(0))}, model...)
					model = append(model, bytes.Clone(m.Frame(m.Len()-1)))
				}
				c.Release()
			}
			size := 0
			for _, fr := range model {
				size += len(fr)
			}
			if m.Len() != len(model) || m.Size() != size {
				t.Fatalf("len %d size %d, model %d %d", m.Len(), m.Size(), len(model), size)
			}
		}
		got := m.Frames(nil)
		for i := range model {
			if !bytes.Equal(got[i], model[i]) {
				t.Fatalf("frame %d = %q, model %q", i, got[i], model[i])
			}
		}
	})
}
