package main

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzReadRecords: no raw file makes readRecords panic, and what it reads writes back (header
// and RESULT lines) to a file that reads to the same records.
func FuzzReadRecords(f *testing.F) {
	for _, r := range sampleRecords()[:3] {
		var b strings.Builder
		fmt.Fprintln(&b, r.header())
		for _, res := range r.Results {
			fmt.Fprintln(&b, res.String())
		}
		f.Add(b.String())
	}
	f.Add("# tool=lat pair=a->b rc=-1/3 proc_cpu_s=-/0.5 busy=0.1 idle_wait_s=2\nRESULT status=timeout done=3\n")
	f.Add("# tool=thr pair=a->b->c size=1\n")
	f.Fuzz(func(t *testing.T, raw string) {
		recs, err := readRecords(strings.NewReader(raw))
		if err != nil {
			return
		}
		write := func(recs []record) string {
			var b strings.Builder
			for _, r := range recs {
				fmt.Fprintln(&b, r.header())
				for _, res := range r.Results {
					fmt.Fprintln(&b, res.String())
				}
			}
			return b.String()
		}
		once := write(recs)
		back, err := readRecords(strings.NewReader(once))
		if err != nil {
			t.Fatalf("%q -> %q: %v", raw, once, err)
		}
		if twice := write(back); twice != once {
			t.Fatalf("%q -> %q -> %q", raw, once, twice)
		}
		_ = aggregate(back) // and the aggregation takes whatever was read
	})
}
