package loopbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

func endpoints(t *testing.T) map[string]string {
	t.Helper()
	tcp, err := contract.FreeTCP()
	if err != nil {
		t.Fatal(err)
	}
	port, err := contract.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tlsEp, err := contract.FreeTCP()
	if err != nil {
		t.Fatal(err)
	}
	wssPort, err := contract.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"tcp": tcp,
		"ipc": "ipc://" + filepath.Join(t.TempDir(), "x.sock"),
		"ws":  fmt.Sprintf("ws://127.0.0.1:%d/zmq", port),
		"tls": "tls://" + strings.TrimPrefix(tlsEp, "tcp://"),
		"wss": fmt.Sprintf("wss://127.0.0.1:%d/zmq", wssPort),
	}
}

func pair(t *testing.T, tool, server, client string) (contract.Result, contract.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sr, cr, err := contract.RunPair(ctx, tool, server, new(Impl), client, new(Impl))
	if err != nil {
		t.Fatal(err)
	}
	return sr, cr
}

// Every message arrives whole and in order (--check), over each transport.
func TestThr(t *testing.T) {
	for tr, ep := range endpoints(t) {
		t.Run(tr, func(t *testing.T) {
			recv, _ := pair(t, contract.ToolThr, "recv bind "+ep+" 100000 300 --check", "send connect "+ep+" 100000 300 --check")
			if v, ok := recv.Get("msg_per_s"); !ok || v == "0" || v == "0.000" {
				t.Fatalf("no rate: %s", recv.String())
			}
		})
	}
}

// --fill writes a buffer of the sender's own, numbered, in every mode (Rotate's in turn), and
// Rotate's receiver reads every message whole into its buffers in turn, with and without --fill.
func TestThrFill(t *testing.T) {
	for _, tc := range []struct {
		mode SendMode
		fill string
	}{{Direct, " --fill"}, {Copy, " --fill"}, {Handoff, " --fill"}, {Rotate, " --fill"}, {Rotate, ""}} {
		ep := endpoints(t)["tcp"]
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		recv, _, err := contract.RunPair(ctx, contract.ToolThr, "recv bind "+ep+" 100000 300 --check --hwm 3", &Impl{Send: tc.mode},
			"send connect "+ep+" 100000 300 --check --hwm 3"+tc.fill, &Impl{Send: tc.mode})
		cancel()
		if err != nil {
			t.Fatalf("mode %v%s: %v", tc.mode, tc.fill, err)
		}
		if recv.Status != contract.StatusOK {
			t.Fatalf("mode %v%s: %s", tc.mode, tc.fill, recv.String())
		}
	}
}

func TestLat(t *testing.T) {
	for tr, ep := range endpoints(t) {
		t.Run(tr, func(t *testing.T) {
			_, req := pair(t, contract.ToolLat, "rep bind "+ep+" 64 300", "req connect "+ep+" 64 300")
			if v, ok := req.Get("samples"); !ok || v != "285" { // 300 - min(1000, 300/20)
				t.Fatalf("samples=%q: %s", v, req.String())
			}
		})
	}
}

// Both sides report a timeout, not a hang, when no peer ever comes.
func TestTimeout(t *testing.T) {
	ep := "ipc://" + filepath.Join(t.TempDir(), "x.sock")
	for _, args := range []string{"recv bind " + ep + " 8 10", "send connect " + ep + " 8 10"} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		a, err := contract.Parse(contract.ToolThr, strings.Fields(args))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := contract.Run(ctx, &a, new(Impl))
		cancel()
		if r.Status != contract.StatusTimeout {
			t.Fatalf("%s: %s", args, r.String())
		}
	}
}

func TestNetwork(t *testing.T) {
	for ep, want := range map[string]string{
		"tcp://127.0.0.1:5555":    "tcp 127.0.0.1:5555",
		"ws://127.0.0.1:5556/zmq": "tcp 127.0.0.1:5556",
		"ipc:///tmp/x.sock":       "unix /tmp/x.sock",
		"tls://127.0.0.1:5557":    "tcp 127.0.0.1:5557",
		"wss://127.0.0.1:5558/x":  "tcp 127.0.0.1:5558",
	} {
		n, a, err := network(ep)
		if err != nil || n+" "+a != want {
			t.Errorf("%s: %s %s %v, want %s", ep, n, a, err, want)
		}
	}
	if _, _, err := network("inproc://x"); !errors.Is(err, ErrEndpoint) {
		t.Errorf("inproc: %v", err)
	}
}

// A copying sender's messages arrive whole and in order (--check): each copy is written before its
// buffer takes another payload, with the queue at --hwm and at the default.
func TestThrCopyingSender(t *testing.T) {
	for _, mode := range []SendMode{Copy, Handoff} {
		for _, hwm := range []string{" --hwm 2", ""} {
			ep, err := contract.FreeTCP()
			if err != nil {
				t.Fatal(err)
			}
			sender := &Impl{Send: mode}
			t.Run(sender.Name()+hwm, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				recv, _, err := contract.RunPair(ctx, contract.ToolThr, "recv bind "+ep+" 100000 300 --check"+hwm, new(Impl),
					"send connect "+ep+" 100000 300 --check"+hwm, sender)
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := recv.Get("msg_per_s"); !ok || v == "0" || v == "0.000" {
					t.Fatalf("no rate: %s", recv.String())
				}
			})
		}
	}
}

// Handoff's writer stops at its first write error, and Send returns that error once the buffers
// queued before it are spent, not only at the end of the run.
func TestHandoffWriteError(t *testing.T) {
	c, peer := net.Pipe()
	_ = peer.Close() // every write to c now fails
	defer c.Close()
	bufs := [][]byte{make([]byte, 4), make([]byte, 4)}
	w := startWriter(c, bufs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = w.send(ctx, []byte("abcd"))
	}
	if !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("send after a failed write: %v, want %v", err, io.ErrClosedPipe)
	}
	if err := w.flush(); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("flush: %v", err)
	}
}

// Rotate goes through HWM+1 distinct buffers and then comes back to the first.
func TestRotateBuffers(t *testing.T) {
	s := &socket{mode: Rotate, hwm: 2}
	var seen [][]byte
	for range 4 {
		seen = append(seen, s.nextBuffer(8))
	}
	for i := range 3 {
		for j := range i {
			if &seen[i][0] == &seen[j][0] {
				t.Fatalf("buffers %d and %d are the same", j, i)
			}
		}
	}
	if &seen[3][0] != &seen[0][0] {
		t.Fatal("the fourth buffer is not the first again")
	}
}
