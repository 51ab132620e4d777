package stats

import (
	"math"
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
