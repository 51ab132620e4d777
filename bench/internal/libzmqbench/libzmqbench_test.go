package libzmqbench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
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
	if name == "zloop" {
		return new(zloopbench.Impl)
	}
	return new(Impl)
}

// Every pairing of the two implementations, both tools, with more messages than RCVHWM.
func TestPairs(t *testing.T) {
	for _, p := range [][2]string{{"libzmq", "libzmq"}, {"zloop", "libzmq"}, {"libzmq", "zloop"}} {
		for _, tr := range []string{"tcp", "ipc"} {
			name := p[0] + "->" + p[1] + "/" + tr
			t.Run(name, func(t *testing.T) {
				endpoint := func() string {
					if tr == "tcp" {
						return freeTCP(t)
					}
					return "ipc://" + filepath.Join(t.TempDir(), "x.sock")
				}
				ep := endpoint()
				run(t, contract.ToolThr, "recv bind "+ep+" 64 3000 --check", p[1], "send connect "+ep+" 64 3000 --check", p[0])
				ep = endpoint()
				run(t, contract.ToolLat, "rep bind "+ep+" 64 200", p[1], "req connect "+ep+" 64 200", p[0])
			})
		}
	}
}

func run(t *testing.T, tool, server, serverImpl, client, clientImpl string) {
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
}
