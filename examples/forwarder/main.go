// Command forwarder is the pub-sub forwarder (a proxy between publishers and subscribers that
// live on different networks): its XSUB faces the publishers upstream, its XPUB the subscribers
// downstream, and sockets.Proxy joins them in both directions, subscriptions up and messages down.
// Subscribers see a PUB and publishers a SUB, so this is a job for sockets rather than for
// sockets.Serve, whose endpoints are ROUTERs on the wire (examples/broker uses that).
//
//	go run ./examples/forwarder
package main

import (
	"context"
	"errors"
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
		fmt.Fprintln(os.Stderr, "forwarder:", err)
		os.Exit(1)
	}
}

var updates = []string{
	"weather.paris 21C", "news.tech zloop speaks ZMTP 3.1", "weather.oslo -3C",
	"sports.chess a draw", "news.world all quiet", "weather.paris 22C",
}

func run(ctx context.Context, w io.Writer) error {
	// The publisher is an XPUB so that it sees the subscriptions the forwarder passes up, and
	// publishes only once they are all there (a PUB would lose what it sent before: the slow
	// joiner). Verbose: every subscription, even to a topic it has seen.
	pub, err := sockets.New(sockets.XPub, sockets.WithXPubVerbose(true), sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer pub.Close()
	upstream, err := pub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}

	// The forwarder: XSUB up, XPUB down, the proxy between.
	xsub, err := sockets.New(sockets.XSub, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer xsub.Close()
	up := xsub.Monitor(8)
	if err := xsub.Connect(upstream); err != nil {
		return err
	}
	// Connected upstream before any subscriber comes: the XSUB then passes up each subscription
	// as the forwarder's XPUB reports it. Subscriptions that reach it earlier it would send when it
	// connects, each topic once (as libzmq's XSUB does), and the publisher would see one "END".
	if err := handshake(ctx, up); err != nil {
		return err
	}
	xpub, err := sockets.New(sockets.XPub, sockets.WithXPubVerbose(true), sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer xpub.Close()
	downstream, err := xpub.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	proxied := make(chan error, 1)
	go func() { proxied <- sockets.Proxy(ctx, xsub, xpub, nil) }()

	topics := []string{"weather.", "news."}
	subs := make([]*sockets.Socket, len(topics))
	for i, topic := range topics {
		s, err := sockets.New(sockets.Sub, sockets.WithLinger(0))
		if err != nil {
			return err
		}
		defer s.Close()
		for _, t := range []string{topic, "END"} {
			if err := s.Subscribe([]byte(t)); err != nil {
				return err
			}
		}
		if err := s.Connect(downstream); err != nil {
			return err
		}
		subs[i] = s
	}

	// Every subscription crosses the forwarder to the publisher as 0x01+topic: wait for all four.
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
		fmt.Fprintf(w, "subscriber to %q, through the forwarder:\n", topics[i])
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
	stop()
	if err := <-proxied; !errors.Is(err, context.Canceled) {
		return fmt.Errorf("proxy: %w", err)
	}
	return nil
}

// handshake waits for the monitored socket's first completed handshake.
func handshake(ctx context.Context, events <-chan sockets.Event) error {
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return errors.New("the monitor stopped before a handshake")
			}
			if e.Type == sockets.EventHandshakeSucceeded {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
