package sockets

import (
	"bytes"
	"slices"

	"github.com/zloop/zloop/reactor"
)

// Subscriptions live in a radix tree (a path-compressed trie): libzmq's trie_t and mtrie_t
// without their one-node-per-byte cost, so a peer that subscribes to a long topic costs the
// topic's bytes, not a node per byte. Every operation is iterative: no recursion as deep as a
// topic is long. Methods run with the socket's mutex held.

type rnode[V any] struct {
	label []byte // the edge from the parent; capacity clipped, since siblings may share storage
	val   V
	kids  []*rnode[V] // sorted by label[0]; labels of non-root nodes are never empty
}

// radix maps topics to values of type V. A node whose value is "empty" (as the caller defines
// it) and that has fewer than two children is removed by prune, so the tree never holds more
// nodes than twice the number of live topics.
type radix[V any] struct {
	root rnode[V]
}

func (n *rnode[V]) kid(c byte) (int, *rnode[V]) {
	i, ok := slices.BinarySearchFunc(n.kids, c, func(k *rnode[V], c byte) int { return int(k.label[0]) - int(c) })
	if ok {
		return i, n.kids[i]
	}
	return i, nil
}

func clip(b []byte) []byte { return b[:len(b):len(b)] }

// lookup returns the node of topic, or nil when topic has none.
func (t *radix[V]) lookup(topic []byte) *rnode[V] {
	n, key := &t.root, topic
	for len(key) > 0 {
		_, c := n.kid(key[0])
		if c == nil || !bytes.HasPrefix(key, c.label) {
			return nil
		}
		n, key = c, key[len(c.label):]
	}
	return n
}

// insert returns the node of topic, creating it (with a zero value) when needed. topic is copied.
func (t *radix[V]) insert(topic []byte) *rnode[V] {
	n, key := &t.root, topic
	for len(key) > 0 {
		i, c := n.kid(key[0])
		if c == nil {
			nn := &rnode[V]{label: clip(bytes.Clone(key))}
			n.kids = slices.Insert(n.kids, i, nn)
			return nn
		}
		common := lcp(c.label, key)
		if common == len(c.label) {
			n, key = c, key[common:]
			continue
		}
		// Split c's edge at the point where topic leaves it.
		mid := &rnode[V]{label: clip(c.label[:common]), kids: []*rnode[V]{c}}
		c.label = clip(c.label[common:])
		n.kids[i] = mid
		if common == len(key) {
			return mid
		}
		nn := &rnode[V]{label: clip(bytes.Clone(key[common:]))}
		j, _ := mid.kid(nn.label[0])
		mid.kids = slices.Insert(mid.kids, j, nn)
		return nn
	}
	return n
}

// prune removes the node of topic if empty says its value is empty and it has no children, and
// then every ancestor left empty and childless; a node left empty with a single child is merged
// with it, keeping the tree compressed. The root stays, whatever it holds.
func (t *radix[V]) prune(topic []byte, empty func(*V) bool) {
	path := []*rnode[V]{&t.root}
	n, key := &t.root, topic
	for len(key) > 0 {
		_, c := n.kid(key[0])
		if c == nil || !bytes.HasPrefix(key, c.label) {
			return
		}
		n, key = c, key[len(c.label):]
		path = append(path, n)
	}
	for d := len(path) - 1; d > 0; d-- {
		n, parent := path[d], path[d-1]
		if !empty(&n.val) {
			return
		}
		switch len(n.kids) {
		case 0:
			i, _ := parent.kid(n.label[0])
			parent.kids = slices.Delete(parent.kids, i, i+1)
			continue
		case 1:
			merge(parent, n)
		}
		return
	}
}

// merge replaces n, an empty node with one child, by that child under parent.
func merge[V any](parent, n *rnode[V]) {
	c := n.kids[0]
	c.label = clip(append(bytes.Clone(n.label), c.label...))
	i, _ := parent.kid(n.label[0])
	parent.kids[i] = c
}

func lcp(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// prefixes calls fn with the value of every topic that is a prefix of data (the empty topic
// included), shortest first.
func (t *radix[V]) prefixes(data []byte, fn func(*V)) {
	n, key := &t.root, data
	fn(&n.val)
	for len(key) > 0 {
		_, c := n.kid(key[0])
		if c == nil || !bytes.HasPrefix(key, c.label) {
			return
		}
		n, key = c, key[len(c.label):]
		fn(&n.val)
	}
}

// each calls fn with every topic whose value is not empty, in byte order. The topic slice is
// valid only during the call.
func (t *radix[V]) each(empty func(*V) bool, fn func(topic []byte, v *V)) {
	type frame struct {
		n    *rnode[V]
		base int
	}
	var buf []byte
	stack := []frame{{&t.root, 0}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		buf = append(buf[:f.base], f.n.label...)
		if !empty(&f.n.val) {
			fn(buf, &f.n.val)
		}
		for i := len(f.n.kids) - 1; i >= 0; i-- {
			stack = append(stack, frame{f.n.kids[i], len(buf)})
		}
	}
}

// topicSet is a set of counted topics with prefix matching: what a SUB or XSUB socket is
// subscribed to (libzmq's trie_t). Subscribing twice needs two unsubscriptions.
type topicSet struct {
	t radix[int]
	n int // distinct topics
}

func zeroCount(v *int) bool { return *v == 0 }

// add counts one more subscription to topic and reports whether it is new.
func (s *topicSet) add(topic []byte) bool {
	n := s.t.insert(topic)
	n.val++
	if n.val == 1 {
		s.n++
		return true
	}
	return false
}

// remove counts one subscription to topic less and reports whether that was its last one.
func (s *topicSet) remove(topic []byte) bool {
	n := s.t.lookup(topic)
	if n == nil || n.val == 0 {
		return false
	}
	n.val--
	if n.val > 0 {
		return false
	}
	s.n--
	s.t.prune(topic, zeroCount)
	return true
}

// match reports whether some subscribed topic is a prefix of data.
func (s *topicSet) match(data []byte) bool {
	found := false
	s.t.prefixes(data, func(v *int) { found = found || *v > 0 })
	return found
}

// each calls fn once per subscribed topic (the slice is valid during the call only).
func (s *topicSet) each(fn func(topic []byte)) {
	s.t.each(zeroCount, func(topic []byte, _ *int) { fn(topic) })
}

// pipeSet maps topics to the pipes subscribed to them: what a PUB or XPUB socket filters with
// (libzmq's mtrie_t). A pipe is in a topic's set once, however often it subscribed, as in libzmq:
// its peer counts for it.
type pipeSet struct {
	t radix[[]*reactor.Pipe]
}

func noPipes(v *[]*reactor.Pipe) bool { return len(*v) == 0 }

// add subscribes p to topic and reports whether p is the topic's first subscriber and whether p
// was new to it.
func (s *pipeSet) add(topic []byte, p *reactor.Pipe) (first, added bool) {
	n := s.t.insert(topic)
	if slices.Contains(n.val, p) {
		return false, false
	}
	n.val = append(n.val, p)
	return len(n.val) == 1, true
}

// remove unsubscribes p from topic. found says p was subscribed; last that no pipe is left.
func (s *pipeSet) remove(topic []byte, p *reactor.Pipe) (found, last bool) {
	n := s.t.lookup(topic)
	if n == nil {
		return false, false
	}
	i := slices.Index(n.val, p)
	if i < 0 {
		return false, len(n.val) == 0
	}
	n.val = slices.Delete(n.val, i, i+1)
	if len(n.val) == 0 {
		n.val = nil
		s.t.prune(topic, noPipes)
		return true, true
	}
	return true, false
}

// matchSets appends to dst the pipes of every prefix of data that has any, one slice per prefix:
// the trie's own, for reading during the caller's lock only. One prefix's pipes are distinct; a
// pipe may be in several of them.
func (s *pipeSet) matchSets(data []byte, dst [][]*reactor.Pipe) [][]*reactor.Pipe {
	s.t.prefixes(data, func(v *[]*reactor.Pipe) {
		if len(*v) > 0 {
			dst = append(dst, *v)
		}
	})
	return dst
}
