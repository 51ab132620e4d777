package zloopbench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

// pair runs the bind side and the connect side of one tool in this process, each on its own
// reactor as two processes would be.
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

// More messages than RCVHWM, so that the receiver pauses and the sender must wait for it.
func TestThr(t *testing.T) {
	ep := "ipc://" + filepath.Join(t.TempDir(), "thr.sock")
	recv, _ := pair(t, contract.ToolThr, "recv bind "+ep+" 100 5000 --check", "send connect "+ep+" 100 5000 --check")
	if v, ok := recv.Get("msg_per_s"); !ok || v == "0" {
		t.Fatalf("no rate: %s", recv.String())
	}
}

// --fill: messages built in the pool's buffer arrive whole, in order and numbered (--check).
func TestThrFill(t *testing.T) {
	ep := "ipc://" + filepath.Join(t.TempDir(), "fill.sock")
	recv, send := pair(t, contract.ToolThr, "recv bind "+ep+" 100000 300 --check", "send connect "+ep+" 100000 300 --check --fill")
	if recv.Status != contract.StatusOK || send.Status != contract.StatusOK {
		t.Fatalf("%s\n%s", recv.String(), send.String())
	}
}

func TestLat(t *testing.T) {
	ep := "ipc://" + filepath.Join(t.TempDir(), "lat.sock")
	_, req := pair(t, contract.ToolLat, "rep bind "+ep+" 64 300", "req connect "+ep+" 64 300")
	if v, ok := req.Get("samples"); !ok || v != "285" { // 300 - min(1000, 300/20)
		t.Fatalf("samples=%q: %s", v, req.String())
	}
}

// Run reports a timeout, not a hang, when no peer ever comes.
func TestTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	a, err := contract.Parse(contract.ToolThr, strings.Fields("recv bind ipc://"+filepath.Join(t.TempDir(), "x.sock")+" 8 10"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := contract.Run(ctx, &a, new(Impl))
	if r.Status != contract.StatusTimeout {
		t.Fatalf("%s", r.String())
	}
}

// tls:// and wss:// with the bench's throwaway certificates (benchtls): thr with --check past
// RCVHWM, and lat.
func TestTLS(t *testing.T) {
	for _, scheme := range []string{"tls", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			port, err := contract.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			ep := fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
			if scheme == "wss" {
				ep += "/zmq"
			}
			recv, _ := pair(t, contract.ToolThr, "recv bind "+ep+" 1000 3000 --check", "send connect "+ep+" 1000 3000 --check")
			if v, ok := recv.Get("msg_per_s"); !ok || v == "0" {
				t.Fatalf("no rate: %s", recv.String())
			}
			port, err = contract.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			ep = fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
			if scheme == "wss" {
				ep += "/zmq"
			}
			_, req := pair(t, contract.ToolLat, "rep bind "+ep+" 64 300", "req connect "+ep+" 64 300")
			if v, ok := req.Get("samples"); !ok || v != "285" {
				t.Fatalf("samples=%q: %s", v, req.String())
			}
		})
	}
}
