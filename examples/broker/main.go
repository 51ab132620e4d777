// Command broker is the extended request-reply pattern: REQ clients talk to a ROUTER (the
// broker's frontend), which a proxy joins to a DEALER (its backend) that load-balances the
// requests over REP workers. Neither side knows the other's addresses or numbers: workers and
// clients come and go behind the broker. ROUTER and DEALER carry the envelope (the client's
// routing id and the empty delimiter) so that each reply finds its way back.
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

func run(ctx context.Context, w io.Writer, workers, clients int) error {
	frontend, err := sockets.New(sockets.Router)
	if err != nil {
		return err
	}
	defer frontend.Close()
	backend, err := sockets.New(sockets.Dealer)
	if err != nil {
		return err
	}
	defer backend.Close()
	events := backend.Monitor(64)
	front, err := frontend.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}
	back, err := backend.Bind("tcp://127.0.0.1:*")
	if err != nil {
		return err
	}

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, workers+clients+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sockets.Proxy(ctx, frontend, backend, nil); !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("proxy: %w", err)
		}
	}()

	var mu sync.Mutex
	served := map[string]int{}
	for i := 1; i <= workers; i++ {
		name := fmt.Sprintf("worker-%d", i)
		rep, err := sockets.New(sockets.Rep)
		if err != nil {
			return err
		}
		defer rep.Close()
		if err := rep.Connect(back); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				req, err := rep.Recv(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
					return
				}
				mu.Lock()
				served[name]++
				mu.Unlock()
				if err := rep.Send(ctx, []byte(strings.ToUpper(string(req[0])))); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		}()
	}
	// Requests are spread evenly over the workers connected at the time: wait for all of them.
	for up := 0; up < workers; {
		select {
		case e := <-events:
			if e.Type == sockets.EventHandshakeSucceeded {
				up++
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	replies := make([]string, clients)
	var cwg sync.WaitGroup
	for i := 0; i < clients; i++ {
		req, err := sockets.New(sockets.Req)
		if err != nil {
			return err
		}
		defer req.Close()
		if err := req.Connect(front); err != nil {
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
