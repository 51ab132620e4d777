package contract

import (
	"errors"
	"testing"
)

func TestResultString(t *testing.T) {
	r := Result{Status: StatusOK, Tool: ToolThr, Role: RoleRecv, Impl: "zloop", Size: 64, Count: 2000}
	r.Add("msg_per_s", "%.0f", 1234567.6)
	r.Add("mbit_per_s", "%.3f", 632.1)
	r.Add("num_gc", "%d", 3)
	want := "RESULT status=ok tool=thr role=recv impl=zloop size=64 count=2000 msg_per_s=1234568 mbit_per_s=632.100 num_gc=3"
	if got := r.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	back, err := ParseResult(want + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != want {
		t.Fatalf("round trip: %s", back.String())
	}
	if v, ok := back.Get("mbit_per_s"); !ok || v != "632.100" {
		t.Fatalf("Get: %q %v", v, ok)
	}
	if v, ok := back.Get("count"); !ok || v != "2000" {
		t.Fatalf("Get count: %q %v", v, ok)
	}
	if _, ok := back.Get("rtt_p50_us"); ok {
		t.Fatal("Get of an absent key")
	}
}

func TestResultStringKeepsOneLine(t *testing.T) {
	r := Result{Status: StatusError, Tool: ToolLat, Role: "", Impl: "a b", Size: 0, Count: 0}
	r.Add("why", "%s", "x=y\nz")
	got := r.String()
	want := "RESULT status=error tool=lat role=- impl=a_b size=0 count=0 why=x_y_z"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := ParseResult(got); err != nil {
		t.Fatal(err)
	}
}

func TestExitCodes(t *testing.T) {
	for s, code := range map[Status]int{StatusOK: 0, StatusError: 1, StatusCheckFailed: 2, StatusTimeout: 3, "odd": 1} {
		if got := s.ExitCode(); got != code {
			t.Errorf("%s: exit %d, want %d", s, got, code)
		}
	}
}

func TestParseResultErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"RESULTS status=ok",
		"status=ok tool=thr",
		"RESULT tool=thr",            // no status
		"RESULT status=ok size=x",    // bad number
		"RESULT status=ok novalue",   // no '='
		"RESULT status=ok =3",        // empty key
		"RESULT status=ok a=1 a=2",   // duplicate
		"RESULT status=ok count=1e3", // not an integer
	} {
		if _, err := ParseResult(line); !errors.Is(err, ErrBadResult) {
			t.Errorf("%q: err %v, want ErrBadResult", line, err)
		}
	}
}
