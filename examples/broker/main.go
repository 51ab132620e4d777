// Command broker is the extended request-reply pattern on zloop's loop-resident handler API: REQ
// clients talk to the broker's frontend and DEALER workers to its backend, both sockets.Serve
// endpoints (ROUTERs on the wire), and the broker's two handlers pass each request to the next
// worker and each reply back to its client, on the event loops that read them: no proxy goroutine,
// no socket in between. Neither side knows the other's addresses or numbers. A worker says READY
// once; a request reaches it as [client id, body] and it answers [client id, reply]; the client,
// a REQ, gets its reply behind the empty delimiter it sent.
//
//	go run ./examples/broker
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zloop/zloop/pool"
	"github.com/zloop/zloop/sockets"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := run(ctx, os.Stdout, 3, 6)
	cancel()
	if cerr := sockets.Terminate(context.Background()); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(1)
	}
}

// broker is the state both handlers share. They run on whichever loops own the connections, maybe
// at the same time, so it has a lock; nothing blocks under it.
type broker struct {
	mu      sync.Mutex
	workers []sockets.PeerRef // in the order they said READY; requests go round them
	next    int
	waiting []*pool.Msg // requests that came before any worker, as [client id, body]
	ready   chan struct{}
	front   *sockets.Server
}

// request runs on the frontend's loop for each client message: ["", body] from a REQ.
func (b *broker) request(c *sockets.Call) {
	m := c.Take()
	if m.Len() != 2 || len(m.Frame(0)) != 0 {
		m.Release() // not a REQ's request: dropped, as a ROUTER broker would do with a bad envelope
		return
	}
	m.PopFront()
	m.PushFront(c.PeerID()) // into the room in front of the message: the body is not copied
	b.mu.Lock()
	if len(b.workers) == 0 {
		b.waiting = append(b.waiting, m)
		b.mu.Unlock()
		return
	}
	w := b.workers[b.next%len(b.workers)]
	b.next++
	b.mu.Unlock()
	w.Send(m)
}

// reply runs on the backend's loop for each worker message: READY, or [client id, reply].
func (b *broker) reply(c *sockets.Call) {
	m := c.Msg()
	if m.Len() == 1 && string(m.Frame(0)) == "READY" {
		b.mu.Lock()
		b.workers = append(b.workers, c.Peer())
		waiting := b.waiting
		b.waiting = nil
		b.mu.Unlock()
		for _, r := range waiting {
			c.Peer().Send(r)
		}
		b.ready <- struct{}{}
		return
	}
	if m.Len() != 2 {
		return
	}
	client, ok := b.front.Peer(m.Frame(0))
	if !ok {
		return // the client left: its reply is dropped
	}
	m = c.Take()
	m.PopFront()
	m.PushFront(nil) // the REQ's empty delimiter
	client.Send(m)
}

func run(ctx context.Context, w io.Writer, workers, clients int) error {
	b := &broker{ready: make(chan struct{}, workers)}
	front, err := sockets.Serve("tcp://127.0.0.1:*", b.request, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer front.Close()
	b.front = front
	back, err := sockets.Serve("tcp://127.0.0.1:*", b.reply, sockets.WithLinger(0))
	if err != nil {
		return err
	}
	defer back.Close()

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, workers+clients)
	var mu sync.Mutex
	served := map[string]int{}
	for i := 1; i <= workers; i++ {
		name := fmt.Sprintf("worker-%d", i)
		d, err := sockets.New(sockets.Dealer)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Connect(back.Endpoint()); err != nil {
			return err
		}
		if err := d.Send(ctx, []byte("READY")); err != nil {
			return err
		}
		// One worker at a time says READY, so that they take their turns in the order of their names.
		select {
		case <-b.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				req, err := d.Recv(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
					return
				}
				mu.Lock()
				served[name]++
				mu.Unlock()
				if err := d.Send(ctx, req[0], []byte(strings.ToUpper(string(req[1])))); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		}()
	}

	replies := make([]string, clients)
	var cwg sync.WaitGroup
	for i := 0; i < clients; i++ {
		req, err := sockets.New(sockets.Req)
		if err != nil {
			return err
		}
		defer req.Close()
		if err := req.Connect(front.Endpoint()); err != nil {
			return err
		}
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			err := req.Send(ctx, []byte(fmt.Sprintf("hello from client %d", i+1)))
			if err == nil {
				var m [][]byte
				if m, err = req.Recv(ctx); err == nil {
					replies[i] = string(m[0])
				}
			}
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i+1, err)
			}
		}()
	}
	cwg.Wait()
	stop()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for i, r := range replies {
		fmt.Fprintf(w, "client %d got %q\n", i+1, r)
	}
	names := make([]string, 0, len(served))
	for name := range served {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "%s served %d requests\n", name, served[name])
	}
	return nil
}
