package sockets

// Semantics of DEALER, ROUTER, REQ options and publish-subscribe, zloop against zloop (and raw
// ZMTP peers where the wire form matters).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/reactor"
)

func bindTCP(t testing.TB, s *Socket) string {
	t.Helper()
	ep, err := s.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func connect(t testing.TB, s *Socket, ep string) {
	t.Helper()
	if err := s.Connect(ep); err != nil {
		t.Fatal(err)
	}
}

// connectedPipes counts s's pipes with a completed handshake.
func connectedPipes(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p := range s.pipes {
		if p.Connected() {
			n++
		}
	}
	return n
}

// pubTopics counts the (pipe, topic) subscriptions a PUB or XPUB has applied.
func pubTopics(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p := range s.pipes {
		if st, ok := peerState(p).(*pubPeer); ok {
			n += len(st.topics)
		}
	}
	return n
}

func recvNone(t *testing.T, s *Socket, what string) {
	t.Helper()
	// A negative check: nothing may arrive within a short while. Not a synchronisation.
	if m, err := s.Recv(withTimeout(t, 30*time.Millisecond)); err == nil {
		t.Fatalf("%s: got %s", what, short(m))
	}
}

// DEALER round-robins across its peers evenly.
func TestDealerRoundRobin(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	const peers, per = 4, 50
	d := newSocket(t, r, Dealer)
	ep := bindTCP(t, d)
	var workers []*Socket
	for i := 0; i < peers; i++ {
		w := newSocket(t, r, Dealer)
		connect(t, w, ep)
		workers = append(workers, w)
	}
	waitFor(t, "every peer connected", func() bool { return connectedPipes(d) == peers })
	for i := 0; i < peers*per; i++ {
		mustSend(t, d, []byte(fmt.Sprint(i)))
	}
	for i, w := range workers {
		for j := 0; j < per; j++ {
			if _, err := w.Recv(ctx); err != nil {
				t.Fatalf("peer %d got %d of %d: %v", i, j, per, err)
			}
		}
		recvNone(t, w, fmt.Sprintf("peer %d beyond its share", i))
	}
}

// ROUTER fair-queues: a peer with ten messages is not starved by one with thousands queued.
func TestRouterFairQueue(t *testing.T) {
	r := newReactor(t)
	router := newSocket(t, r, Router, WithRcvHWM(1000))
	ep := bindTCP(t, router)
	flood := newSocket(t, r, Dealer, WithRoutingID([]byte("flood")))
	quiet := newSocket(t, r, Dealer, WithRoutingID([]byte("quiet")))
	connect(t, flood, ep)
	for i := 0; i < 3000; i++ {
		mustSend(t, flood, []byte("f"))
	}
	waitFor(t, "the flood queued", func() bool { in, _ := pipeLens(router); return in >= 1000 })
	connect(t, quiet, ep)
	for i := 0; i < 10; i++ {
		mustSend(t, quiet, []byte("q"))
	}
	waitFor(t, "the quiet peer's messages queued", func() bool { in, _ := pipeLens(router); return in >= 1010 })
	quietSeen := 0
	for i := 0; i < 20; i++ {
		m := mustRecv(t, router)
		if string(m[0]) == "quiet" {
			quietSeen++
		}
	}
	if quietSeen != 10 {
		t.Fatalf("the quiet peer got %d of the first 20 turns, want 10", quietSeen)
	}
}

// ROUTER routes each reply to the peer it names, among many, named or anonymous.
func TestRouterRoutesReplies(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	router := newSocket(t, r, Router)
	ep := bindTCP(t, router)
	const n = 12
	var peers []*Socket
	for i := 0; i < n; i++ {
		var opts []Option
		if i%2 == 0 {
			opts = append(opts, WithRoutingID([]byte(fmt.Sprintf("peer-%d", i))))
		}
		d := newSocket(t, r, Dealer, opts...)
		connect(t, d, ep)
		mustSend(t, d, []byte(fmt.Sprint(i)))
		peers = append(peers, d)
	}
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		m := mustRecv(t, router)
		var k int
		fmt.Sscan(string(m[1]), &k)
		if k%2 == 0 && string(m[0]) != fmt.Sprintf("peer-%d", k) {
			t.Fatalf("peer %d known as %q", k, m[0])
		}
		if k%2 == 1 {
			checkGeneratedID(t, m[0])
		}
		ids[string(m[0])] = true
		mustSend(t, router, m[0], []byte("for "+string(m[1])))
	}
	if len(ids) != n {
		t.Fatalf("%d distinct routing ids for %d peers", len(ids), n)
	}
	for i, d := range peers {
		m, err := d.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("for %d", i); string(m[0]) != want {
			t.Fatalf("peer %d got %q, want %q", i, m[0], want)
		}
	}
}

// ROUTER_MANDATORY reports an unknown peer; without it the message is dropped. A second peer
// with a routing id in use is ignored, unless ROUTER_HANDOVER, when it takes the id over.
func TestRouterMandatoryAndDuplicateIDs(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	lax := newSocket(t, r, Router)
	if err := lax.Send(ctx, []byte("nobody"), []byte("x")); err != nil {
		t.Fatalf("non-mandatory send to an unknown id: %v", err)
	}
	strict := newSocket(t, r, Router, WithRouterMandatory(true))
	err := strict.Send(ctx, []byte("nobody"), []byte("x"))
	if !errors.Is(err, ErrHostUnreachable) {
		t.Fatalf("mandatory send to an unknown id: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "zmq: ") {
		t.Fatalf("error text %q", err)
	}

	for _, handover := range []bool{false, true} {
		t.Run(fmt.Sprintf("handover=%v", handover), func(t *testing.T) {
			router := newSocket(t, r, Router, WithRouterHandover(handover))
			ep := bindTCP(t, router)
			first := newSocket(t, r, Dealer, WithRoutingID([]byte("dup")), WithReconnectIvl(-1, 0))
			connect(t, first, ep)
			mustSend(t, first, []byte("1"))
			expect(t, "router", 0, mustRecv(t, router), frames([]byte("dup"), []byte("1")))
			second := newSocket(t, r, Dealer, WithRoutingID([]byte("dup")))
			connect(t, second, ep)
			if !handover {
				waitFor(t, "the second peer connected", func() bool { return connectedPipes(router) == 2 })
				mustSend(t, second, []byte("2"))
				waitFor(t, "the second peer's message queued", func() bool { in, _ := pipeLens(router); return in == 1 })
				mustSend(t, first, []byte("after"))
				expect(t, "router", 1, mustRecv(t, router), frames([]byte("dup"), []byte("after")))
				mustSend(t, router, []byte("dup"), []byte("to first"))
				expect(t, "first", 0, mustRecv(t, first), frames([]byte("to first")))
				recvNone(t, second, "the ignored peer")
				return
			}
			// The newcomer takes the id; the first peer's connection is closed.
			waitFor(t, "the handover", func() bool { return connectedPipes(router) == 1 && connectedPipes(first) == 0 })
			mustSend(t, router, []byte("dup"), []byte("to second"))
			expect(t, "second", 0, mustRecv(t, second), frames([]byte("to second")))
		})
	}
}

// REQ works against ROUTER, REP behind DEALER with an envelope of several frames.
func TestEnvelopes(t *testing.T) {
	r := newReactor(t)
	router := newSocket(t, r, Router)
	ep := bindTCP(t, router)
	req := newSocket(t, r, Req)
	connect(t, req, ep)
	mustSend(t, req, []byte("question"))
	m := mustRecv(t, router)
	if len(m) != 3 || len(m[1]) != 0 || string(m[2]) != "question" {
		t.Fatalf("ROUTER got %s", short(m))
	}
	mustSend(t, router, m[0], nil, []byte("answer"), []byte("part 2"))
	expect(t, "REQ", 0, mustRecv(t, req), frames([]byte("answer"), []byte("part 2")))

	rep := newSocket(t, r, Rep)
	ep2 := bindTCP(t, rep)
	dealer := newSocket(t, r, Dealer)
	connect(t, dealer, ep2)
	env := frames([]byte("hop1"), []byte("hop2"), nil)
	mustSend(t, dealer, join(env, []byte("body"))...)
	expect(t, "REP", 0, mustRecv(t, rep), frames([]byte("body")))
	mustSend(t, rep, []byte("reply"))
	expect(t, "DEALER", 0, mustRecv(t, dealer), join(env, []byte("reply")))
}

// With REQ_RELAXED a REQ whose reply was lost sends again; with REQ_CORRELATE the late reply to
// the abandoned request is recognised by its request id and dropped.
func TestReqRelaxedRecoversAfterLostReply(t *testing.T) {
	r := newReactor(t)
	router := newSocket(t, r, Router)
	ep := bindTCP(t, router)

	strict := newSocket(t, r, Req)
	connect(t, strict, ep)
	mustSend(t, strict, []byte("q"))
	if err := strict.Send(testCtx(t), []byte("again")); !errors.Is(err, ErrState) {
		t.Fatalf("strict REQ sending twice: %v", err)
	}
	mustRecv(t, router)

	req := newSocket(t, r, Req, WithReqRelaxed(true), WithReqCorrelate(true))
	connect(t, req, ep)
	mustSend(t, req, []byte("q1"))
	m1 := mustRecv(t, router)
	if len(m1) != 4 || len(m1[1]) != 4 || len(m1[2]) != 0 || string(m1[3]) != "q1" {
		t.Fatalf("correlated request: %s", short(m1))
	}
	// The reply to q1 is lost: the REQ gives up on it and asks again.
	mustSend(t, req, []byte("q2"))
	m2 := mustRecv(t, router)
	if id1, id2 := binary.LittleEndian.Uint32(m1[1]), binary.LittleEndian.Uint32(m2[1]); id2 != id1+1 {
		t.Fatalf("request ids %d then %d", id1, id2)
	}
	mustSend(t, router, m1[0], m1[1], nil, []byte("r1 (late)"))
	mustSend(t, router, m2[0], m2[1], nil, []byte("r2"))
	expect(t, "REQ", 0, mustRecv(t, req), frames([]byte("r2")))
	if _, err := req.Recv(testCtx(t)); !errors.Is(err, ErrState) {
		t.Fatalf("Recv after the reply: %v", err)
	}
}

// PUB filters by prefix, sends a message once to a peer subscribed to several of its prefixes,
// and counts nothing twice.
func TestPubSubFiltering(t *testing.T) {
	r := newReactor(t)
	pub := newSocket(t, r, Pub)
	ep := bindTCP(t, pub)
	sub := newSocket(t, r, Sub)
	connect(t, sub, ep)
	for _, topic := range []string{"a", "ab", "ab"} {
		if err := sub.Subscribe([]byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both topics at the publisher", func() bool { return pubTopics(pub) == 2 })
	for _, m := range []string{"b1", "a1", "ab1", "", "abc"} {
		mustSend(t, pub, []byte(m))
	}
	expect(t, "SUB", 0, mustRecv(t, sub), frames([]byte("a1")))
	expect(t, "SUB", 1, mustRecv(t, sub), frames([]byte("ab1")))
	expect(t, "SUB", 2, mustRecv(t, sub), frames([]byte("abc")))
	// "ab" was subscribed twice: one cancellation keeps it.
	for _, topic := range []string{"a", "ab"} {
		if err := sub.Unsubscribe([]byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the cancellation of a", func() bool { return pubTopics(pub) == 1 })
	mustSend(t, pub, []byte("a2"))
	mustSend(t, pub, []byte("ab2"))
	expect(t, "SUB", 3, mustRecv(t, sub), frames([]byte("ab2")))
	if err := sub.Unsubscribe([]byte("never")); err != nil {
		t.Fatalf("Unsubscribe of an unknown topic: %v", err)
	}
	for _, typ := range []Type{Pub, XSub, Push, Router} {
		s := newSocket(t, r, typ)
		if err := s.Subscribe([]byte("x")); !errors.Is(err, ErrNotSupported) {
			t.Errorf("Subscribe on %v: %v", typ, err)
		}
	}
	if err := sub.Send(testCtx(t), []byte("x")); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Send on SUB: %v", err)
	}
	if _, err := pub.Recv(testCtx(t)); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Recv on PUB: %v", err)
	}
}

// SUB subscribes before or after Connect, and sends its subscriptions again to a publisher that
// comes back at the same endpoint.
func TestSubscriptionsSurviveReconnect(t *testing.T) {
	r := newReactor(t)
	ep := "ipc://" + t.TempDir() + "/pub.sock"
	pub1 := newSocket(t, r, Pub)
	if _, err := pub1.Bind(ep); err != nil {
		t.Fatal(err)
	}
	sub := newSocket(t, r, Sub, WithReconnectIvl(10*time.Millisecond, 0))
	events := sub.Monitor(64)
	if err := sub.Subscribe([]byte("before")); err != nil {
		t.Fatal(err)
	}
	connect(t, sub, ep)
	if err := sub.Subscribe([]byte("after")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two topics at the first publisher", func() bool { return pubTopics(pub1) == 2 })
	mustSend(t, pub1, []byte("before-1"))
	mustSend(t, pub1, []byte("after-1"))
	expect(t, "SUB", 0, mustRecv(t, sub), frames([]byte("before-1")))
	expect(t, "SUB", 1, mustRecv(t, sub), frames([]byte("after-1")))

	if err := pub1.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventDisconnected })
	pub2 := newSocket(t, r, Pub)
	if _, err := pub2.Bind(ep); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subscriptions sent again", func() bool { return pubTopics(pub2) == 2 })
	mustSend(t, pub2, []byte("other"))
	mustSend(t, pub2, []byte("after-2"))
	mustSend(t, pub2, []byte("before-2"))
	expect(t, "SUB", 2, mustRecv(t, sub), frames([]byte("after-2")))
	expect(t, "SUB", 3, mustRecv(t, sub), frames([]byte("before-2")))
}

// A subscriber that stops reading costs the publisher nothing but its own queue: the others get
// every message and Send never blocks.
func TestSlowSubscriberDoesNotStallFast(t *testing.T) {
	r := newReactor(t)
	const hwm, total, size = 100, 20000, 1024
	pub := newSocket(t, r, Pub, WithSndHWM(hwm))
	ep := bindTCP(t, pub)
	slow := newSocket(t, r, Sub, WithRcvHWM(10), func(o *Options) { o.RcvBuf = 8192 })
	fast := newSocket(t, r, Sub)
	for _, s := range []*Socket{slow, fast} {
		if err := s.Subscribe(nil); err != nil {
			t.Fatal(err)
		}
		connect(t, s, ep)
	}
	waitFor(t, "both subscribers at the publisher", func() bool { return pubTopics(pub) == 2 })

	var got atomic.Int64
	errc := make(chan error, 1)
	go func() {
		ctx := testCtx(t)
		for i := 0; i < total; i++ {
			m, err := fast.Recv(ctx)
			if err == nil {
				err = checkSeq(m[0], uint64(i), size)
			}
			if err != nil {
				errc <- err
				return
			}
			got.Add(1)
		}
		errc <- nil
	}()
	ctx := withTimeout(t, 60*time.Second) // a blocked Send fails the test instead of hanging it
	slowFull := false
	for i := 0; i < total; i++ {
		if err := pub.Send(ctx, seqMsg(uint64(i), size)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i%50 == 49 {
			// Pace the publisher to the fast reader, so that only the slow one falls behind.
			waitFor(t, "the fast subscriber", func() bool { return got.Load() > int64(i-hwm/2) })
			slowFull = slowFull || maxOutLen(pub) >= hwm
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !slowFull {
		t.Fatal("the slow subscriber's queue never filled: the test proved nothing")
	}
}

func maxOutLen(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p := range s.pipes {
		n = max(n, p.OutLen())
	}
	return n
}

// XPUB reports subscriptions as libzmq's does, in its default, verbose, verboser and manual
// modes, and greets new peers with XPUB_WELCOME_MSG.
func TestXPubModes(t *testing.T) {
	r := newReactor(t)
	cases := []struct {
		name      string
		opt       Option
		subs, uns int // notifications for two peers subscribing to one topic, then cancelling
	}{
		{"default", WithXPubVerbose(false), 1, 1},
		{"verbose", WithXPubVerbose(true), 2, 1},
		{"verboser", WithXPubVerboser(true), 2, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			xpub := newSocket(t, r, XPub, c.opt)
			ep := bindTCP(t, xpub)
			var subs []*Socket
			for i := 0; i < 2; i++ {
				s := newSocket(t, r, Sub)
				connect(t, s, ep)
				if err := s.Subscribe([]byte("t")); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the subscription applied", func() bool { return pubTopics(xpub) == i+1 })
				subs = append(subs, s)
			}
			for i := 0; i < c.subs; i++ {
				expect(t, "XPUB", i, mustRecv(t, xpub), frames([]byte("\x01t")))
			}
			for i, s := range subs {
				if err := s.Unsubscribe([]byte("t")); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the cancellation applied", func() bool { return pubTopics(xpub) == 1-i })
			}
			for i := 0; i < c.uns; i++ {
				expect(t, "XPUB", i, mustRecv(t, xpub), frames([]byte("\x00t")))
			}
			recvNone(t, xpub, "XPUB after the expected notifications")
		})
	}

	t.Run("manual", func(t *testing.T) {
		xpub := newSocket(t, r, XPub, WithXPubManual(true))
		ep := bindTCP(t, xpub)
		a := newSocket(t, r, Sub)
		b := newSocket(t, r, Sub)
		for _, s := range []*Socket{a, b} {
			connect(t, s, ep)
		}
		if err := a.Subscribe([]byte("news")); err != nil {
			t.Fatal(err)
		}
		expect(t, "XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01news")))
		if pubTopics(xpub) != 0 {
			t.Fatal("manual mode applied a subscription by itself")
		}
		// The reader applies it, as a different topic: it acts on the peer that asked.
		if err := xpub.Subscribe([]byte("new")); err != nil {
			t.Fatal(err)
		}
		if err := b.Subscribe(nil); err != nil {
			t.Fatal(err)
		}
		expect(t, "XPUB", 1, mustRecv(t, xpub), frames([]byte("\x01")))
		mustSend(t, xpub, []byte("news 1"))
		expect(t, "SUB a", 0, mustRecv(t, a), frames([]byte("news 1")))
		recvNone(t, b, "SUB b, whose subscription was not applied")
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		expect(t, "XPUB", 2, mustRecv(t, xpub), frames([]byte("\x00news")))
	})

	t.Run("welcome", func(t *testing.T) {
		xpub := newSocket(t, r, XPub, WithXPubWelcomeMsg([]byte("Welcome!")))
		ep := bindTCP(t, xpub)
		sub := newSocket(t, r, Sub)
		if err := sub.Subscribe([]byte("W")); err != nil {
			t.Fatal(err)
		}
		connect(t, sub, ep)
		expect(t, "SUB", 0, mustRecv(t, sub), frames([]byte("Welcome!")))
		expect(t, "XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01W")))
	})
}

// XSUB sends subscriptions and upstream messages as written; its cancellations are counted.
func TestXSubUpstream(t *testing.T) {
	r := newReactor(t)
	xpub := newSocket(t, r, XPub, WithXPubVerbose(true))
	ep := bindTCP(t, xpub)
	xsub := newSocket(t, r, XSub)
	connect(t, xsub, ep)
	waitFor(t, "connected", func() bool { return connectedPipes(xsub) == 1 })
	mustSend(t, xsub, []byte("\x01k"))
	mustSend(t, xsub, []byte("\x01k"))
	mustSend(t, xsub, []byte("hello"), []byte("up"))
	mustSend(t, xsub, []byte("\x00k"))
	mustSend(t, xsub, []byte("\x00k"))
	mustSend(t, xsub, []byte("\x00never"))
	expect(t, "XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01k")))
	expect(t, "XPUB", 1, mustRecv(t, xpub), frames([]byte("\x01k")))
	expect(t, "XPUB", 2, mustRecv(t, xpub), frames([]byte("hello"), []byte("up")))
	expect(t, "XPUB", 3, mustRecv(t, xpub), frames([]byte("\x00k")))
	recvNone(t, xpub, "XPUB after one counted cancellation")
}

// rawPeer speaks ZMTP by hand, so a test can announce ZMTP 3.0 and see every frame.
type rawPeer struct {
	c   net.Conn
	buf []byte
}

func rawConnect(t *testing.T, ep string, minor byte, sockType string) *rawPeer {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "tcp://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	p := &rawPeer{c: c}
	if _, err := c.Write(codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: minor, Mechanism: "NULL"})); err != nil {
		t.Fatal(err)
	}
	g := make([]byte, 64)
	if _, err := io.ReadFull(c, g); err != nil {
		t.Fatal(err)
	}
	ready := codec.AppendReady(nil, codec.Property{Name: "Socket-Type", Value: []byte(sockType)})
	if _, err := c.Write(ready); err != nil {
		t.Fatal(err)
	}
	if flags, body := p.frame(t); flags&codec.FlagCommand == 0 || !bytes.HasPrefix(body, []byte("\x05READY")) {
		t.Fatalf("expected READY, got flags %#x %q", flags, body)
	}
	return p
}

func (p *rawPeer) frame(t *testing.T) (byte, []byte) {
	t.Helper()
	for {
		if h, n, err := codec.ParseFrameHeader(p.buf, -1); err == nil && len(p.buf) >= n+int(h.Size) {
			body := bytes.Clone(p.buf[n : n+int(h.Size)])
			p.buf = p.buf[n+int(h.Size):]
			return h.Flags, body
		} else if err != nil && !errors.Is(err, codec.ErrShort) {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		k, err := p.c.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		p.buf = append(p.buf, b[:k]...)
	}
}

func (p *rawPeer) send(t *testing.T, flags byte, body []byte) {
	t.Helper()
	if _, err := p.c.Write(codec.AppendFrame(nil, flags, body)); err != nil {
		t.Fatal(err)
	}
}

// Subscriptions go as commands to ZMTP 3.1 peers and as data frames to ZMTP 3.0 peers, and
// publishers take both forms.
func TestSubscriptionWireForms(t *testing.T) {
	r := newReactor(t)
	sub := newSocket(t, r, Sub)
	if err := sub.Subscribe([]byte("topic")); err != nil {
		t.Fatal(err)
	}
	ep := bindTCP(t, sub)
	for _, minor := range []byte{0, 1} {
		p := rawConnect(t, ep, minor, "PUB")
		flags, body := p.frame(t)
		want, wantFlags := []byte("\x01topic"), byte(0)
		if minor == 1 {
			want, wantFlags = []byte("\x09SUBSCRIBEtopic"), codec.FlagCommand
		}
		if flags != wantFlags || !bytes.Equal(body, want) {
			t.Fatalf("ZMTP 3.%d peer got flags %#x %q, want %#x %q", minor, flags, body, wantFlags, want)
		}
	}

	xpub := newSocket(t, r, XPub, WithXPubVerboser(true))
	ep2 := bindTCP(t, xpub)
	p0 := rawConnect(t, ep2, 0, "SUB")
	p1 := rawConnect(t, ep2, 1, "SUB")
	p0.send(t, 0, []byte("\x01zero"))
	expect(t, "XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01zero")))
	p1.send(t, codec.FlagCommand, []byte("\x09SUBSCRIBEone"))
	expect(t, "XPUB", 1, mustRecv(t, xpub), frames([]byte("\x01one")))
	p1.send(t, 0, []byte("\x01data"))
	expect(t, "XPUB", 2, mustRecv(t, xpub), frames([]byte("\x01data")))
	p1.send(t, codec.FlagCommand, []byte("\x06CANCELone"))
	expect(t, "XPUB", 3, mustRecv(t, xpub), frames([]byte("\x00one")))
	p1.send(t, codec.FlagCommand, []byte("\x05HELLOignored"))
	mustSend(t, xpub, []byte("zero!"))
	mustSend(t, xpub, []byte("data!"))
	if flags, body := p0.frame(t); flags != 0 || string(body) != "zero!" {
		t.Fatalf("3.0 peer got %#x %q", flags, body)
	}
	if flags, body := p1.frame(t); flags != 0 || string(body) != "data!" {
		t.Fatalf("3.1 peer got %#x %q", flags, body)
	}
}

// CONFLATE keeps only the newest message per peer.
func TestConflate(t *testing.T) {
	r := newReactor(t)
	for _, typ := range []Type{Pull, Dealer, Sub} {
		t.Run(typ.String(), func(t *testing.T) {
			in := newSocket(t, r, typ, WithConflate(true))
			if typ == Sub {
				if err := in.Subscribe(nil); err != nil {
					t.Fatal(err)
				}
			}
			ep := bindTCP(t, in)
			peerType := map[Type]Type{Pull: Push, Dealer: Dealer, Sub: Pub}[typ]
			out := newSocket(t, r, peerType)
			connect(t, out, ep)
			if typ == Sub {
				waitFor(t, "the subscription", func() bool { return pubTopics(out) == 1 })
			}
			for i := 1; i <= 100; i++ {
				mustSend(t, out, []byte(fmt.Sprint(i)), []byte("part"))
			}
			waitFor(t, "the last message kept", func() bool {
				in.mu.Lock()
				defer in.mu.Unlock()
				var q *inQueue
				switch p := in.pat.(type) {
				case *pull:
					q = &p.in
				case *dealer:
					q = &p.in
				case *subscriber:
					q = &p.in
				}
				for _, m := range q.latest {
					return string(m.Frame(0)) == "100"
				}
				return false
			})
			expect(t, typ.String(), 0, mustRecv(t, in), frames([]byte("100"), []byte("part")))
			recvNone(t, in, "after the newest message")
		})
	}
	// Outbound, a conflating PUSH never blocks, even with nobody reading.
	push := newSocket(t, r, Push, WithConflate(true), WithLinger(0))
	pull := newSocket(t, r, Pull, WithRcvHWM(2))
	connect(t, push, bindTCP(t, pull))
	ctx := withTimeout(t, 30*time.Second)
	for i := 0; i < 100000; i++ {
		if err := push.Send(ctx, []byte("x")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

// Monitor ends with EventMonitorStopped.
func TestMonitorStopped(t *testing.T) {
	r := newReactor(t)
	s := newSocket(t, r, Dealer)
	events := s.Monitor(8)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var last reactor.Event
	for e := range events {
		last = e
	}
	if last.Type != reactor.EventMonitorStopped {
		t.Fatalf("last event %v", last)
	}
}

// Many goroutines on one DEALER and one ROUTER at once.
func TestRouterDealerConcurrent(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	router := newSocket(t, r, Router)
	ep := bindTCP(t, router)
	dealer := newSocket(t, r, Dealer)
	connect(t, dealer, ep)
	const workers, per = 4, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(2)
		go func() { // echo
			defer wg.Done()
			for i := 0; i < per; i++ {
				m, err := router.Recv(ctx)
				if err == nil {
					err = router.Send(ctx, m...)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := dealer.Send(ctx, []byte("ping")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := 0; i < workers*per; i++ {
		if m, err := dealer.Recv(ctx); err != nil || string(m[0]) != "ping" {
			t.Fatalf("%s %v", short(m), err)
		}
	}
	wg.Wait()
}

// More subscriptions than SNDHWM all arrive: what finds the queue full waits for room instead of
// being dropped (libzmq drops them).
func TestManySubscriptions(t *testing.T) {
	r := newReactor(t)
	pub := newSocket(t, r, Pub)
	ep := bindTCP(t, pub)
	sub := newSocket(t, r, Sub, WithSndHWM(10))
	const n = 3000
	for i := 0; i < n; i++ {
		if err := sub.Subscribe([]byte(fmt.Sprintf("topic-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, sub, ep)
	waitFor(t, "every subscription at the publisher", func() bool { return pubTopics(pub) == n })
	mustSend(t, pub, []byte("topic-2999!"))
	expect(t, "SUB", 0, mustRecv(t, sub), frames([]byte("topic-2999!")))
}

// Outbound CONFLATE keeps the newest message: with the reader away, what finally arrives after a
// burst is the last one sent, not the first.
func TestConflateOutboundKeepsNewest(t *testing.T) {
	r := newReactor(t)
	ctx := testCtx(t)
	pull := newSocket(t, r, Pull, WithRcvHWM(2))
	ep := bindTCP(t, pull)
	push := newSocket(t, r, Push, WithConflate(true))
	events := push.Monitor(8)
	connect(t, push, ep)
	waitEvent(t, events, func(e reactor.Event) bool { return e.Type == reactor.EventHandshakeSucceeded })
	const n = 100000
	for i := 0; i < n; i++ {
		if err := push.Send(ctx, []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	last := fmt.Sprint(n - 1)
	for {
		m, err := pull.Recv(ctx)
		if err != nil {
			t.Fatalf("the newest message never came: %v", err)
		}
		if string(m[0]) == last {
			return
		}
	}
}
