package procpeer

import (
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

// libzmq against itself: the harness's expectations are libzmq's behaviour, every cell of
// the matrix passes with the reference on both sides.
func TestLibzmqMatrix(t *testing.T) {
	requirePython(t)
	RunAll(t, 6, Group{"libzmq", Cases([2]Impl{Libzmq, Libzmq})})
}

func TestDiff(t *testing.T) {
	want := summarise(Plan(5, 0))
	cases := []struct {
		got  [][]string
		want string
	}{
		{want, ""},
		{want[:3], "received 3 messages, want 5; missing 2: #3-#4"},
		{append(append([][]string{}, want...), want[4]), "received 6 messages, want 5; 1 duplicates"},
		{[][]string{want[0], want[2], want[1], want[3], want[4]},
			"received 5 messages, want 5; message #1 is [=s2], want [=s1]"},
		{[][]string{want[0], {"=x"}, want[3]},
			"received 3 messages, want 5; missing 3: #1-#2, #4; 1 not sent; message #1 is [=x], want [=s1]"},
	}
	for _, c := range cases {
		if got := diff(c.got, want); got != c.want {
			t.Errorf("diff = %q, want %q", got, c.want)
		}
	}
}

func summarise(msgs [][][]byte) [][]string {
	var s [][]string
	for _, m := range msgs {
		s = append(s, Summaries(m))
	}
	return s
}
