package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/stats"
)

// row is one line of the table: a case over a transport, every impl's runs.
type row struct {
	c  testCase
	tr string
}

// figure returns the named figure of r as a number, and whether it has one.
func figure(r contract.Result, key string) (float64, bool) {
	v, ok := r.Get(key)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// mb writes kB (1024 bytes, as /proc says) as MB (10^6 bytes, as the cases are given).
func mb(kb float64) string {
	v := kb * 1024 / 1e6
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// sizeName writes a case's message size: 200 MB, 20 MB, or bytes.
func sizeName(n int) string {
	if n >= 1e6 && n%1e6 == 0 {
		return fmt.Sprintf("%d MB", n/1e6)
	}
	return fmt.Sprintf("%d B", n)
}

// renderMarkdown writes the preamble and a table of medians over the ok runs: per case and
// transport, each server's peak growth in MB and as a multiple of the bytes in flight, its
// baseline RSS and the client's time.
func renderMarkdown(w io.Writer, results []contract.Result, impls []string, preamble []string) error {
	var b strings.Builder
	for _, line := range preamble {
		b.WriteString(line + "\n")
	}
	b.WriteString("\nMedians over the ok runs. Peak growth: the echo server's VmHWM during the case less its VmRSS " +
		"once it listened, in MB (10^6 bytes); x: that over the bytes in flight (COUNT x SIZE). Base: the VmRSS " +
		"once it listened. Client s: first send to last reply checked (libzmq client through cgo for every server; " +
		"noisy, for orientation only).\n\n")
	head := []string{"in flight", "transport"}
	for _, impl := range impls {
		head = append(head, impl+" peak growth MB", impl+" x in flight")
	}
	head = append(head, "base MB "+strings.Join(impls, " / "), "client s "+strings.Join(impls, " / "), "ok")
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for i := range head {
		if i < 2 {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	var rows []row
	for _, r := range results {
		tr, _ := r.Get("transport")
		k := row{testCase{r.Count, r.Size}, tr}
		if !slices.Contains(rows, k) {
			rows = append(rows, k)
		}
	}
	for _, k := range rows {
		cells := []string{fmt.Sprintf("%d x %s", k.c.Count, sizeName(k.c.Size)), k.tr}
		var base, client []string
		ok, runs := 0, 0
		for _, impl := range impls {
			vals := map[string][]float64{}
			for _, r := range results {
				tr, _ := r.Get("transport")
				if r.Impl != impl || tr != k.tr || r.Count != k.c.Count || r.Size != k.c.Size {
					continue
				}
				runs++
				if r.Status != contract.StatusOK {
					continue
				}
				ok++
				for _, key := range []string{"growth_kb", "growth_x", "rss_base_kb", "client_s"} {
					if v, found := figure(r, key); found {
						vals[key] = append(vals[key], v)
					}
				}
			}
			if len(vals["growth_kb"]) == 0 {
				cells = append(cells, "-", "-")
				base, client = append(base, "-"), append(client, "-")
				continue
			}
			cells = append(cells, mb(stats.Median(vals["growth_kb"])), fmt.Sprintf("%.2f", stats.Median(vals["growth_x"])))
			base = append(base, mb(stats.Median(vals["rss_base_kb"])))
			client = append(client, fmt.Sprintf("%.2f", stats.Median(vals["client_s"])))
		}
		cells = append(cells, strings.Join(base, " / "), strings.Join(client, " / "), fmt.Sprintf("%d/%d", ok, runs))
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
