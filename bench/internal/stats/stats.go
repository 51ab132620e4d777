// Package stats holds the figures the bench runners share: the median their tables quote.
package stats

import (
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
