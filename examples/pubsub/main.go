// Command pubsub is the publish-subscribe pattern: one publisher, two subscribers with different
// topics, filtering done by the publisher. The publisher is an XPUB so that it sees its
// subscribers' subscriptions arrive and starts publishing only once both are listening (with a
// plain PUB, messages published before a subscription arrives are lost: the "slow joiner").
//
//	go run ./examples/pubsub
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zloop/zloop/sockets"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := run(ctx, os.Stdout)
	cancel()
	if cerr := sockets.Terminate(context.Background()); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pubsub:", err)
		os.Exit(1)
	}
}

var updates = []string{
	"weather.paris 21C", "news.tech zloop speaks ZMTP 3.1", "weather.oslo -3C",
	"sports.chess a draw", "news.world all quiet", "weather.paris 22C",
}

func run(ctx context.Context, w io.Writer) error {
	// Verbose: report every subscription, not only the first one to each topic (both
	// subscribers want "END").
	pub, err := sockets.New(sockets.XPub, sockets.WithXPubVerbose(true))
	if err != nil {
		return err
	}
	defer pub.Close()
	ep, err := pub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}

	// Each subscriber wants one topic prefix, and "END" to know when to stop.
	topics := []string{"weather.", "news."}
	subs := make([]*sockets.Socket, len(topics))
	for i, topic := range topics {
		s, err := sockets.New(sockets.Sub)
		if err != nil {
			return err
		}
		defer s.Close()
		// Subscribing before Connect is fine: a subscriber tells each publisher its
		// subscriptions when it connects, and again after every reconnection.
		for _, t := range []string{topic, "END"} {
			if err := s.Subscribe([]byte(t)); err != nil {
				return err
			}
		}
		if err := s.Connect(ep); err != nil {
			return err
		}
		subs[i] = s
	}

	// An XPUB receives each new subscription as 0x01+topic: wait for all four.
	for seen := 0; seen < 2*len(topics); seen++ {
		m, err := pub.Recv(ctx)
		if err != nil {
			return err
		}
		if m[0][0] != 1 {
			return fmt.Errorf("unexpected message on the publisher: %q", m[0])
		}
	}
	for _, u := range updates {
		topic, body, _ := strings.Cut(u, " ")
		if err := pub.Send(ctx, []byte(topic), []byte(body)); err != nil {
			return err
		}
	}
	if err := pub.Send(ctx, []byte("END")); err != nil {
		return err
	}

	for i, s := range subs {
		fmt.Fprintf(w, "subscriber to %q:\n", topics[i])
		for {
			m, err := s.Recv(ctx)
			if err != nil {
				return err
			}
			if string(m[0]) == "END" {
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", m[0], m[1])
		}
	}
	return nil
}
