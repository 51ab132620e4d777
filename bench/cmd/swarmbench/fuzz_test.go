package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// rawPlays writes plays as play.raw does, for readPlays to read back.
func rawPlays(ps []play) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.raw())
	}
	return b.String()
}

// FuzzReadPlays: no raw file makes readPlays panic, and what it reads, written back by play.raw,
// reads to the same plays again.
func FuzzReadPlays(f *testing.F) {
	c, _ := caseNamed("echo-1k-k4")
	f.Add(rawPlays([]play{
		{Case: c, Impl: "zloop", Round: 1, Figures: map[string]float64{"rt_per_s": 1.2e5, "rtt_p99_us": 1.5e4, "server_cpu_s": 5.2}},
		{Case: c, Impl: "libzmq-c", Round: 1, Err: errors.New("swarm: timeout")},
	}))
	f.Add("# case=idle-100k impl=a round=2 n=100000 procs=6 status=ok rss_per_conn_b=2900\nRESULT status=ok\n")
	f.Add("# case=standard impl=a round=1 status=ok\n")
	f.Add("# case=fanout-1k impl=a round=x status=ok\n")
	f.Fuzz(func(t *testing.T, raw string) {
		ps, err := readPlays(strings.NewReader(raw), 0)
		if err != nil {
			return
		}
		again, err := readPlays(strings.NewReader(rawPlays(ps)), 0)
		if err != nil {
			t.Fatalf("its own output does not read: %v\n%s", err, rawPlays(ps))
		}
		twice, _ := readPlays(strings.NewReader(rawPlays(again)), 0)
		if len(again) != len(ps) || !reflect.DeepEqual(fmt.Sprint(again), fmt.Sprint(twice)) {
			t.Fatalf("read back %d plays of %d, or not the same twice:\n%v\n%v", len(again), len(ps), again, twice)
		}
	})
}

// A header names one case exactly: a group name such as "standard" or a list is not a case.
func TestReadPlaysRefusesWhatIsNotOneCase(t *testing.T) {
	for _, bad := range []string{
		"# case=standard impl=a round=1 status=ok\n",
		"# case=fanout-1k,echo-1k-k4 impl=a round=1 status=ok\n",
		"# case=fanout-1k impl=a round=one status=ok\n",
		"# case=fanout-1k impl=a round=1 n=lots status=ok\n",
		"# case=fanout-1k impl=a round=1 status=ok deliveries_per_s=fast\n",
	} {
		if ps, err := readPlays(strings.NewReader(bad), 0); err == nil {
			t.Errorf("%q read as %+v", bad, ps)
		}
	}
	ps, err := readPlays(strings.NewReader("# case=fanout-1k impl=a round=3 n=50 procs=1 status=ok deliveries_per_s=2e6\n"), 2)
	if err != nil || len(ps) != 1 || ps[0].Case.Name != "fanout-1k" || ps[0].Case.N != 50 ||
		ps[0].Round != 2*roundsPerFile+3 || ps[0].Figures["deliveries_per_s"] != 2e6 {
		t.Fatalf("%+v, %v", ps, err)
	}
}
