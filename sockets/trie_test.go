package sockets

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// checkRadix verifies the tree's invariants: non-root labels are non-empty, children are sorted
// by their first byte, and no non-root node is both empty and with fewer than two children.
func checkRadix[V any](t testing.TB, r *radix[V], empty func(*V) bool) {
	t.Helper()
	var walk func(n *rnode[V], root bool)
	walk = func(n *rnode[V], root bool) {
		if !root {
			if len(n.label) == 0 {
				t.Fatal("empty label below the root")
			}
			if empty(&n.val) && len(n.kids) < 2 {
				t.Fatalf("empty node %q with %d children left in the tree", n.label, len(n.kids))
			}
		}
		for i, k := range n.kids {
			if i > 0 && n.kids[i-1].label[0] >= k.label[0] {
				t.Fatal("children out of order")
			}
			walk(k, false)
		}
	}
	walk(&r.root, true)
}

// modelMatch is the obvious prefix match over a set of topics.
func modelMatch(topics map[string]int, data []byte) bool {
	for k, n := range topics {
		if n > 0 && bytes.HasPrefix(data, []byte(k)) {
			return true
		}
	}
	return false
}

// runTopicOps interprets ops as a sequence of add/remove/match operations on short topics over a
// small alphabet (so that prefixes collide often) and checks topicSet against a map.
func runTopicOps(t testing.TB, ops []byte) {
	var s topicSet
	model := map[string]int{}
	for len(ops) >= 2 {
		op, n := ops[0]%3, int(ops[1]%6)
		ops = ops[2:]
		n = min(n, len(ops))
		topic := make([]byte, n)
		for i := range topic {
			topic[i] = 'a' + ops[i]%3
		}
		ops = ops[n:]
		switch op {
		case 0:
			if got, want := s.add(topic), model[string(topic)] == 0; got != want {
				t.Fatalf("add %q: new=%v, want %v", topic, got, want)
			}
			model[string(topic)]++
		case 1:
			want := model[string(topic)] == 1
			if got := s.remove(topic); got != want {
				t.Fatalf("remove %q: last=%v, want %v", topic, got, want)
			}
			if model[string(topic)] > 0 {
				model[string(topic)]--
			}
		case 2:
			if got, want := s.match(topic), modelMatch(model, topic); got != want {
				t.Fatalf("match %q: %v, want %v (model %v)", topic, got, want, model)
			}
		}
		checkRadix(t, &s.t, zeroCount)
	}
	var got, want []string
	s.each(func(topic []byte) { got = append(got, string(topic)) })
	for k, n := range model {
		if n > 0 {
			want = append(want, k)
		}
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("each: %q, want %q", got, want)
	}
	if s.n != len(want) {
		t.Fatalf("count %d, want %d", s.n, len(want))
	}
}

func TestTopicSetRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		ops := make([]byte, 400)
		for j := range ops {
			ops[j] = byte(rng.UintN(256))
		}
		runTopicOps(t, ops)
	}
}

func TestTopicSetBasics(t *testing.T) {
	var s topicSet
	if s.match([]byte("x")) {
		t.Fatal("empty set matched")
	}
	s.add(nil)
	if !s.match(nil) || !s.match([]byte("anything")) {
		t.Fatal("the empty topic matches everything")
	}
	s.add([]byte("abcdef"))
	s.add([]byte("abcxyz"))
	s.add([]byte("ab"))
	if !s.remove(nil) || s.match([]byte("zzz")) || !s.match([]byte("abq")) || s.match([]byte("a")) {
		t.Fatal("prefix matching after removing the empty topic")
	}
	for _, k := range []string{"abcdef", "abcxyz", "ab"} {
		if !s.remove([]byte(k)) {
			t.Fatalf("remove %q", k)
		}
	}
	if len(s.t.root.kids) != 0 || s.n != 0 {
		t.Fatalf("tree not empty after removing everything: %d kids", len(s.t.root.kids))
	}
}

func FuzzTopicSet(f *testing.F) {
	f.Add([]byte{0, 3, 0, 1, 2, 0, 2, 1, 2, 3, 0, 1, 2})
	f.Add([]byte{0, 0, 0, 5, 1, 1, 1, 1, 1, 1, 0, 2, 1, 1, 2, 5, 1, 1, 1, 1, 1})
	f.Add(bytes.Repeat([]byte{0, 4, 0, 1, 2, 0}, 20))
	f.Fuzz(func(t *testing.T, ops []byte) { runTopicOps(t, ops) })
}

// runPipeOps does the same for pipeSet, with four pipes.
func runPipeOps(t testing.TB, ops []byte, pipes []*reactor.Pipe) {
	var s pipeSet
	model := map[string]map[*reactor.Pipe]bool{}
	for len(ops) >= 3 {
		op, p, n := ops[0]%3, pipes[int(ops[1])%len(pipes)], int(ops[2]%6)
		ops = ops[3:]
		n = min(n, len(ops))
		topic := make([]byte, n)
		for i := range topic {
			topic[i] = 'a' + ops[i]%3
		}
		ops = ops[n:]
		set := model[string(topic)]
		switch op {
		case 0:
			first, added := s.add(topic, p)
			if first != (len(set) == 0) || added != !set[p] {
				t.Fatalf("add %q: first=%v added=%v, model %v", topic, first, added, set)
			}
			if set == nil {
				set = map[*reactor.Pipe]bool{}
				model[string(topic)] = set
			}
			set[p] = true
		case 1:
			found, last := s.remove(topic, p)
			if found != set[p] || (found && last != (len(set) == 1)) {
				t.Fatalf("remove %q: found=%v last=%v, model %v", topic, found, last, set)
			}
			delete(set, p)
		case 2:
			want := map[*reactor.Pipe]int{}
			for k, set := range model {
				if bytes.HasPrefix(topic, []byte(k)) {
					for p := range set {
						want[p]++
					}
				}
			}
			// matchSets: the model's pipes, one non-empty set per matching prefix, each distinct.
			sets := s.matchSets(topic, nil)
			fromSets := map[*reactor.Pipe]int{}
			for _, set := range sets {
				if len(set) == 0 {
					t.Fatalf("matchSets %q: an empty set", topic)
				}
				seen := map[*reactor.Pipe]bool{}
				for _, p := range set {
					if seen[p] {
						t.Fatalf("matchSets %q: a pipe twice in one set", topic)
					}
					seen[p] = true
					fromSets[p]++
				}
			}
			if !maps.Equal(fromSets, want) {
				t.Fatalf("matchSets %q: %v, want %v", topic, fromSets, want)
			}
		}
		checkRadix(t, &s.t, noPipes)
	}
}

func newPipes() []*reactor.Pipe {
	return []*reactor.Pipe{{}, {}, {}, {}}
}

func TestPipeSetRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pipes := newPipes()
	for i := 0; i < 300; i++ {
		ops := make([]byte, 400)
		for j := range ops {
			ops[j] = byte(rng.UintN(256))
		}
		runPipeOps(t, ops, pipes)
	}
}

func FuzzPipeSet(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0, 1, 0, 1, 1, 0, 1, 2, 2, 0, 1, 1, 0, 2, 0, 0})
	f.Add(bytes.Repeat([]byte{0, 1, 3, 0, 1, 2, 2, 0, 4, 0, 1, 2, 1}, 10))
	pipes := newPipes()
	f.Fuzz(func(t *testing.T, ops []byte) { runPipeOps(t, ops, pipes) })
}

// A topic as long as a message may be costs its bytes, not a node per byte, and no recursion.
func TestLongTopic(t *testing.T) {
	var s topicSet
	long := bytes.Repeat([]byte("x"), 1<<20)
	s.add(long)
	s.add(long[:1000])
	if !s.match(append(long, 'y')) || !s.match(long[:1001]) || s.match(long[:999]) {
		t.Fatal("matching against a long topic")
	}
	if n := countNodes(&s.t.root); n != 3 {
		t.Fatalf("%d nodes for two topics", n)
	}
	s.remove(long[:1000])
	if n := countNodes(&s.t.root); n != 2 {
		t.Fatalf("%d nodes after removal", n)
	}
}

func countNodes[V any](n *rnode[V]) int {
	c := 1
	for _, k := range n.kids {
		c += countNodes(k)
	}
	return c
}

// FuzzPublisherInput feeds an XPUB's subscription handling whatever a subscriber may send, as
// data frames or commands, and checks that the per-pipe topic sets agree with the pipeSet and that
// every notification is a well-formed 0x00/0x01 message.
func FuzzPublisherInput(f *testing.F) {
	sub := codec.AppendSubscribe(nil, []byte("topic"))
	cancel := codec.AppendCancel(nil, []byte("topic"))
	f.Add(append(append([]byte{1}, sub[2:]...), cancel[2:]...), uint8(0))
	f.Add([]byte("\x01a\x00a\x01\x00\x02x"), uint8(3))
	f.Add([]byte("\x01ab\x01a\x00ab"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		o := DefaultOptions()
		o.XPubVerbose, o.XPubVerboser, o.XPubManual = mode&1 != 0, mode&2 != 0, mode&4 != 0
		pub := &publisher{o: &o, xpub: true}
		pipes := newPipes()
		for _, p := range pipes {
			setPeerState(p, &pubPeer{live: true, topics: map[string]struct{}{}})
		}
		// Split data at 0xff bytes into messages; a message whose first byte is even goes to
		// the data path (its frames split at 0xfe), an odd one is parsed as a command.
		for i, chunk := range bytes.Split(data, []byte{0xff}) {
			p := pipes[i%len(pipes)]
			if len(chunk) > 0 && chunk[0]%2 == 1 {
				if c, err := codec.ParseCommand(chunk[1:]); err == nil {
					pub.command(p, c)
				}
				continue
			}
			m := pool.NewMsg()
			for _, fr := range bytes.Split(chunk, []byte{0xfe}) {
				m.AppendFrame(fr)
			}
			pub.incoming(p, m)
			if i%5 == 4 {
				pub.detach(p, false)
				pubState(p).live = true
			}
		}
		for _, p := range pipes {
			for topic := range pubState(p).topics {
				found := false
				for _, set := range pub.subs.matchSets([]byte(topic), nil) {
					found = found || slices.Contains(set, p)
				}
				if !found {
					t.Fatalf("topic %q in the pipe's set but not in the trie", topic)
				}
			}
		}
		pub.subs.t.each(noPipes, func(topic []byte, v *[]*reactor.Pipe) {
			for _, p := range *v {
				if _, ok := pubState(p).topics[string(topic)]; !ok {
					t.Fatalf("topic %q in the trie but not in the pipe's set", topic)
				}
			}
		})
		for {
			m, err := pub.recv()
			if err != nil {
				t.Fatal(err)
			}
			if m == nil {
				break
			}
			m.Release()
		}
		checkRadix(t, &pub.subs.t, noPipes)
	})
}
