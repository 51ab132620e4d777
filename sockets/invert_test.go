package sockets

import (
	"testing"
	"time"

	"github.com/zloop/zloop/internal/testpeer"
)

// ZMQ_INVERT_MATCHING: the subscriptions become a rejection list. A PUB or XPUB sends a message to
// the peers that have no subscription matching it (those with none get everything); a SUB keeps
// the messages that match none of its subscriptions; an XSUB does not filter at all.

func sendTopics(t *testing.T, z *Socket, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		mustSend(t, z, []byte(topic))
	}
}

func expectTopics(t *testing.T, who string, recv func() [][]byte, topics ...string) {
	t.Helper()
	for i, topic := range topics {
		expect(t, who, i, recv(), frames([]byte(topic)))
	}
}

// TestInvertMatchingPublisher: an inverted PUB or XPUB sends each message to the subscribers that
// did not subscribe to it, and everything to one that subscribed to nothing. XSUBs receive, since
// they do not filter: what they get is what the publisher chose.
func TestInvertMatchingPublisher(t *testing.T) {
	r := newReactor(t)
	for _, typ := range []Type{Pub, XPub} {
		t.Run(typ.String(), func(t *testing.T) {
			pub := newSocket(t, r, typ, WithInvertMatching(true))
			ep, err := pub.Bind("tcp://127.0.0.1:*")
			if err != nil {
				t.Fatal(err)
			}
			none := newSocket(t, r, XSub)
			if err := none.Connect(ep); err != nil {
				t.Fatal(err)
			}
			awaitPeer(t, pub, none)
			xsubA := newSocket(t, r, XSub)
			xsubAB := newSocket(t, r, XSub)
			for _, s := range []*Socket{xsubA, xsubAB} {
				if err := s.Connect(ep); err != nil {
					t.Fatal(err)
				}
				mustSend(t, s, []byte("\x01A"))
			}
			mustSend(t, xsubAB, []byte("\x01B"))
			awaitInverted(t, pub, map[*Socket][]string{xsubA: {"A"}, xsubAB: {"A", "B"}})
			mustSend(t, pub, []byte("go"))
			for _, s := range []*Socket{none, xsubA, xsubAB} {
				for !sameMsg(mustRecv(t, s), frames([]byte("go"))) {
				}
			}
			sendTopics(t, pub, "A1", "B1", "C1", "AB", "D1")
			expectTopics(t, "XSUB !A", func() [][]byte { return mustRecv(t, xsubA) }, "B1", "C1", "D1")
			expectTopics(t, "XSUB !A !B", func() [][]byte { return mustRecv(t, xsubAB) }, "C1", "D1")
			expectTopics(t, "XSUB without subscriptions", func() [][]byte { return mustRecv(t, none) },
				"A1", "B1", "C1", "AB", "D1")
		})
	}
}

// awaitPeer sends probes from pub until sub receives one: pub knows of sub then.
func awaitPeer(t *testing.T, pub, sub *Socket) {
	t.Helper()
	for i := 0; ; i++ {
		mustSend(t, pub, probe)
		if m, err := sub.Recv(withTimeout(t, 20*time.Millisecond)); err == nil {
			expect(t, "subscriber", 0, m, frames(probe))
			return
		}
		if i > 1000 {
			t.Fatal("the subscriber never connected")
		}
	}
}

// awaitInverted waits until the subscriptions of every sub (the topics of subs) reached the
// inverted publisher pub: it sends every topic, then a probe every sub gets, until no sub gets
// one of its own topics.
func awaitInverted(t *testing.T, pub *Socket, subs map[*Socket][]string) {
	t.Helper()
	all := map[string]bool{}
	for _, topics := range subs {
		for _, topic := range topics {
			all[topic] = true
		}
	}
	for round := 0; ; round++ {
		for topic := range all {
			mustSend(t, pub, []byte(topic))
		}
		mustSend(t, pub, probe)
		clean := true
		for s, topics := range subs {
			// Without a subscription yet, s is sent everything; the probe matches none anyway,
			// but a sub not connected yet gets nothing. Later rounds see what an earlier one
			// left, which only delays the end, since subscriptions stay once applied.
			for {
				m, err := s.Recv(withTimeout(t, 20*time.Millisecond))
				if err != nil {
					clean = false
					break
				}
				if sameMsg(m, frames(probe)) {
					break
				}
				for _, topic := range topics {
					if string(m[0]) == topic {
						clean = false
					}
				}
			}
		}
		if clean {
			return
		}
		if round > 1000 {
			t.Fatal("the subscriptions never reached the inverted publisher")
		}
	}
}

// TestInvertMatchingSubscriber: an inverted SUB filters by itself what a publisher sends it
// unfiltered (an XPUB_MANUAL that subscribed its peer to everything); an XSUB ignores the option.
func TestInvertMatchingSubscriber(t *testing.T) {
	r := newReactor(t)
	xpub := newSocket(t, r, XPub, WithXPubManual(true))
	ep, err := xpub.Bind("inproc://invert-sub")
	if err != nil {
		t.Fatal(err)
	}
	sub := newSocket(t, r, Sub, WithInvertMatching(true))
	if err := sub.Subscribe([]byte("A")); err != nil {
		t.Fatal(err)
	}
	if err := sub.Connect(ep); err != nil {
		t.Fatal(err)
	}
	expect(t, "XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01A")))
	if err := xpub.Subscribe(nil); err != nil { // everything, for that peer
		t.Fatal(err)
	}
	xsub := newSocket(t, r, XSub, WithInvertMatching(true))
	if err := xsub.Connect(ep); err != nil {
		t.Fatal(err)
	}
	mustSend(t, xsub, []byte("\x01"))
	expect(t, "XPUB", 1, mustRecv(t, xpub), frames([]byte("\x01")))
	if err := xpub.Subscribe(nil); err != nil {
		t.Fatal(err)
	}
	sendTopics(t, xpub, "A1", "B1", "A2", "C1")
	expectTopics(t, "SUB !A", func() [][]byte { return mustRecv(t, sub) }, "B1", "C1")
	expectTopics(t, "XSUB", func() [][]byte { return mustRecv(t, xsub) }, "A1", "B1", "A2", "C1")
}

// TestInvertMatchingInterop: zloop's inverted XPUB and SUB against libzmq's inverted SUB and XPUB.
func TestInvertMatchingInterop(t *testing.T) {
	skipWithoutPeer(t)
	r := newReactor(t)

	xpub := newSocket(t, r, XPub, WithInvertMatching(true))
	ep, err := xpub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	lsub := testpeer.Start(t, "SUB")
	lsub.SetInt("INVERT_MATCHING", 1)
	lsub.SetBytes("SUBSCRIBE", []byte("A"))
	lsub.Connect(ep)
	expect(t, "zloop XPUB", 0, mustRecv(t, xpub), frames([]byte("\x01A")))
	sendTopics(t, xpub, "A1", "B1", "A2", "C1")
	expectTopics(t, "libzmq SUB !A", func() [][]byte { return libRecv(t, lsub) }, "B1", "C1")

	lpub := testpeer.Start(t, "XPUB")
	lpub.SetInt("INVERT_MATCHING", 1)
	lep := lpub.Bind("tcp://127.0.0.1:*")
	zsub := newSocket(t, r, Sub, WithInvertMatching(true))
	if err := zsub.Subscribe([]byte("A")); err != nil {
		t.Fatal(err)
	}
	if err := zsub.Connect(lep); err != nil {
		t.Fatal(err)
	}
	expect(t, "libzmq XPUB", 0, libRecv(t, lpub), frames([]byte("\x01A")))
	for _, topic := range []string{"A1", "B1", "A2", "C1"} {
		lpub.Send([]byte(topic))
	}
	expectTopics(t, "zloop SUB !A", func() [][]byte { return mustRecv(t, zsub) }, "B1", "C1")
}
