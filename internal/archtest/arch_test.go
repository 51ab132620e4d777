// Package archtest enforces the direction of imports that DESIGN.md describes: codec uses the
// standard library only, zmtp and pool never see gnet or the network, sockets never imports gnet.
package archtest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

const module = "github.com/zloop/zloop"

// imports returns the packages pkg imports: all of them, transitively, or only its own.
func imports(t *testing.T, pkg string, transitive bool) []string {
	t.Helper()
	args := []string{"list", "-f", `{{join .Imports " "}}`, module + "/" + pkg}
	if transitive {
		args = []string{"list", "-deps", module + "/" + pkg}
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func isStd(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }

func TestLayering(t *testing.T) {
	rules := []struct {
		pkg        string
		transitive bool
		banned     func(string) bool
		why        string
	}{
		{"codec", true, func(p string) bool { return !isStd(p) && p != module+"/codec" }, "codec uses the standard library only"},
		{"zmtp", true, func(p string) bool { return strings.Contains(p, "gnet") || p == "net" }, "zmtp is I/O-free"},
		{"pool", true, func(p string) bool { return strings.Contains(p, "gnet") || p == "net" }, "pool knows no I/O"},
		{"sockets", false, func(p string) bool { return strings.Contains(p, "gnet") }, "sockets reach gnet only through reactor"},
	}
	for _, r := range rules {
		for _, d := range imports(t, r.pkg, r.transitive) {
			if r.banned(d) {
				t.Errorf("%s imports %s: %s", r.pkg, d, r.why)
			}
		}
	}
}
