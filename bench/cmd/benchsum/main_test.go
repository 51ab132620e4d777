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

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{1234567.6: "1234568", 78.82: "78.820", 0.0054: "0.005", -2500: "-2500"} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}
