// Package stats holds what the bench runners' tables share: the median they quote, the ratios by
// round, and the names of message sizes in their headings.
package stats

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Median returns the median of v (the mean of the two middle values for an even count), NaN for
// none. v is not changed.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// RoundRatios returns a[r]/b[r] for every round r both have, in the order of rounds, leaving out a
// round where either figure is not positive (no figure). Two runs of one interleaved round share
// the machine's weather, so the median of these says more than the ratio of two medians.
func RoundRatios(a, b map[int]float64) []float64 {
	var out []float64
	for _, r := range slices.Sorted(maps.Keys(a)) {
		if x, y := a[r], b[r]; x > 0 && y > 0 {
			out = append(out, x/y)
		}
	}
	return out
}

// AtLeastAsGood counts the ratios at which the first did at least as well: at or below 1 where
// lower is better, at or above 1 otherwise.
func AtLeastAsGood(ratios []float64, lowerIsBetter bool) int {
	n := 0
	for _, x := range ratios {
		if (lowerIsBetter && x <= 1) || (!lowerIsBetter && x >= 1) {
			n++
		}
	}
	return n
}

// SizeName writes a byte count as the tables' headings do: 64 B, 1 KiB, 64 KiB, 1 MiB.
func SizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
