// Command reqrep is the request-reply pattern: a REP server and a REQ client over TCP on loopback.
// The server "loses" one request on purpose; the client notices with a receive timeout and, thanks
// to ZMQ_REQ_RELAXED, asks again instead of being stuck, while ZMQ_REQ_CORRELATE makes sure a late
// answer to the abandoned request could never be taken for the new one.
//
//	go run ./examples/reqrep
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
		fmt.Fprintln(os.Stderr, "reqrep:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	rep, err := sockets.New(sockets.Rep)
	if err != nil {
		return err
	}
	defer rep.Close()
	ep, err := rep.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}

	req, err := sockets.New(sockets.Req,
		sockets.WithReqRelaxed(true), sockets.WithReqCorrelate(true),
		sockets.WithRcvTimeout(500*time.Millisecond), sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer req.Close()
	if err := req.Connect(ep); err != nil {
		return err
	}

	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	// The server's reply to the second request is held back until the client has given up on
	// it: a lost reply, as from a server that stalled.
	retried := make(chan struct{})
	go func() { served <- serveLate(srvCtx, rep, 2, retried) }()
	gaveUp := false

	for i, q := range [][2]int{{1, 2}, {20, 22}, {100, 23}} {
		text := fmt.Sprintf("add %d %d", q[0], q[1])
		for attempt := 1; ; attempt++ {
			if err := req.Send(ctx, []byte(text)); err != nil {
				return err
			}
			reply, err := req.Recv(ctx)
			if errors.Is(err, sockets.ErrWouldBlock) {
				fmt.Fprintf(w, "request %d (%s): no reply in time, asking again\n", i+1, text)
				if !gaveUp {
					gaveUp = true
					close(retried)
				}
				continue
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "request %d (%s) = %s\n", i+1, text, reply[0])
			break
		}
	}
	stop()
	if err := <-served; !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// serveLate is serve with a twist: the answer to request number late waits until retried is
// closed, so it arrives after the client gave up on it, and the client must drop it.
func serveLate(ctx context.Context, rep *sockets.Socket, late int, retried <-chan struct{}) error {
	for n := 1; ; n++ {
		req, err := rep.Recv(ctx)
		if err != nil {
			return err
		}
		f := strings.Fields(string(req[0]))
		a, _ := strconv.Atoi(f[1])
		b, _ := strconv.Atoi(f[2])
		answer := strconv.Itoa(a + b)
		if n == late {
			select {
			case <-retried:
			case <-ctx.Done():
				return ctx.Err()
			}
			answer = "stale " + answer
		}
		if err := rep.Send(ctx, []byte(answer)); err != nil {
			return err
		}
	}
}
