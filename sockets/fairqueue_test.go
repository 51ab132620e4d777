package sockets

import (
	"math/rand/v2"
	"testing"

	"github.com/zloop/zloop/reactor"
)

// listQueue is the fair queue as a plain list (every drop moves the pipes after it): the order
// fairQueue must keep with its holes, set and compactions.
type listQueue struct {
	pipes []*reactor.Pipe
	next  int
}

func (l *listQueue) add(p *reactor.Pipe) {
	for _, q := range l.pipes {
		if q == p {
			return
		}
	}
	l.pipes = append(l.pipes, p)
}

// turn returns the pipe whose turn it is, dropping those empty says are empty, and moves on past
// the one it returns.
func (l *listQueue) turn(empty func(*reactor.Pipe) bool) *reactor.Pipe {
	for len(l.pipes) > 0 {
		if l.next >= len(l.pipes) {
			l.next = 0
		}
		p := l.pipes[l.next]
		if !empty(p) {
			l.next++
			return p
		}
		l.pipes = append(l.pipes[:l.next], l.pipes[l.next+1:]...)
	}
	return nil
}

func fqTurn(fq *fairQueue, empty func(*reactor.Pipe) bool) *reactor.Pipe {
	for {
		p, i := fq.current()
		if p == nil {
			return nil
		}
		if !empty(p) {
			fq.next = i + 1
			return p
		}
		fq.remove(i)
	}
}

// Random adds and turns, with pipes found empty at random, over queues of a few pipes (a look
// through the list) and of hundreds (the set, holes, compactions): the same pipe every turn as
// the plain list.
func TestFairQueueOrder(t *testing.T) {
	for _, n := range []int{3, 12, 40, 600} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		pipes := make([]*reactor.Pipe, n)
		for i := range pipes {
			pipes[i] = new(reactor.Pipe)
		}
		var fq fairQueue
		var ref listQueue
		emptyNow := map[*reactor.Pipe]bool{}
		empty := func(p *reactor.Pipe) bool { return emptyNow[p] }
		for step := 0; step < 20000; step++ {
			if rng.IntN(3) == 0 {
				p := pipes[rng.IntN(n)]
				emptyNow[p] = false
				fq.add(p)
				ref.add(p)
				continue
			}
			// A pipe may have run dry since it was added.
			if p := pipes[rng.IntN(n)]; rng.IntN(2) == 0 {
				emptyNow[p] = true
			}
			want, got := ref.turn(empty), fqTurn(&fq, empty)
			if got != want {
				t.Fatalf("n=%d step %d: fairQueue gave another pipe than the list", n, step)
			}
			if fq.live != len(ref.pipes) || len(fq.pipes) > 2*fq.live+fqIndexAt {
				t.Fatalf("n=%d step %d: %d live in %d slots, the list has %d", n, step, fq.live, len(fq.pipes), len(ref.pipes))
			}
		}
	}
}

// A ROUTER's fair queue with a thousand readable peers, each found empty on its turn and readable
// again at once: a drop, an add and a turn per message. fairQueue against the plain list it
// replaced (which walked the list on every add and moved it on every drop).
func BenchmarkFairQueue1000(b *testing.B) {
	pipes := make([]*reactor.Pipe, 1000)
	for i := range pipes {
		pipes[i] = new(reactor.Pipe)
	}
	b.Run("fairQueue", func(b *testing.B) {
		var fq fairQueue
		for _, p := range pipes {
			fq.add(p)
		}
		for i := 0; i < b.N; i++ {
			victim, _ := fq.current()
			if fqTurn(&fq, func(p *reactor.Pipe) bool { return p == victim }) == nil {
				b.Fatal("empty")
			}
			fq.add(victim)
		}
	})
	b.Run("list", func(b *testing.B) {
		var l listQueue
		for _, p := range pipes {
			l.add(p)
		}
		for i := 0; i < b.N; i++ {
			victim := l.pipes[l.next%len(l.pipes)]
			if l.turn(func(p *reactor.Pipe) bool { return p == victim }) == nil {
				b.Fatal("empty")
			}
			l.add(victim)
		}
	})
}
