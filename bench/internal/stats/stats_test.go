package stats

import (
	"math"
	"slices"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedian(t *testing.T) {
	in := []float64{5, 1, 3}
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{in, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		if got := Median(c.v); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.v, got, c.want)
		}
	}
	if in[0] != 5 || in[1] != 1 || in[2] != 3 {
		t.Errorf("Median sorted its argument: %v", in)
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

func TestSizeName(t *testing.T) {
	for n, want := range map[int]string{64: "64 B", 1024: "1 KiB", 65536: "64 KiB", 1500: "1500 B", 1 << 20: "1 MiB"} {
		if got := SizeName(n); got != want {
			t.Errorf("SizeName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRoundRatios(t *testing.T) {
	a := map[int]float64{3: 30, 1: 10, 2: 20, 4: 0, 5: 50}
	b := map[int]float64{1: 5, 2: 40, 3: 30, 4: 10} // no round 5; round 4 has no figure of a's
	got := RoundRatios(a, b)
	if want := []float64{2, 0.5, 1}; !slices.Equal(got, want) {
		t.Fatalf("RoundRatios = %v, want %v (rounds in order, only where both have a figure)", got, want)
	}
	if n := AtLeastAsGood(got, false); n != 2 {
		t.Errorf("higher is better: %d at least as good, want 2 (2 and 1)", n)
	}
	if n := AtLeastAsGood(got, true); n != 2 {
		t.Errorf("lower is better: %d at least as good, want 2 (0.5 and 1)", n)
	}
	if got := RoundRatios(nil, b); got != nil {
		t.Errorf("RoundRatios(nil, b) = %v", got)
	}
}
