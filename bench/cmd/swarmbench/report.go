package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/zloop/zloop/bench/internal/stats"
)

// metric is one figure of a case in the table.
type metric struct {
	Key, Label string
	Lower      bool // lower is better (RSS, time, latency)
}

func (m metric) format(v float64) string {
	switch {
	case m.Key == "rss_per_conn_b":
		return fmt.Sprintf("%.1f KB", v/1000)
	case m.Key == "server_us_per_msg":
		return fmt.Sprintf("%.2f us", v)
	case m.Key == "server_cpu_per_s":
		return fmt.Sprintf("%.2f ms/s", v*1000)
	case strings.HasSuffix(m.Key, "_us"):
		return fmt.Sprintf("%.0f us", v)
	case strings.HasSuffix(m.Key, "_s") && !strings.HasSuffix(m.Key, "_per_s"):
		return fmt.Sprintf("%.2f s", v)
	case v >= 1e6:
		return fmt.Sprintf("%.2f M/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k/s", v/1e3)
	}
	return fmt.Sprintf("%.0f/s", v)
}

// metricsOf lists what the table shows of c, the figure its chart bar stands for first.
func metricsOf(c testCase) []metric {
	switch c.Mode {
	case "sub":
		return []metric{{"deliveries_per_s", "deliveries", false}, {"server_us_per_msg", "server CPU per delivery", true}}
	case "dealer":
		return []metric{{"rt_per_s", "round trips", false}, {"rtt_p50_us", "RTT p50", true}, {"rtt_p99_us", "RTT p99", true},
			{"server_us_per_msg", "server CPU per round trip", true}}
	}
	idle := []metric{{"rss_per_conn_b", "RSS per connection", true}, {"conn_per_s", "connect rate", false}, {"connect_s", "connect time", true}}
	if c.Hold > 0 {
		// The servers' CPU over the hold (per second of idle time), and the PINGs the swarm
		// answered meanwhile: the same rate on both sides says both did their heartbeats.
		idle = append([]metric{{"server_cpu_per_s", "server CPU when idle", true}, {"pings_per_s", "PINGs answered", false}}, idle...)
	}
	return idle
}

// row is one metric of one case: the median over the ok runs of each implementation.
type row struct {
	Case   testCase
	Metric metric
	Median map[string]float64
	Runs   map[string]int // ok runs behind the median
	Tries  map[string]int
	CPU    map[string]float64 // the servers' median CPU seconds per run
	// Paired are the first implementation's figure over the second's within each round in which
	// both were ok: on a noisy machine the two servers of one round share its weather, so the
	// median of these ratios says more than the ratio of the two medians.
	Paired []float64
}

// aggregate turns the plays into rows, in the order of cases and their metrics.
func aggregate(plays []play, cases []testCase, impls []string) []row {
	var rows []row
	for _, c := range cases {
		for _, m := range metricsOf(c) {
			r := row{Case: c, Metric: m, Median: map[string]float64{}, Runs: map[string]int{}, Tries: map[string]int{}, CPU: map[string]float64{}}
			byRound := make([]map[int]float64, len(impls)) // the figure of each ok play by round
			for i, impl := range impls {
				var vs, cpu []float64
				byRound[i] = map[int]float64{}
				for _, p := range plays {
					if p.Case.Name != c.Name || p.Case.N != c.N || p.Impl != impl {
						continue
					}
					r.Tries[impl]++
					if p.Err != nil {
						continue
					}
					if v, ok := p.Figures[m.Key]; ok {
						vs = append(vs, v)
						cpu = append(cpu, p.Figures["server_cpu_s"])
						byRound[i][p.Round] = v
					}
				}
				r.Runs[impl] = len(vs)
				r.Median[impl] = stats.Median(vs)
				r.CPU[impl] = stats.Median(cpu)
			}
			if len(impls) >= 2 {
				r.Paired = stats.RoundRatios(byRound[0], byRound[1])
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// roundsBetter counts the rounds in which the first implementation did at least as well.
func (r row) roundsBetter() int { return stats.AtLeastAsGood(r.Paired, r.Metric.Lower) }

// ratio is the first implementation's median over the second's, NaN when either is missing.
func (r row) ratio(impls []string) float64 {
	if len(impls) < 2 {
		return math.NaN()
	}
	return r.Median[impls[0]] / r.Median[impls[1]]
}

// advantage is how many times better the first implementation does: the ratio, inverted for a
// figure where lower is better, so that above 1 always favours the first.
func (r row) advantage(impls []string) float64 {
	x := r.ratio(impls)
	if r.Metric.Lower {
		return 1 / x
	}
	return x
}

func caseLabel(c testCase) string {
	return fmt.Sprintf("%s (%d conns)", c.Name, c.N)
}

func renderMarkdown(w io.Writer, rows []row, impls []string, pre []string) error {
	var b strings.Builder
	b.WriteString("# swarm: servers side by side\n\n")
	for _, l := range pre {
		b.WriteString(l + "\n")
	}
	b.WriteString("\nMedians over the ok runs (`n/m` when some of the m runs failed); the ratio is the first\n" +
		"server's figure over the second's (for RSS, time and RTT lower is better). \"Rounds\" is the\n" +
		"median of that ratio taken within each round in which both were ok, and in how many of those\n" +
		"rounds the first did at least as well. Server CPU is the server processes' user+system seconds\n" +
		"per run, medians, from connect to the end.\n\n")
	b.WriteString("| case | figure |")
	for _, impl := range impls {
		fmt.Fprintf(&b, " %s |", impl)
	}
	if len(impls) >= 2 {
		fmt.Fprintf(&b, " %s/%s | rounds | %s at least as good |", impls[0], impls[1], impls[0])
	}
	b.WriteString("\n|---|---|")
	for range impls {
		b.WriteString("---:|")
	}
	if len(impls) >= 2 {
		b.WriteString("---:|---:|---:|")
	}
	b.WriteByte('\n')
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |", caseLabel(r.Case), r.Metric.Label)
		for _, impl := range impls {
			v := r.Median[impl]
			cell := "-"
			if !math.IsNaN(v) {
				cell = r.Metric.format(v)
			}
			if r.Runs[impl] != r.Tries[impl] {
				cell += fmt.Sprintf(" (%d/%d)", r.Runs[impl], r.Tries[impl])
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		if len(impls) >= 2 {
			if x := r.ratio(impls); math.IsNaN(x) || math.IsInf(x, 0) {
				b.WriteString(" - |")
			} else {
				fmt.Fprintf(&b, " %.2f |", x)
			}
			if len(r.Paired) == 0 {
				b.WriteString(" - | - |")
			} else {
				fmt.Fprintf(&b, " %.2f | %d of %d |", stats.Median(r.Paired), r.roundsBetter(), len(r.Paired))
			}
		}
		b.WriteByte('\n')
	}
	b.WriteString("\nServer CPU seconds per run (medians):\n\n| case |")
	for _, impl := range impls {
		fmt.Fprintf(&b, " %s |", impl)
	}
	b.WriteString("\n|---|")
	for range impls {
		b.WriteString("---:|")
	}
	b.WriteByte('\n')
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Case.Name] {
			continue
		}
		seen[r.Case.Name] = true
		fmt.Fprintf(&b, "| %s |", caseLabel(r.Case))
		for _, impl := range impls {
			fmt.Fprintf(&b, " %.2f |", r.CPU[impl])
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// renderSVG draws one bar per row: how many times better the first implementation does than the
// second (the ratio, inverted where lower is better), on a log scale around 1.
func renderSVG(w io.Writer, rows []row, impls []string) error {
	const (
		width, left, right = 900, 330, 800
		rowH, top          = 24, 56
	)
	var b strings.Builder
	h := top + rowH*len(rows) + 40
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, h)
	title := "swarm"
	if len(impls) >= 2 {
		title = fmt.Sprintf("swarm: %s against %s, times better (right of 1: %s ahead; log scale)", impls[0], impls[1], impls[0])
	}
	fmt.Fprintf(&b, `<text x="10" y="24" font-size="15">%s</text>`+"\n", html.EscapeString(title))
	// log2 axis from 1/8 to 8
	const lo, hi = -3.0, 3.0
	x := func(v float64) float64 {
		l := math.Log2(v)
		l = max(lo, min(hi, l))
		return left + (l-lo)/(hi-lo)*(right-left)
	}
	for e := lo; e <= hi; e++ {
		xx := x(math.Pow(2, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n", xx, top-8, xx, top+rowH*len(rows), map[bool]string{true: "black", false: "#ddd"}[e == 0])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xx, top+rowH*len(rows)+16, strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", math.Pow(2, e)), "0"), "."))
	}
	for i, r := range rows {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+15, html.EscapeString(caseLabel(r.Case)+": "+r.Metric.Label))
		a := r.advantage(impls)
		if math.IsNaN(a) || math.IsInf(a, 0) || a <= 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d">no figure</text>`+"\n", left+4, y+15)
			continue
		}
		x0, x1 := x(1), x(a)
		colour := "#1f77b4"
		if a < 1 {
			colour = "#d62728"
			x0, x1 = x1, x0
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="16" fill="%s"/>`+"\n", x0, y+3, max(x1-x0, 1), colour)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.2fx</text>`+"\n", right+8, y+15, a)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
