// Package stats holds what the bench runners' tables share: the median they quote and the names
// of message sizes in their headings.
package stats

import (
	"fmt"
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
