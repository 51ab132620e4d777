package gozmqbench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/libzmqbench"
	"github.com/zloop/zloop/bench/internal/zloopbench"
	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

func freeTCP(t *testing.T) string {
	t.Helper()
	ep, err := contract.FreeTCP()
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func newImpl(name string) contract.Impl {
	switch name {
	case "zloop":
		return new(zloopbench.Impl)
	case "libzmq":
		return new(libzmqbench.Impl)
	}
	return new(Impl)
}

func parse(t *testing.T, tool, s string) *contract.Args {
	t.Helper()
	a, err := contract.Parse(tool, strings.Fields(s))
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

// run runs the bind side and the connect side in this process, each with its own Impl, as two
// processes would.
func run(t *testing.T, tool, server, serverImpl, client, clientImpl string) (contract.Result, contract.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sr, cr, err := contract.RunPair(ctx, tool, server, newImpl(serverImpl), client, newImpl(clientImpl))
	if err != nil {
		t.Fatal(err)
	}
	if sr.Impl != serverImpl || cr.Impl != clientImpl {
		t.Fatalf("impl names %s %s", sr.Impl, cr.Impl)
	}
	return sr, cr
}

// go-zeromq against itself and against the other two, both tools, more messages than any queue
// holds, every message's sequence number checked. The last REP reply and the sender's last
// messages are what go-zeromq loses without the adapter's waits.
func TestPairs(t *testing.T) {
	for _, p := range [][2]string{{"gozmq", "gozmq"}, {"zloop", "gozmq"}, {"gozmq", "zloop"}, {"libzmq", "gozmq"}, {"gozmq", "libzmq"}} {
		for _, tr := range []string{"tcp", "ipc"} {
			t.Run(p[0]+"->"+p[1]+"/"+tr, func(t *testing.T) {
				endpoint := func() string {
					if tr == "tcp" {
						return freeTCP(t)
					}
					return "ipc://" + filepath.Join(t.TempDir(), "x.sock")
				}
				ep := endpoint()
				recv, _ := run(t, contract.ToolThr, "recv bind "+ep+" 100 3000 --check", p[1], "send connect "+ep+" 100 3000 --check", p[0])
				if v, _ := recv.Get("msg_per_s"); v == "0" {
					t.Fatalf("no throughput: %s", recv.String())
				}
				ep = endpoint()
				_, req := run(t, contract.ToolLat, "rep bind "+ep+" 64 200", p[1], "req connect "+ep+" 64 200", p[0])
				if v, _ := req.Get("samples"); v != "190" {
					t.Fatalf("samples=%s: %s", v, req.String())
				}
			})
		}
	}
}

// A PUSH that binds also knows its peers: the transport records accepted connections too.
func TestPushBinds(t *testing.T) {
	ep := "ipc://" + filepath.Join(t.TempDir(), "push.sock")
	run(t, contract.ToolThr, "send bind "+ep+" 16 500 --check", "gozmq", "recv connect "+ep+" 16 500 --check", "zloop")
	if _, err := os.Stat(strings.TrimPrefix(ep, "ipc://")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the bound PUSH left its socket file: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var impl Impl
	if _, err := impl.Open(ctx, contract.Push, parse(t, contract.ToolThr, "send connect ws://127.0.0.1:1/zmq 8 1")); err == nil {
		t.Fatal("a ws:// PUSH opened")
	}
	s, err := impl.Open(ctx, contract.Pull, parse(t, contract.ToolThr, "recv bind "+freeTCP(t)+" 8 1"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(false)
	if err := s.WaitPeerGone(ctx); err == nil {
		t.Fatal("WaitPeerGone on a PULL")
	}
}
