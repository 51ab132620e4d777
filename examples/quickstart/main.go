// Command quickstart is zloop's "main job" in one file: with no arguments it runs, over TCP on
// loopback and on the process's default reactor, a PUSH->PULL stream (200,000 messages of 64 B),
// a multipart check, and REQ->REP round trips (10,000), then prints what it did and how fast.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -n 1000000 -size 1024 -trips 50000
//
// It exits 0 when every message arrived intact and in order, 1 otherwise.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/sockets"
)

// config holds the counts; the flags of main set it, the tests shrink it.
type config struct {
	Msgs      int // PUSH->PULL messages
	Size      int // their size in bytes
	Multipart int // multipart messages in the framing check
	Trips     int // REQ->REP round trips
}

func defaultConfig() config {
	return config{Msgs: 200_000, Size: 64, Multipart: 1_000, Trips: 10_000}
}

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Msgs, "n", cfg.Msgs, "PUSH->PULL messages")
	flag.IntVar(&cfg.Size, "size", cfg.Size, "PUSH->PULL message size in bytes (at least 8)")
	flag.IntVar(&cfg.Multipart, "multipart", cfg.Multipart, "multipart messages to check")
	flag.IntVar(&cfg.Trips, "trips", cfg.Trips, "REQ->REP round trips")
	timeout := flag.Duration("timeout", time.Minute, "give up after this long")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	err := run(ctx, os.Stdout, cfg)
	cancel()
	// Like zmq_ctx_term: what closed sockets queued is delivered, then the default reactor stops.
	if cerr := sockets.Terminate(context.Background()); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run does the three exchanges in turn and reports each on w.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.Msgs < 1 || cfg.Size < 8 || cfg.Multipart < 0 || cfg.Trips < 1 {
		return fmt.Errorf("need -n >= 1, -size >= 8, -multipart >= 0 and -trips >= 1")
	}
	if err := pushPull(ctx, w, cfg); err != nil {
		return fmt.Errorf("push/pull: %w", err)
	}
	if err := multipart(ctx, w, cfg); err != nil {
		return fmt.Errorf("multipart: %w", err)
	}
	if err := reqRep(ctx, w, cfg); err != nil {
		return fmt.Errorf("req/rep: %w", err)
	}
	return nil
}

// pipeline is a bound PULL socket and a PUSH socket connected to it.
func pipeline() (push, pull *sockets.Socket, ep string, err error) {
	pull, err = sockets.New(sockets.Pull)
	if err != nil {
		return nil, nil, "", err
	}
	// Port "*" asks the kernel for a free one; Bind returns the endpoint it got.
	if ep, err = pull.Bind("tcp://127.0.0.1:*"); err == nil {
		if push, err = sockets.New(sockets.Push); err == nil {
			if err = push.Connect(ep); err != nil {
				_ = push.Close()
			}
		}
	}
	if err != nil {
		_ = pull.Close()
		return nil, nil, "", err
	}
	return push, pull, ep, nil
}

// pushPull streams cfg.Msgs numbered messages and checks that each arrives once, in order.
func pushPull(ctx context.Context, w io.Writer, cfg config) error {
	push, pull, ep, err := pipeline()
	if err != nil {
		return err
	}
	defer pull.Close()

	start := time.Now()
	sendCtx, stopSend := context.WithCancel(ctx) // stops the sender if the receiver gives up
	defer stopSend()
	sent := make(chan error, 1)
	go func() {
		// The pooled path: a fresh message per send, which belongs to the socket once sent.
		payload := make([]byte, cfg.Size)
		for i := 0; i < cfg.Msgs; i++ {
			binary.LittleEndian.PutUint64(payload, uint64(i))
			m := pool.NewMsg()
			m.AppendFrame(payload)
			if err := push.SendMsg(sendCtx, m); err != nil {
				m.Release() // a failed send leaves the message with us
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	var recvErr error
	for i := 0; i < cfg.Msgs && recvErr == nil; i++ {
		var m *pool.Msg
		if m, recvErr = pull.RecvMsg(ctx); recvErr != nil {
			break
		}
		// The frame is a view into m: read it before Release, never after.
		if b := m.Frame(0); m.Len() != 1 || len(b) != cfg.Size {
			recvErr = fmt.Errorf("message %d: %d frames, %d bytes", i, m.Len(), m.Size())
		} else if seq := binary.LittleEndian.Uint64(b); seq != uint64(i) {
			recvErr = fmt.Errorf("message %d arrived as number %d", i, seq)
		}
		m.Release()
	}
	elapsed := time.Since(start)
	if recvErr != nil {
		stopSend()
		_ = push.SetOptions(sockets.WithLinger(0)) // nobody will read the rest
	}
	sendErr := <-sent
	if recvErr != nil && errors.Is(sendErr, context.Canceled) {
		sendErr = nil // we stopped it
	}
	closeErr := push.Close() // lingers until the queue is on the wire (it is: all were received)
	if err := errors.Join(recvErr, sendErr, closeErr); err != nil {
		return err
	}
	rate := float64(cfg.Msgs) / elapsed.Seconds()
	fmt.Fprintf(w, "PUSH->PULL %d x %d B over %s: %.2f s, %.0f msg/s, %.1f MB/s\n",
		cfg.Msgs, cfg.Size, ep, elapsed.Seconds(), rate, rate*float64(cfg.Size)/1e6)
	return nil
}

// multipart sends messages of three frames of varying sizes through the convenient API
// (Send copies the frames, Recv returns copies) and checks their framing and contents.
func multipart(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.Multipart == 0 {
		return nil
	}
	push, pull, _, err := pipeline()
	if err != nil {
		return err
	}
	defer pull.Close()
	frames := func(i int) [][]byte {
		body := bytes.Repeat([]byte{byte(i)}, i%300) // empty, short and long-length frames
		return [][]byte{[]byte("header"), []byte(fmt.Sprint(i)), body}
	}
	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < cfg.Multipart; i++ {
			if err := push.Send(sendCtx, frames(i)...); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	var recvErr error
	total := 0
	for i := 0; i < cfg.Multipart; i++ {
		got, err := pull.Recv(ctx)
		if err != nil {
			recvErr = err
			break
		}
		if want := frames(i); !slices.EqualFunc(got, want, bytes.Equal) {
			recvErr = fmt.Errorf("message %d: got %d frames %q, want %q", i, len(got), got, want)
			break
		}
		total += len(got)
	}
	if recvErr != nil {
		stopSend()
		_ = push.SetOptions(sockets.WithLinger(0))
	}
	sendErr := <-sent
	if recvErr != nil && errors.Is(sendErr, context.Canceled) {
		sendErr = nil
	}
	if err := errors.Join(recvErr, sendErr, push.Close()); err != nil {
		return err
	}
	fmt.Fprintf(w, "multipart: %d messages, %d frames, all intact and in order\n", cfg.Multipart, total)
	return nil
}

// reqRep runs cfg.Trips request/reply round trips against an echoing REP and reports the
// round-trip time's median and 99th percentile (nearest rank).
func reqRep(ctx context.Context, w io.Writer, cfg config) error {
	rep, err := sockets.New(sockets.Rep)
	if err != nil {
		return err
	}
	defer rep.Close()
	ep, err := rep.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}
	req, err := sockets.New(sockets.Req)
	if err != nil {
		return err
	}
	defer req.Close()
	if err := req.Connect(ep); err != nil {
		return err
	}

	// The REP side answers on a goroutine of its own: zloop sockets may be used from any
	// goroutine, and each blocking call takes the context.
	repCtx, stopRep := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		for i := 0; i < cfg.Trips; i++ {
			msg, err := rep.Recv(repCtx)
			if err == nil {
				err = rep.Send(repCtx, msg...)
			}
			if err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()

	rtts := make([]time.Duration, 0, cfg.Trips)
	var reqErr error
	start := time.Now()
	for i := 0; i < cfg.Trips; i++ {
		request := []byte(fmt.Sprintf("request %d", i))
		t0 := time.Now()
		if reqErr = req.Send(ctx, request); reqErr != nil {
			break
		}
		reply, err := req.Recv(ctx)
		if err != nil {
			reqErr = err
			break
		}
		rtts = append(rtts, time.Since(t0))
		if len(reply) != 1 || !bytes.Equal(reply[0], request) {
			reqErr = fmt.Errorf("round trip %d: sent %q, got %q", i, request, reply)
			break
		}
	}
	elapsed := time.Since(start)
	if reqErr != nil {
		stopRep() // the REP side would wait for requests that will not come
	}
	repErr := <-served
	if reqErr != nil && errors.Is(repErr, context.Canceled) {
		repErr = nil // we stopped it
	}
	stopRep()
	if err := errors.Join(reqErr, repErr); err != nil {
		return err
	}
	slices.Sort(rtts)
	fmt.Fprintf(w, "REQ->REP %d round trips over %s: %.2f s, %.0f trips/s, RTT p50 %.1f us, p99 %.1f us\n",
		cfg.Trips, ep, elapsed.Seconds(), float64(cfg.Trips)/elapsed.Seconds(),
		us(percentile(rtts, 50)), us(percentile(rtts, 99)))
	return nil
}

// percentile returns the nearest-rank p-th percentile of sorted (not empty).
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100*n)
	return sorted[max(rank, 1)-1]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
