package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHeaderKeepsTheGroupKey(t *testing.T) {
	got := header("# tool=thr pair=zloop->libzmq transport=tcp size=64 count=2000000 flags=--check rc=0/0 round=2")
	if want := "tool=thr pair=zloop->libzmq transport=tcp size=64 count=2000000"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMedian(t *testing.T) {
	in := []float64{5, 1, 3}
	for _, tc := range []struct {
		vs   []float64
		want float64
	}{{in, 3}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(tc.vs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.vs, got, tc.want)
		}
	}
	if in[0] != 5 {
		t.Fatal("median sorted its input")
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{1234567.6: "1234568", 78.82: "78.820", 0.0054: "0.005", -2500: "-2500"} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}
