// Command server is the zloop side of the swarm benchmark (bench/CONTRACT.md, "swarm servers"):
//
//	server idle|pub|router-echo|router-serve ENDPOINT [--size BYTES] [--loops N] [--backlog N]
//	       [--heartbeat MS] [--heartbeat-timeout MS] [--memprofile FILE] [--cpuprofile FILE] [--stats 1]
//
// idle binds a ROUTER and holds its connections; pub binds a PUB and, once a line arrives on
// stdin, sends SIZE-byte messages with Send as fast as it can; router-echo binds a ROUTER and
// sends every message back with RecvMsg/SendMsg; router-serve does what router-echo does with the
// loop-resident handler API instead (sockets.Serve: Call.Echo on the loop, no socket, no goroutine
// hand-off), which a peer cannot tell from a ROUTER. It prints READY once it listens and runs until
// SIGTERM or SIGINT (exit 0). One loop (the reactor's Loops), as libzmq's one I/O thread.
// --heartbeat is ZMQ_HEARTBEAT_IVL in milliseconds (0, the default: none), --heartbeat-timeout
// ZMQ_HEARTBEAT_TIMEOUT (0: the interval, libzmq's default).
//
// --memprofile FILE (zloop only, for finding what a connection costs) records every allocation
// (runtime.MemProfileRate 1) and writes a heap profile to FILE on SIGUSR1 (after a GC, so that it
// shows what is live), or at exit when no SIGUSR1 came: at exit the connections are gone.
// --cpuprofile FILE profiles the CPU from the first SIGUSR2 to the next (or to the exit): a window
// of the run, such as a swarm's hold. --stats 1 prints the reactor's write counters (and pub's Send
// calls) on stderr at the end. These three are for finding out why a case is slow, not part of the
// contract.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

func main() { os.Exit(run(os.Args[1:])) }

type args struct {
	mode, endpoint string
	size, loops    int
	backlog        int
	hbIvl, hbTO    int // milliseconds
	memprofile     string
	cpuprofile     string
	stats          bool
}

func parse(argv []string) (args, error) {
	a := args{size: 64, loops: 1}
	var pos []string
	for i := 0; i < len(argv); i++ {
		name, val, has := strings.Cut(strings.TrimLeft(argv[i], "-"), "=")
		if len(argv[i]) < 2 || argv[i][0] != '-' {
			pos = append(pos, argv[i])
			continue
		}
		if !has {
			if i+1 >= len(argv) {
				return a, fmt.Errorf("--%s needs a value", name)
			}
			i++
			val = argv[i]
		}
		if name == "memprofile" {
			a.memprofile = val
			continue
		}
		if name == "cpuprofile" {
			a.cpuprofile = val
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return a, fmt.Errorf("--%s %q", name, val)
		}
		switch name {
		case "size":
			a.size = n
		case "loops":
			a.loops = max(n, 1)
		case "backlog":
			a.backlog = n
		case "stats":
			a.stats = n != 0
		case "heartbeat":
			a.hbIvl = n
		case "heartbeat-timeout":
			a.hbTO = n
		default:
			return a, fmt.Errorf("unknown flag --%s", name)
		}
	}
	if len(pos) != 2 || (pos[0] != "idle" && pos[0] != "pub" && pos[0] != "router-echo" && pos[0] != "router-serve") {
		return a, errors.New("want idle|pub|router-echo|router-serve ENDPOINT")
	}
	a.mode, a.endpoint = pos[0], pos[1]
	return a, nil
}

func run(argv []string) int {
	a, err := parse(argv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "server zloop:", err)
		fmt.Fprintln(os.Stderr, "usage: server idle|pub|router-echo|router-serve ENDPOINT [--size BYTES] [--loops N] [--backlog N] [--heartbeat MS] [--heartbeat-timeout MS] [--memprofile FILE] [--cpuprofile FILE] [--stats 1]")
		return 1
	}
	if a.memprofile != "" {
		runtime.MemProfileRate = 1
		var signalled atomic.Bool
		defer func() {
			if !signalled.Load() {
				writeHeap(a.memprofile)
			}
		}()
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			for range usr1 {
				signalled.Store(true)
				writeHeap(a.memprofile)
			}
		}()
	}
	if a.cpuprofile != "" {
		defer profileCPU(a.cpuprofile)()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	r, err := reactor.New(reactor.Config{Loops: a.loops})
	if err != nil {
		fmt.Fprintln(os.Stderr, "server zloop:", err)
		return 1
	}
	defer r.Close()
	var sends uint64
	if a.stats {
		defer func() { fmt.Fprintf(os.Stderr, "server zloop: sends=%d %+v\n", sends, r.Stats()) }()
	}
	opts := []sockets.Option{sockets.WithLinger(0)}
	if a.backlog > 0 {
		opts = append(opts, sockets.WithBacklog(a.backlog))
	}
	if a.hbIvl > 0 {
		opts = append(opts, sockets.WithHeartbeat(time.Duration(a.hbIvl)*time.Millisecond, 0, time.Duration(a.hbTO)*time.Millisecond))
	}
	if a.mode == "router-serve" {
		srv, err := sockets.ServeOn(r, a.endpoint, func(c *sockets.Call) { c.Echo() }, opts...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "server zloop: serve %s: %v\n", a.endpoint, err)
			return 1
		}
		defer srv.Close()
		fmt.Println("READY")
		<-ctx.Done()
		return 0
	}
	typ := sockets.Router
	if a.mode == "pub" {
		typ = sockets.Pub
	}
	s, err := sockets.NewOn(r, typ, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "server zloop:", err)
		return 1
	}
	defer s.Close()
	if _, err := s.Bind(a.endpoint); err != nil {
		fmt.Fprintf(os.Stderr, "server zloop: bind %s: %v\n", a.endpoint, err)
		return 1
	}
	fmt.Println("READY")
	switch a.mode {
	case "idle":
		<-ctx.Done()
	case "pub":
		start := make(chan struct{})
		go func() {
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err == nil {
				close(start)
			}
		}()
		select {
		case <-start:
		case <-ctx.Done():
			return 0
		}
		body := make([]byte, a.size)
		for ctx.Err() == nil {
			sends++
			if err := s.Send(ctx, body); err != nil {
				if ctx.Err() != nil {
					return 0
				}
				fmt.Fprintln(os.Stderr, "server zloop: send:", err)
				return 1
			}
		}
	case "router-echo":
		for {
			m, err := s.RecvMsg(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return 0
				}
				fmt.Fprintln(os.Stderr, "server zloop: recv:", err)
				return 1
			}
			if err := s.SendMsg(ctx, m); err != nil {
				m.Release()
				if ctx.Err() != nil {
					return 0
				}
				fmt.Fprintln(os.Stderr, "server zloop: send:", err)
				return 1
			}
		}
	}
	return 0
}

// writeHeap writes the live heap (after a GC) to path; a failure is reported, not fatal.
func writeHeap(path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server zloop: memprofile:", err)
		return
	}
	fmt.Fprintln(os.Stderr, "server zloop: heap profile written to", path)
}

// profileCPU starts and stops a CPU profile into path at each SIGUSR2; the returned func stops a
// profile still running (at exit).
func profileCPU(path string) (stop func()) {
	var mu sync.Mutex
	var f *os.File
	end := func() {
		if f != nil {
			pprof.StopCPUProfile()
			_ = f.Close()
			f = nil
			fmt.Fprintln(os.Stderr, "server zloop: CPU profile written to", path)
		}
	}
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	go func() {
		for range usr2 {
			mu.Lock()
			if f != nil {
				end()
			} else if nf, err := os.Create(path); err == nil {
				if err := pprof.StartCPUProfile(nf); err != nil {
					_ = nf.Close()
					fmt.Fprintln(os.Stderr, "server zloop: cpuprofile:", err)
				} else {
					f = nf
				}
			}
			mu.Unlock()
		}
	}()
	return func() {
		signal.Stop(usr2)
		mu.Lock()
		end()
		mu.Unlock()
	}
}
