package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

const module = "github.com/zloop/zloop"

// layers is the direction of imports (ARCHITECTURE.md, "Layers"). Each row is a package of the
// module, the project packages it may import, the other modules it may import (by path prefix), and
// whether it is I/O-free: neither net nor gnet among all its dependencies. The standard library is
// free to every package, within the I/O-free rule; "-" is none. Test files are not checked. A
// package of the module without a row fails, so a new package has to take its place here.
const layers = `
package              project imports           other modules                      I/O-free
codec                -                         -                                  yes
pool                 -                         -                                  yes
zmtp                 codec                     golang.org/x/crypto                yes
ws                   -                         github.com/gobwas/ws               no
reactor              codec,pool,ws,zmtp,internal/background,internal/plumb  github.com/panjf2000/gnet/v2  no
sockets              codec,pool,reactor,zmtp,internal/plumb  -                    no
examples             -                         -                                  yes
examples/broker      pool,reactor,sockets      -                                  no
examples/forwarder   pool,reactor,sockets      -                                  no
examples/pubsub      pool,reactor,sockets      -                                  no
examples/quickstart  pool,reactor,sockets      -                                  no
examples/reqrep      pool,reactor,sockets      -                                  no
internal/archtest    -                         -                                  yes
internal/background  -                         -                                  yes
internal/plumb       -                         -                                  yes
internal/leaktest    internal/background       go.uber.org/goleak                 yes
internal/testpeer    -                         -                                  no
internal/procpeer    internal/testpeer         -                                  no
internal/javapeer    -                         -                                  no
internal/zmtptest    codec,zmtp                -                                  no
internal/testcert    -                         -                                  no
internal/stunnel     -                         -                                  no
`

type layer struct {
	pkg     string
	project []string
	modules []string
	ioFree  bool
}

// parseLayers reads the layers table; a malformed row fails the test.
func parseLayers(t *testing.T) []layer {
	t.Helper()
	list := func(s string) []string {
		if s == "-" {
			return nil
		}
		return strings.Split(s, ",")
	}
	var ls []layer
	for i, line := range strings.Split(strings.TrimSpace(layers), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 4 || (f[3] != "yes" && f[3] != "no") {
			t.Fatalf("layers row %d is malformed: %q", i+1, line)
		}
		ls = append(ls, layer{pkg: f[0], project: list(f[1]), modules: list(f[2]), ioFree: f[3] == "yes"})
	}
	return ls
}

type pkgInfo struct {
	std     bool
	imports []string
}

// listPackages returns every package of the module and everything they depend on, with its
// (non-test) imports.
func listPackages(t *testing.T) map[string]pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{.Standard}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkgInfo{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		pkgs[f[0]] = pkgInfo{std: f[1] == "true", imports: f[2:]}
	}
	return pkgs
}

// deps returns every package pkg depends on, directly or not.
func deps(pkgs map[string]pkgInfo, pkg string) []string {
	seen := map[string]bool{}
	stack := []string{pkg}
	var all []string
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range pkgs[p].imports {
			if !seen[d] {
				seen[d] = true
				all = append(all, d)
				stack = append(stack, d)
			}
		}
	}
	return all
}

func isIO(p string) bool { return p == "net" || strings.Contains(p, "gnet") }

func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	rows := map[string]bool{}
	for _, l := range parseLayers(t) {
		rows[l.pkg] = true
		path := module + "/" + l.pkg
		p, ok := pkgs[path]
		if !ok {
			t.Errorf("%s has a row but is not a package of the module", l.pkg)
			continue
		}
		for _, imp := range p.imports {
			rel, inModule := strings.CutPrefix(imp, module+"/")
			switch {
			case pkgs[imp].std:
			case inModule:
				if !slices.Contains(l.project, rel) {
					t.Errorf("%s imports %s: it may import only %v of the project", l.pkg, rel, l.project)
				}
			case !slices.ContainsFunc(l.modules, func(m string) bool { return imp == m || strings.HasPrefix(imp, m+"/") }):
				t.Errorf("%s imports %s: it may import only %v of other modules", l.pkg, imp, l.modules)
			}
		}
		if l.ioFree {
			for _, d := range deps(pkgs, path) {
				if isIO(d) {
					t.Errorf("%s depends on %s: it must stay I/O-free", l.pkg, d)
				}
			}
		}
	}
	for path, p := range pkgs {
		if rel, ok := strings.CutPrefix(path, module+"/"); ok && !p.std && !rows[rel] {
			t.Errorf("%s has no row in the layers table", rel)
		}
	}
}
