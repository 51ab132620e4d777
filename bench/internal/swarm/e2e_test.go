//go:build linux

package swarm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

// server is a zloop socket of type typ bound in this process, with a goroutine serving it as the
// swarm servers do: a PUB sends 64-byte messages once started, a ROUTER echoes.
type server struct {
	ep     string
	start  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newServer(t *testing.T, typ sockets.Type, opts ...sockets.Option) *server {
	t.Helper()
	r, err := reactor.New(reactor.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sockets.NewOn(r, typ, append([]sockets.Option{sockets.WithLinger(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{ep: ep, start: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(srv.done)
		switch typ {
		case sockets.Pub:
			select {
			case <-srv.start:
			case <-ctx.Done():
				return
			}
			body := make([]byte, 64)
			for ctx.Err() == nil {
				_ = s.Send(ctx, body)
			}
		case sockets.Router:
			for {
				m, err := s.RecvMsg(ctx)
				if err != nil {
					return
				}
				if err := s.SendMsg(ctx, m); err != nil {
					m.Release()
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-srv.done
		_ = s.Close()
		_ = r.Close()
	})
	return srv
}

// runSwarm runs the swarm with argv against srv: once it says CONNECTED, a PUB server starts and
// the swarm gets its start line.
func runSwarm(t *testing.T, srv *server, argv ...string) contract.Result {
	t.Helper()
	a, err := Parse(argv)
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	type ran struct {
		res contract.Result
		err error
	}
	got := make(chan ran, 1)
	go func() {
		res, err := Run(&a, inR, outW)
		_ = outW.Close()
		got <- ran{res, err}
	}()
	sc := bufio.NewScanner(outR)
	connected := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "CONNECTED ") {
			connected = true
			break
		}
	}
	wrote := make(chan struct{})
	if connected {
		close(srv.start)
		// The idle mode never reads it; closing the pipe below ends the write then.
		go func() { _, _ = io.WriteString(inW, "GO\n"); close(wrote) }()
	} else {
		close(wrote)
	}
	_, _ = io.Copy(io.Discard, outR)
	r := <-got
	_ = inW.Close()
	<-wrote
	if r.err != nil || r.res.Status != contract.StatusOK {
		t.Fatalf("%s: %v", r.res.String(), r.err)
	}
	return r.res
}

func figure(t *testing.T, r contract.Result, key string) float64 {
	t.Helper()
	v, ok := r.Get(key)
	if !ok {
		t.Fatalf("no %s in %s", key, r.String())
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return f
}

// A small swarm of every mode against a zloop server in this process, from two source addresses.
func TestSwarmAgainstZloop(t *testing.T) {
	common := []string{"--per-source", "25", "--warmup", "0.1", "--window", "0.3", "--timeout", "30", "--threads", "2"}
	t.Run("idle", func(t *testing.T) {
		srv := newServer(t, sockets.Router)
		r := runSwarm(t, srv, append([]string{"idle", srv.ep, "40", "--pid", fmt.Sprint(os.Getpid()), "--settle", "0"}, common...)...)
		if r.Count != 40 || figure(t, r, "conn_per_s") <= 0 {
			t.Fatalf("%s", r.String())
		}
		figure(t, r, "rss_per_conn_b")
	})
	// Heartbeats: the server PINGs every 20 ms and drops a peer that has not answered within
	// 100 ms; the swarm answers every PING with a PONG, so all 40 stay through the hold (a
	// connection the server closes fails the run) and the hold's figures are there.
	t.Run("heartbeat", func(t *testing.T) {
		srv := newServer(t, sockets.Router, sockets.WithHeartbeat(20*time.Millisecond, 0, 100*time.Millisecond))
		r := runSwarm(t, srv, append([]string{"idle", srv.ep, "40", "--pid", fmt.Sprint(os.Getpid()), "--settle", "0", "--hold", "0.5"}, common...)...)
		if figure(t, r, "pings") < 40 || figure(t, r, "pings_per_s") <= 0 || figure(t, r, "hold_s") < 0.5 {
			t.Fatalf("%s", r.String())
		}
		figure(t, r, "server_cpu_per_s")
	})
	t.Run("sub", func(t *testing.T) {
		srv := newServer(t, sockets.Pub)
		r := runSwarm(t, srv, append([]string{"sub", srv.ep, "40"}, common...)...)
		if figure(t, r, "deliveries_per_s") <= 0 {
			t.Fatalf("nothing delivered: %s", r.String())
		}
	})
	t.Run("dealer", func(t *testing.T) {
		srv := newServer(t, sockets.Router)
		r := runSwarm(t, srv, append([]string{"dealer", srv.ep, "40", "--inflight", "4", "--size", "32"}, common...)...)
		if figure(t, r, "rt_per_s") <= 0 || figure(t, r, "samples") <= 0 || figure(t, r, "rtt_p99_us") < figure(t, r, "rtt_p50_us") {
			t.Fatalf("%s", r.String())
		}
	})
	// A server that is not there: every connection fails, and the run says so.
	t.Run("refused", func(t *testing.T) {
		port, err := contract.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		a, err := Parse([]string{"idle", fmt.Sprintf("tcp://127.0.0.1:%d", port), "3", "--timeout", "10"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, err := Run(&a, strings.NewReader(""), io.Discard)
		if err == nil || r.Status != contract.StatusError {
			t.Fatalf("%s, %v after %v: want a refused connection", r.String(), err, time.Since(start))
		}
	})
}
