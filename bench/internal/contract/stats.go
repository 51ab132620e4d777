package contract

import (
	"math"
	"slices"
)

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the nearest-rank method:
// the smallest value such that at least p percent of the values are at or below it, that is
// sorted[ceil(p/100*n)-1]. It returns 0 for an empty slice and clamps p into (0, 100].
func Percentile(sorted []int64, p float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Rounding first keeps 0.99*100 (=98.99999...) from landing one rank low.
	rank := int(math.Ceil(math.Round(p/100*float64(n)*1e9) / 1e9))
	rank = max(1, min(n, rank))
	return sorted[rank-1]
}

// RTT summarises round-trip times in nanoseconds.
type RTT struct {
	N             int
	Mean          float64 // ns
	P50, P99, Max int64   // ns
}

// SummariseRTT sorts samples in place and summarises them.
func SummariseRTT(samples []int64) RTT {
	if len(samples) == 0 {
		return RTT{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	return RTT{
		N:    len(samples),
		Mean: sum / float64(len(samples)),
		P50:  Percentile(samples, 50),
		P99:  Percentile(samples, 99),
		Max:  samples[len(samples)-1],
	}
}
