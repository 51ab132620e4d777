package contract

import (
	"strings"
	"testing"
)

// FuzzParseResult: no input panics, and whatever parses formats back to a line that parses to
// the same result (String is the encoder of ParseResult).
func FuzzParseResult(f *testing.F) {
	r := Result{Status: StatusOK, Tool: ToolThr, Role: RoleRecv, Impl: "zloop", Size: 64, Count: 2000}
	r.Add("msg_per_s", "%.0f", 1e6)
	r.Add("allocs_per_msg", "%.3f", 0.25)
	f.Add(r.String())
	e := Result{Status: StatusTimeout, Tool: ToolLat, Role: RoleReq, Impl: "libzmq"}
	e.Add("done", "%d", 7)
	f.Add(e.String())
	f.Add("RESULT status=ok")
	f.Add("RESULT  status=ok\tsize=-1 x==y")
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseResult(line)
		if err != nil {
			return
		}
		s := r.String()
		if strings.ContainsAny(s, "\n\r") || !strings.HasPrefix(s, "RESULT status=") {
			t.Fatalf("String() = %q", s)
		}
		back, err := ParseResult(s)
		if err != nil {
			t.Fatalf("%q -> %q: %v", line, s, err)
		}
		if back.String() != s {
			t.Fatalf("%q -> %q -> %q", line, s, back.String())
		}
	})
}

// FuzzParse: no command line panics, and an accepted one satisfies the contract's constraints.
func FuzzParse(f *testing.F) {
	f.Add("thr", "recv bind tcp://127.0.0.1:5555 64 2000000 --check")
	f.Add("lat", "req connect ipc:///tmp/x 1024 500 --warmup=3 --timeout 0.5 --hwm 0")
	f.Add("thr", "send connect tcp://h:1 8 1 --no-wait --cpuprofile /tmp/p")
	f.Add("thr", "send connect tcp://h:1 8 1 --fill --check")
	f.Fuzz(func(t *testing.T, tool, line string) {
		a, err := Parse(tool, strings.Fields(line))
		if err != nil {
			return
		}
		switch {
		case a.Tool != ToolThr && a.Tool != ToolLat,
			a.Count < 1, a.Size < 0, a.Size > MaxSize, a.Timeout <= 0, a.HWM < -1,
			a.Check && a.Size < 8,
			a.Tool == ToolLat && (a.Warmup < 0 || a.Warmup >= a.Count),
			a.Tool == ToolThr && (a.Warmup != 0 || a.Role != RoleSend && a.Role != RoleRecv),
			a.Tool == ToolLat && (a.Check || a.NoWait || a.Fill || a.Role != RoleReq && a.Role != RoleRep),
			!strings.Contains(a.Endpoint, "://"):
			t.Fatalf("%s %q accepted as %+v", tool, line, a)
		}
	})
}
