package sockets

import (
	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/reactor"
)

// Publish-subscribe (rfc 29): PUB and XPUB filter on the sending side with a pipeSet; SUB and
// XSUB keep a counted topicSet, tell every publisher about it (again after each reconnection)
// and SUB filters what it receives as well.
//
// A subscription travels in the form the transport and the peer's ZMTP version call for, which
// the reactor chooses (Pipe.Subscription): a SUBSCRIBE or CANCEL command, or a data frame
// 0x01+topic or 0x00+topic. libzmq's XSUB sends whatever frames its user wrote, as ours does.
// Publishers accept both forms from anyone, over every transport.

// ---------------------------------------------------------------------------------------------
// PUB and XPUB

// pubPeer is what a PUB or XPUB keeps for a pipe (peerState).
type pubPeer struct {
	live   bool                // attached; subscriptions from a gone connection are ignored
	topics map[string]struct{} // topics it is subscribed to in the pipeSet
	asked  map[string]struct{} // XPubManual: topics its peer asked for
	mark   uint64              // de-duplicates the pipe while matching one message
}

// pending is a message waiting for an XPUB's reader, with the pipe it came from.
type pending struct {
	m *pool.Msg
	p *reactor.Pipe // nil for the unsubscriptions of a peer that left
}

type publisher struct {
	o       *Options
	xpub    bool
	subs    pipeSet
	pending []pending
	head    int             // pending[head:] are waiting
	blocked []*reactor.Pipe // pipes with input left unread while pending was full
	last    *reactor.Pipe   // XPubManual: the peer of the last message the reader took
	gen     uint64
	match   []*reactor.Pipe   // scratch of send
	sets    [][]*reactor.Pipe // scratch of send: the pipes of each matching prefix, the trie's
	peers   []*reactor.Pipe   // live pipes: an inverting publisher sends to those that do not match
	fan     reactor.FanOut
}

func pubState(p *reactor.Pipe) *pubPeer {
	st, _ := peerState(p).(*pubPeer)
	if st == nil {
		st = &pubPeer{topics: map[string]struct{}{}}
		setPeerState(p, st)
	}
	return st
}

func (t *publisher) attach(p *reactor.Pipe) {
	// Connect offers a dialed pipe before it is connected; only a connection counts here.
	st := pubState(p)
	if !p.Connected() || st.live {
		return
	}
	st.live = true
	t.peers = append(t.peers, p)
	if w := t.o.XPubWelcomeMsg; len(w) > 0 {
		m := pool.NewMsg()
		m.AppendFrame(w)
		if !p.TrySend(m) {
			m.Release()
		}
	}
	t.drainIn(p) // what the peer sent before we saw it attached (inproc can be that quick)
}

// detach forgets the subscriptions of a connection that ended, even of a dialed pipe that will
// reconnect: its peer sends them all again then, and must not be sent to meanwhile.
func (t *publisher) detach(p *reactor.Pipe, final bool) {
	st := pubState(p)
	if !st.live {
		return
	}
	st.live = false
	for i, q := range t.peers {
		if q == p {
			t.peers = append(t.peers[:i], t.peers[i+1:]...)
			clear(t.peers[len(t.peers):cap(t.peers)])
			break
		}
	}
	for topic := range st.topics {
		_, last := t.subs.remove([]byte(topic), p)
		if t.xpub && !t.o.XPubManual && (last || t.o.XPubVerboser) {
			t.notify(false, []byte(topic), nil)
		}
	}
	clear(st.topics)
	for topic := range st.asked {
		t.notify(false, []byte(topic), nil)
	}
	clear(st.asked)
	if t.last == p {
		t.last = nil
	}
	for i, q := range t.blocked {
		if q == p {
			t.blocked = append(t.blocked[:i], t.blocked[i+1:]...)
			break
		}
	}
	if final {
		// Its unread messages would be dropped by drainIn anyway (not live); release them now.
		for m := p.TryRecv(); m != nil; m = p.TryRecv() {
			m.Release()
		}
	}
}

func (t *publisher) full() bool {
	return t.xpub && t.o.RcvHWM > 0 && len(t.pending)-t.head >= t.o.RcvHWM
}

func (t *publisher) readable(p *reactor.Pipe) { t.drainIn(p) }

// drainIn applies what p's peer sent. An XPUB stops at RcvHWM notifications waiting for its
// reader, so that a flood from below holds in the peer's TCP window, not in our memory.
func (t *publisher) drainIn(p *reactor.Pipe) {
	if !pubState(p).live {
		return // left in the pipe until attach: a subscription read now would be dropped
	}
	for {
		if t.full() {
			for _, q := range t.blocked {
				if q == p {
					return
				}
			}
			t.blocked = append(t.blocked, p)
			return
		}
		m := p.TryRecv()
		if m == nil {
			return
		}
		t.incoming(p, m)
	}
}

// incoming handles one message from a subscriber: every frame that starts with 0x01 or 0x00 is a
// subscription or cancellation, as libzmq treats them; an XPUB's reader gets the other frames
// (an XSUB's upstream message), a PUB drops them.
func (t *publisher) incoming(p *reactor.Pipe, m *pool.Msg) {
	if m.IsCommand() {
		// A SUBSCRIBE or CANCEL that came over inproc as it is: over tcp the session parses it and
		// the reactor calls PipeCommand instead.
		if c, err := codec.ParseCommand(m.Frame(0)); err == nil {
			t.command(p, c)
		}
		m.Release()
		return
	}
	st := pubState(p)
	subs := 0
	for i := 0; i < m.Len(); i++ {
		if f := m.Frame(i); len(f) > 0 && f[0] <= 1 {
			subs++
		}
	}
	if subs == 0 {
		if t.xpub && st.live {
			t.push(m, p) // hand it on without a copy
		} else {
			m.Release()
		}
		return
	}
	var user *pool.Msg
	for i := 0; i < m.Len(); i++ {
		f := m.Frame(i)
		switch {
		case len(f) > 0 && f[0] <= 1:
			if st.live {
				t.subscription(p, f[1:], f[0] == 1)
			}
		case t.xpub && st.live:
			if user == nil {
				user = pool.NewMsg()
			}
			user.AppendFrame(f)
		}
	}
	if user != nil {
		t.push(user, p)
	}
	m.Release()
}

// command takes SUBSCRIBE and CANCEL from ZMTP 3.1 peers; c.Data is valid during the call only.
func (t *publisher) command(p *reactor.Pipe, c codec.Command) {
	if st := pubState(p); st.live {
		switch {
		case c.Is(codec.CmdSubscribe):
			t.subscription(p, c.Data, true)
		case c.Is(codec.CmdCancel):
			t.subscription(p, c.Data, false)
		}
	}
}

// subscription applies one (un)subscription of p's peer and tells the XPUB reader about it as
// libzmq's xpub_t does: the first subscription to a topic and the last cancellation, or every
// one with XPubVerbose / XPubVerboser, or every one unapplied with XPubManual.
func (t *publisher) subscription(p *reactor.Pipe, topic []byte, on bool) {
	st := pubState(p)
	if t.xpub && t.o.XPubManual {
		if st.asked == nil {
			st.asked = map[string]struct{}{}
		}
		if on {
			st.asked[string(topic)] = struct{}{}
		} else {
			delete(st.asked, string(topic))
		}
		t.notify(on, topic, p)
		return
	}
	var notify bool
	if on {
		first, added := t.subs.add(topic, p)
		if added {
			st.topics[string(topic)] = struct{}{}
		}
		notify = first || t.o.XPubVerbose || t.o.XPubVerboser
	} else {
		found, last := t.subs.remove(topic, p)
		if found {
			delete(st.topics, string(topic))
		}
		// As libzmq: a cancellation of something p had not subscribed to is passed on too.
		notify = !found || last || t.o.XPubVerboser
	}
	if t.xpub && notify {
		t.notify(on, topic, p)
	}
}

func (t *publisher) notify(on bool, topic []byte, p *reactor.Pipe) {
	m := pool.NewMsg()
	m.AddFrame(1 + len(topic))
	if on {
		m.Extend([]byte{1})
	} else {
		m.Extend([]byte{0})
	}
	m.Extend(topic)
	t.push(m, p)
}

func (t *publisher) push(m *pool.Msg, p *reactor.Pipe) {
	if !t.xpub {
		m.Release()
		return
	}
	if t.head > 0 && t.head == len(t.pending) {
		t.pending, t.head = t.pending[:0], 0
	}
	t.pending = append(t.pending, pending{m, p})
}

func (t *publisher) recv() (*pool.Msg, error) {
	if !t.xpub {
		return nil, ErrNotSupported
	}
	for len(t.blocked) > 0 && !t.full() {
		p := t.blocked[0]
		t.blocked = append(t.blocked[:0], t.blocked[1:]...)
		t.drainIn(p)
	}
	if t.head == len(t.pending) {
		return nil, nil
	}
	pm := t.pending[t.head]
	t.pending[t.head] = pending{}
	t.head++
	if t.o.XPubManual {
		t.last = pm.p
	}
	return pm.m, nil
}

// send queues m for every peer subscribed to a prefix of its first frame (with InvertMatching,
// for every peer that is not); a peer at its SNDHWM misses it. It never blocks, unless
// XPubNoDrop.
func (t *publisher) send(m *pool.Msg) (bool, error) {
	t.gen++
	gen := t.gen
	t.match = t.match[:0]
	t.sets = t.subs.matchSets(m.Frame(0), t.sets[:0])
	var to []*reactor.Pipe // t.match, or a prefix's own list
	switch {
	case t.o.InvertMatching:
		// libzmq's dist_t::reverse_match: the live pipes that did not match.
		for _, set := range t.sets {
			for _, p := range set {
				pubState(p).mark = gen
			}
		}
		for _, p := range t.peers {
			if st := pubState(p); st.mark != gen {
				st.mark = gen
				t.match = append(t.match, p)
			}
		}
		to = t.match
	case len(t.sets) == 1:
		// One prefix matched (everybody subscribed to the same topic, or to everything): its
		// pipes are distinct, and go as they are, without a copy or a mark per pipe.
		to = t.sets[0]
	default:
		for _, set := range t.sets {
			for _, p := range set {
				if st := pubState(p); st.mark != gen {
					st.mark = gen
					t.match = append(t.match, p)
				}
			}
		}
		to = t.match
	}
	clear(t.sets)
	if len(to) == 0 {
		m.Release()
		return true, nil
	}
	latest := t.o.Conflate && !t.xpub
	if t.o.XPubNoDrop && !latest {
		for _, p := range to {
			if !p.CanSend() { // it will report PipeWritable once it has room
				clear(t.match)
				return false, nil
			}
		}
	}
	fanOut(&t.fan, m, to, latest)
	clear(t.match)
	return true, nil
}

func (t *publisher) canSend() bool { return true }

// subscribe is XPubManual's ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE: it applies to the peer of the last
// message received, and does nothing when there is none or it is gone, as in libzmq.
func (t *publisher) subscribe(topic []byte, on bool) error {
	if !t.xpub || !t.o.XPubManual {
		return ErrNotSupported
	}
	p := t.last
	if p == nil {
		return nil
	}
	st := pubState(p)
	if !st.live {
		return nil
	}
	if on {
		if _, added := t.subs.add(topic, p); added {
			st.topics[string(topic)] = struct{}{}
		}
	} else if found, _ := t.subs.remove(topic, p); found {
		delete(st.topics, string(topic))
	}
	return nil
}

func (t *publisher) close() {
	for i := t.head; i < len(t.pending); i++ {
		t.pending[i].m.Release()
		t.pending[i] = pending{}
	}
	t.pending, t.head = nil, 0
}

// ---------------------------------------------------------------------------------------------
// SUB and XSUB

// subPeer is what a SUB or XSUB keeps for a pipe (peerState).
type subPeer struct {
	live bool
	// Subscriptions that found the pipe at its SNDHWM, sent in order when it has room again:
	// libzmq drops them, but a lost subscription silently loses a topic.
	queued []*pool.Msg
}

type subscriber struct {
	o     *Options
	xsub  bool
	subs  topicSet
	in    inQueue
	pipes []*reactor.Pipe // attached pipes, in attach order
	fan   reactor.FanOut
}

func subState(p *reactor.Pipe) *subPeer {
	st, _ := peerState(p).(*subPeer)
	if st == nil {
		st = &subPeer{}
		setPeerState(p, st)
	}
	return st
}

// attach sends the pipe every subscription, each topic once: on a first connection and after
// every reconnection, since the publisher forgot them when the connection ended.
func (t *subscriber) attach(p *reactor.Pipe) {
	if !p.Connected() {
		return // Connect offers a dialed pipe early: the subscriptions go when it connects
	}
	st := subState(p)
	st.drop()
	if !st.live {
		st.live = true
		t.pipes = append(t.pipes, p)
	}
	t.subs.each(func(topic []byte) { t.queue(p, p.Subscription(topic, true)) })
}

func (st *subPeer) drop() {
	for i, m := range st.queued {
		m.Release()
		st.queued[i] = nil
	}
	st.queued = st.queued[:0]
}

func (t *subscriber) detach(p *reactor.Pipe, final bool) {
	st := subState(p)
	st.drop()
	if st.live {
		st.live = false
		for i, q := range t.pipes {
			if q == p {
				t.pipes = append(t.pipes[:i], t.pipes[i+1:]...)
				clear(t.pipes[len(t.pipes):cap(t.pipes)])
				break
			}
		}
	}
	if final {
		t.in.forget(p)
	}
}

func (t *subscriber) readable(p *reactor.Pipe) { t.in.readable(p) }

func (t *subscriber) recv() (*pool.Msg, error) {
	for {
		m, _ := t.in.recv()
		if m == nil {
			return nil, nil
		}
		if t.xsub || t.subs.match(m.Frame(0)) != t.o.InvertMatching {
			return m, nil
		}
		m.Release() // a publisher that does not filter (or a welcome message nobody wants)
	}
}

// send is XSUB's: a first frame 0x01+topic or 0x00+topic (un)subscribes and goes to every
// publisher as written; a cancellation of a topic still subscribed (counted) or never subscribed
// goes nowhere. Other messages go upstream to every publisher with room. It never blocks.
func (t *subscriber) send(m *pool.Msg) (bool, error) {
	if !t.xsub {
		return false, ErrNotSupported
	}
	f := m.Frame(0)
	switch {
	case len(f) > 0 && f[0] == 1:
		t.subs.add(f[1:])
		t.queueAll(m)
	case len(f) > 0 && f[0] == 0:
		if t.subs.remove(f[1:]) {
			t.queueAll(m)
		} else {
			m.Release()
		}
	default:
		if len(t.pipes) == 0 {
			m.Release()
		} else {
			fanOut(&t.fan, m, t.pipes, false)
		}
	}
	return true, nil
}

func (t *subscriber) canSend() bool { return t.xsub }

// subscribe is SUB's ZMQ_SUBSCRIBE / ZMQ_UNSUBSCRIBE: every subscription goes to the publishers
// (they count a peer once per topic), a cancellation only when the last one of a topic goes.
func (t *subscriber) subscribe(topic []byte, on bool) error {
	if t.xsub {
		return ErrNotSupported
	}
	if on {
		t.subs.add(topic)
	} else if !t.subs.remove(topic) {
		return nil
	}
	for _, p := range t.pipes {
		t.queue(p, p.Subscription(topic, on))
	}
	return nil
}

// queueAll sends m to every attached pipe (shared, not copied), reliably, and takes m.
func (t *subscriber) queueAll(m *pool.Msg) {
	for i, p := range t.pipes {
		if i == len(t.pipes)-1 {
			t.queue(p, m)
			return
		}
		t.queue(p, m.Share())
	}
	m.Release()
}

// queue sends m to p behind whatever is already waiting for p, and takes m.
func (t *subscriber) queue(p *reactor.Pipe, m *pool.Msg) {
	st := subState(p)
	if len(st.queued) == 0 && p.TrySend(m) {
		return
	}
	st.queued = append(st.queued, m)
}

// writable flushes what queue kept back.
func (t *subscriber) writable(p *reactor.Pipe) {
	st := subState(p)
	n := 0
	for n < len(st.queued) && p.TrySend(st.queued[n]) {
		st.queued[n] = nil
		n++
	}
	if n > 0 {
		st.queued = append(st.queued[:0], st.queued[n:]...)
	}
}

func (t *subscriber) close() {
	for _, p := range t.pipes {
		subState(p).drop()
	}
	t.in.release()
}
