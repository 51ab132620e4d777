// Command echo is a zloop ROUTER that sends every message back to the peer it came from, for
// bench/cmd/echorss, which reads this process's peak RSS while a client sends it large messages.
//
//	echo ENDPOINT
//
// It binds ENDPOINT, prints "READY" on stdout once it listens, and echoes until SIGTERM or SIGINT
// (exit 0). Library defaults everywhere (HWM 1000, no MaxMsgSize), linger 0; the received message
// itself goes back (RecvMsg, then SendMsg of the same pool.Msg), as bin/libzmq-c/echo hands each
// received frame back to libzmq.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

func main() { os.Exit(run()) }

func run() int {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo ENDPOINT")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	r, err := reactor.New(reactor.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo zloop:", err)
		return 1
	}
	defer r.Close()
	s, err := sockets.NewOn(r, sockets.Router, sockets.WithLinger(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo zloop:", err)
		return 1
	}
	defer s.Close()
	if _, err := s.Bind(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "echo zloop: bind %s: %v\n", os.Args[1], err)
		return 1
	}
	fmt.Println("READY")
	for {
		m, err := s.RecvMsg(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(os.Stderr, "echo zloop: recv:", err)
			return 1
		}
		if err := s.SendMsg(ctx, m); err != nil {
			m.Release()
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "echo zloop: send:", err)
			return 1
		}
	}
}
