package contract

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPercentileKnown(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1)
	}
	ten := hundred[:10]
	for _, tc := range []struct {
		s    []int64
		p    float64
		want int64
	}{
		{hundred, 50, 50},
		{hundred, 99, 99},
		{hundred, 100, 100},
		{hundred, 1, 1},
		{hundred, 0.5, 1},
		{ten, 50, 5},
		{ten, 99, 10}, // rank ceil(9.9) = 10
		{ten, 90, 9},
		{ten, 91, 10},
		{[]int64{7}, 99, 7},
		{[]int64{3, 9}, 50, 3},
		{nil, 50, 0},
	} {
		if got := Percentile(tc.s, tc.p); got != tc.want {
			t.Errorf("Percentile(n=%d, %v) = %d, want %d", len(tc.s), tc.p, got, tc.want)
		}
	}
}

// The nearest rank is the smallest value with at least p percent of the values at or below it.
func TestPercentileMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(120)
		s := make([]int64, n)
		for i := range s {
			s[i] = rng.Int64N(50) // many ties
		}
		slices.Sort(s)
		for _, p := range []float64{1, 10, 25, 50, 90, 99, 99.9, 100} {
			var want int64 = -1
			for _, v := range s {
				at := 0
				for _, w := range s {
					if w <= v {
						at++
					}
				}
				if float64(at)*100 >= p*float64(n)-1e-9 {
					want = v
					break
				}
			}
			if got := Percentile(s, p); got != want {
				t.Fatalf("n=%d p=%v: got %d, want %d (%v)", n, p, got, want, s)
			}
		}
	}
}

func TestSummariseRTT(t *testing.T) {
	s := []int64{5000, 1000, 3000, 2000, 4000}
	st := SummariseRTT(s)
	if st.N != 5 || st.Mean != 3000 || st.P50 != 3000 || st.P99 != 5000 || st.Max != 5000 {
		t.Fatalf("got %+v", st)
	}
	if !slices.IsSorted(s) {
		t.Fatal("samples not sorted in place")
	}
	if (SummariseRTT(nil) != RTT{}) {
		t.Fatal("empty samples")
	}
}
