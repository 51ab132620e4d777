package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/leaktest"
	"github.com/zloop/zloop/reactor"
)

func TestMain(m *testing.M) { leaktest.Main(m, func() { _ = reactor.CloseDefault() }) }

func TestRunSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	// More messages than the default HWM of 1000, so that the sender really waits for the reader.
	if err := run(ctx, &out, config{Msgs: 5000, Size: 16, Multipart: 310, Trips: 200}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := []*regexp.Regexp{
		regexp.MustCompile(`^PUSH->PULL 5000 x 16 B over tcp://127\.0\.0\.1:\d+: [0-9.]+ s, (\d+) msg/s, [0-9.]+ MB/s$`),
		regexp.MustCompile(`^multipart: 310 messages, 930 frames, all intact and in order$`),
		regexp.MustCompile(`^REQ->REP 200 round trips over tcp://127\.0\.0\.1:\d+: [0-9.]+ s, (\d+) trips/s, RTT p50 ([0-9.]+) us, p99 ([0-9.]+) us$`),
	}
	got := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(got) != len(lines) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(lines), out.String())
	}
	for i, re := range lines {
		m := re.FindSubmatch(got[i])
		if m == nil {
			t.Fatalf("line %d %q does not match %v", i, got[i], re)
		}
		if rate, _ := strconv.ParseFloat(string(m[len(m)-1]), 64); i == 0 && rate <= 0 {
			t.Errorf("line %d: rate %v", i, rate)
		}
		if i == 2 {
			p50, _ := strconv.ParseFloat(string(m[2]), 64)
			p99, _ := strconv.ParseFloat(string(m[3]), 64)
			if p50 <= 0 || p99 < p50 {
				t.Errorf("RTT p50 %v p99 %v", p50, p99)
			}
		}
	}
}

func TestRunRejectsBadCounts(t *testing.T) {
	for _, cfg := range []config{
		{Msgs: 0, Size: 64, Trips: 1},
		{Msgs: 1, Size: 7, Trips: 1}, // no room for the sequence number
		{Msgs: 1, Size: 64, Multipart: -1, Trips: 1},
		{Msgs: 1, Size: 64, Trips: 0},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), &out, cfg); err == nil || out.Len() != 0 {
			t.Errorf("%+v: err %v, output %q", cfg, err, out.String())
		}
	}
}

// A cancelled context ends the run with its error, and every socket and goroutine it started is
// gone afterwards (TestMain checks the goroutines).
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, config{Msgs: 1_000_000, Size: 64, Multipart: 10, Trips: 10}) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled; output %q", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 200)
	for i := range d {
		d[i] = time.Duration(i + 1)
	}
	for _, tc := range []struct {
		n, p int
		want time.Duration
	}{{200, 50, 100}, {200, 99, 198}, {200, 100, 200}, {1, 99, 1}, {10, 99, 10}, {10, 1, 1}} {
		if got := percentile(d[:tc.n], tc.p); got != tc.want {
			t.Errorf("n=%d p=%d: %v, want %v", tc.n, tc.p, got, tc.want)
		}
	}
}
