package swarm

import (
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	a, err := Parse([]string{"--threads", "2", "dealer", "tcp://127.0.0.1:5555", "--inflight=4", "1000",
		"-size", "16", "--pid", "12,34", "--go", "--window", "0.5", "--source", "127.0.1.2", "--per-source", "300"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != ModeDealer || a.N != 1000 || a.Threads != 2 || a.Inflight != 4 || a.Size != 16 || !a.Go ||
		a.Window != 500*time.Millisecond || !slices.Equal(a.Pids, []int{12, 34}) || a.Server.Port != 5555 ||
		!a.Server.IP.Equal(net.IPv4(127, 0, 0, 1)) || !a.Source.Equal(net.IPv4(127, 0, 1, 2)) || a.PerSource != 300 {
		t.Fatalf("parsed %+v", a)
	}
	d, err := Parse([]string{"idle", "tcp://127.0.0.1:1", "1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Connecting != 64 || d.Threads != 1 || d.Inflight != 1 || d.Go || d.Timeout != 120*time.Second ||
		!d.Source.Equal(net.IPv4(127, 0, 0, 2)) || d.PerSource != 2000 || d.Impl != "-" {
		t.Fatalf("defaults %+v", d)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, argv := range [][]string{
		{},
		{"idle", "tcp://127.0.0.1:1"},
		{"idle", "tcp://127.0.0.1:1", "1", "2"},
		{"pub", "tcp://127.0.0.1:1", "1"},
		{"idle", "ipc:///tmp/x", "1"},
		{"idle", "tcp://[::1]:1", "1"},
		{"idle", "tcp://127.0.0.1:0", "1"},
		{"idle", "tcp://127.0.0.1:1", "0"},
		{"idle", "tcp://127.0.0.1:1", "19951"}, // over the descriptor cap
		{"idle", "tcp://127.0.0.1:1", "1", "--threads"},
		{"idle", "tcp://127.0.0.1:1", "1", "--threads", "0"},
		{"idle", "tcp://127.0.0.1:1", "1", "--window", "0"},
		{"idle", "tcp://127.0.0.1:1", "1", "--timeout", "-1"},
		{"idle", "tcp://127.0.0.1:1", "1", "--pid", "1,x"},
		{"idle", "tcp://127.0.0.1:1", "1", "--impl", "a b"},
		{"idle", "tcp://127.0.0.1:1", "1", "--go=maybe"},
		{"idle", "tcp://127.0.0.1:1", "1", "--nope", "1"},
		{"idle", "tcp://127.0.0.1:1", "1", "--source", "::1"},
		{"dealer", "tcp://127.0.0.1:1", "1", "--size", "7"}, // no room for the send time
		// 300 connections at 100 per address from .254 would need .256
		{"idle", "tcp://127.0.0.1:1", "300", "--source", "127.0.0.254", "--per-source", "100"},
	} {
		if _, err := Parse(argv); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", argv, err)
		}
	}
}

func TestSourceOf(t *testing.T) {
	first := net.IPv4(127, 0, 0, 2).To4()
	for _, c := range []struct {
		i    int
		want string
	}{{0, "127.0.0.2"}, {49999, "127.0.0.2"}, {50000, "127.0.0.3"}, {99999, "127.0.0.3"}, {12_649_999, "127.0.0.254"}, {12_650_000, "127.0.0.255"}, {12_700_000, ""}} {
		got := sourceOf(first, 50000, c.i)
		if (got == nil && c.want != "") || (got != nil && got.String() != c.want) {
			t.Errorf("connection %d: %v, want %q", c.i, got, c.want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	kb, err := ParseVmRSS("Name:\tx\nVmHWM:\t  900 kB\nVmRSS:\t  812 kB\nThreads: 3\n")
	if err != nil || kb != 812 {
		t.Fatalf("%d, %v", kb, err)
	}
	for _, bad := range []string{"", "VmRSS: 12 MB\n", "VmRSS: x kB\n", "VmHWM: 1 kB\n"} {
		if _, err := ParseVmRSS(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis; utime 250 and stime 50 ticks.
	stat := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0 100 1000 200"
	s, err := ParseStatCPU(stat)
	if err != nil || s != 3 {
		t.Fatalf("%v, %v", s, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 50 0"} {
		if _, err := ParseStatCPU(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
