package proc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTimes reads the first line of /proc/stat: the busy and the total jiffies of all CPUs.
func cpuTimes() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %q: %w", s, err)
		}
		total += v
		if i != 3 && i != 4 { // idle and iowait
			busy += v
		}
	}
	return busy, total, nil
}

// BusyFraction returns the share of all CPUs that were busy over window, between 0 and 1.
func BusyFraction(ctx context.Context, window time.Duration) (float64, error) {
	b0, t0, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	select {
	case <-time.After(window):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	b1, t1, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	if t1 <= t0 {
		return 0, nil
	}
	return float64(b1-b0) / float64(t1-t0), nil
}

// WaitIdle measures how busy the machine is before a pair starts (none of the pair's processes
// run then, so it is the others' load), and while that is above max, measures again, for at most
// patience. It returns the last measurement (-1 if /proc/stat cannot be read) and the time spent.
func WaitIdle(ctx context.Context, max float64, patience time.Duration) (float64, time.Duration) {
	start := time.Now()
	for {
		busy, err := BusyFraction(ctx, 300*time.Millisecond)
		if err != nil {
			return -1, time.Since(start)
		}
		if busy <= max || time.Since(start) >= patience {
			return busy, time.Since(start)
		}
	}
}
