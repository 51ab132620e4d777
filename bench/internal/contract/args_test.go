package contract

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseThr(t *testing.T) {
	a, err := Parse(ToolThr, strings.Fields("recv bind tcp://127.0.0.1:5555 64 2000000"))
	if err != nil {
		t.Fatal(err)
	}
	want := Args{Tool: ToolThr, Role: RoleRecv, Bind: true, Endpoint: "tcp://127.0.0.1:5555", Size: 64,
		Count: 2000000, Timeout: DefaultTimeout, HWM: -1}
	if a != want {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
	// Flags anywhere, in every spelling.
	a, err = Parse(ToolThr, strings.Fields("--check send --timeout 2.5 connect ipc:///tmp/x.sock -hwm=10 1024 7 --no-wait --fill --cpuprofile=/tmp/p"))
	if err != nil {
		t.Fatal(err)
	}
	want = Args{Tool: ToolThr, Role: RoleSend, Endpoint: "ipc:///tmp/x.sock", Size: 1024, Count: 7,
		Timeout: 2500 * time.Millisecond, HWM: 10, Check: true, NoWait: true, Fill: true, CPUProfile: "/tmp/p"}
	if a != want {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
}

func TestParseLatWarmup(t *testing.T) {
	for _, tc := range []struct {
		args   string
		warmup int
	}{
		{"req connect tcp://h:1 64 20000", 1000}, // min(1000, 20000/20)
		{"req connect tcp://h:1 64 200", 10},
		{"req connect tcp://h:1 64 19", 0},
		{"req connect tcp://h:1 64 100000", 1000},
		{"rep bind tcp://h:1 64 200 --warmup 0", 0},
		{"req connect tcp://h:1 64 200 --warmup=199", 199},
	} {
		a, err := Parse(ToolLat, strings.Fields(tc.args))
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if a.Warmup != tc.warmup {
			t.Errorf("%q: warmup %d, want %d", tc.args, a.Warmup, tc.warmup)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ tool, args string }{
		{ToolThr, ""},
		{ToolThr, "recv bind tcp://h:1 64"},
		{ToolThr, "recv bind tcp://h:1 64 10 extra"},
		{ToolThr, "req bind tcp://h:1 64 10"},       // a lat role
		{ToolLat, "send bind tcp://h:1 64 10"},      // a thr role
		{ToolThr, "recv listen tcp://h:1 64 10"},    // neither bind nor connect
		{ToolThr, "recv bind 127.0.0.1:5555 64 10"}, // no transport
		{ToolThr, "recv bind tcp://h:1 x 10"},
		{ToolThr, "recv bind tcp://h:1 -1 10"},
		{ToolThr, "recv bind tcp://h:1 2000000000 10"},
		{ToolThr, "recv bind tcp://h:1 64 0"},
		{ToolThr, "recv bind tcp://h:1 64 ten"},
		{ToolThr, "recv bind tcp://h:1 4 10 --check"}, // no room for the sequence number
		{ToolThr, "recv bind tcp://h:1 64 10 --warmup 1"},
		{ToolLat, "req bind tcp://h:1 64 10 --check"},
		{ToolLat, "req bind tcp://h:1 64 10 --no-wait"},
		{ToolLat, "req bind tcp://h:1 64 10 --fill"},
		{ToolThr, "send bind tcp://h:1 64 10 --fill=true"},
		{ToolLat, "req bind tcp://h:1 64 10 --warmup 10"},
		{ToolLat, "req bind tcp://h:1 64 10 --warmup -1"},
		{ToolThr, "recv bind tcp://h:1 64 10 --timeout"},
		{ToolThr, "recv bind tcp://h:1 64 10 --timeout 0"},
		{ToolThr, "recv bind tcp://h:1 64 10 --timeout -3"},
		{ToolThr, "recv bind tcp://h:1 64 10 --timeout NaN"},
		{ToolThr, "recv bind tcp://h:1 64 10 --hwm -5"},
		{ToolThr, "recv bind tcp://h:1 64 10 --hwm=x"},
		{ToolThr, "recv bind tcp://h:1 64 10 --check=maybe"},
		{ToolThr, "recv bind tcp://h:1 64 10 --verbose"},
		{"pub", "recv bind tcp://h:1 64 10"},
	} {
		_, err := Parse(tc.tool, strings.Fields(tc.args))
		if !errors.Is(err, ErrUsage) {
			t.Errorf("%s %q: err %v, want ErrUsage", tc.tool, tc.args, err)
		}
	}
}

func TestUsageMentionsEveryFlag(t *testing.T) {
	for tool, flags := range map[string][]string{
		ToolThr: {"--timeout", "--hwm", "--check", "--no-wait", "--fill", "--curve", "--cpuprofile"},
		ToolLat: {"--timeout", "--hwm", "--warmup", "--curve", "--cpuprofile"},
	} {
		u := Usage(tool)
		if !strings.HasPrefix(u, "usage: "+tool+" ") {
			t.Errorf("%s: usage %q", tool, u)
		}
		for _, f := range flags {
			if !strings.Contains(u, f) {
				t.Errorf("%s: usage lacks %s", tool, f)
			}
		}
	}
}
