package libzmqbench

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/zloopbench"
	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("tcp://127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
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
	parse := func(s string) *contract.Args {
		a, err := contract.Parse(tool, strings.Fields(s))
		if err != nil {
			t.Fatal(err)
		}
		return &a
	}
	sa, ca := parse(server), parse(client)
	var sr, cr contract.Result
	var serr, cerr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sr, serr = contract.Run(ctx, sa, newImpl(serverImpl)) }()
	go func() { defer wg.Done(); cr, cerr = contract.Run(ctx, ca, newImpl(clientImpl)) }()
	wg.Wait()
	if serr != nil || cerr != nil || sr.Status != contract.StatusOK || cr.Status != contract.StatusOK {
		t.Fatalf("%v %v\n%s\n%s", serr, cerr, sr.String(), cr.String())
	}
	if sr.Impl != serverImpl || cr.Impl != clientImpl {
		t.Fatalf("impl names %s %s", sr.Impl, cr.Impl)
	}
}
