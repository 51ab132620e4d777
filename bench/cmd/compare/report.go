package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/stats"
)

// stat summarises the values of one figure over the ok runs of a group. N == 0: no value.
type stat struct {
	N                int
	Median, Min, Max float64
}

// summarise returns the median (the middle value, or the mean of the two middle ones), min and
// max of vs. NaNs are left out.
func summarise(vs []float64) stat {
	s := make([]float64, 0, len(vs))
	for _, v := range vs {
		if !math.IsNaN(v) {
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return stat{}
	}
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return stat{N: n, Median: med, Min: s[0], Max: s[n-1]}
}

// group is every run of one test for one pair.
type group struct {
	Test  test
	Pair  pair
	Runs  int // records
	OK    int // records with both processes ok
	Count int // messages per run (after -scale), the largest seen
	// Main is the figure the pair is ranked by: the receiver's msg_per_s (thr) or the REQ
	// side's rtt_p50_us (lat). Mbit is thr's mbit_per_s, P99 lat's rtt_p99_us.
	Main, Mbit, P99 stat
	// CPU and Allocs are the client's [0] and the server's [1] process CPU seconds and
	// allocs_per_msg (N == 0 for an implementation that does not report it).
	CPU, Allocs [2]stat
	// Steady is steady_allocs_per_msg: allocations over the second half of each loop only.
	Steady [2]stat
	// ByRound is Main in each round the pair ran ok: two pairs of one round share the machine's
	// weather, so their ratio within it is steadier than the ratio of their medians.
	ByRound map[int]float64
}

// higherIsBetter reports whether a larger Main is better (throughput) or worse (latency).
func (g *group) higherIsBetter() bool { return g.Test.Tool == contract.ToolThr }

// section is one table: a tool and size, with a group per pair in order of first appearance.
type section struct {
	Tool string
	Size int
	// Transport is set when the records span several transports: a section per transport.
	Transport string
	Count     int // the largest count of its groups
	Groups    []*group
}

func (s *section) title() string {
	over := ""
	if s.Transport != "" {
		over = " over " + s.Transport
	}
	if s.Tool == contract.ToolLat {
		return fmt.Sprintf("lat %s x %s round trips (REQ -> REP)%s", stats.SizeName(s.Size), thousands(float64(s.Count)), over)
	}
	return fmt.Sprintf("thr %s x %s messages (PUSH -> PULL)%s", stats.SizeName(s.Size), thousands(float64(s.Count)), over)
}

func (s *section) find(p pair) *group {
	for _, g := range s.Groups {
		if g.Pair == p {
			return g
		}
	}
	return nil
}

// ratio returns how many times faster g is than the baseline pair of the same section, by the
// medians of Main: throughput over the baseline's for thr, the baseline's p50 over g's for lat,
// so that > 1 is faster either way. ok is false without both medians.
func (s *section) ratio(g *group, base pair) (float64, bool) {
	b := s.find(base)
	if b == nil || b.Main.N == 0 || g.Main.N == 0 || g.Main.Median <= 0 || b.Main.Median <= 0 {
		return 0, false
	}
	if g.higherIsBetter() {
		return g.Main.Median / b.Main.Median, true
	}
	return b.Main.Median / g.Main.Median, true
}

// roundRatio is ratio taken within each round in which both g and the baseline ran ok: the
// median of those ratios, in how many of the n rounds g did at least as well, and n.
func (s *section) roundRatio(g *group, base pair) (median float64, better, n int) {
	b := s.find(base)
	if b == nil {
		return 0, 0, 0
	}
	rs := stats.RoundRatios(g.ByRound, b.ByRound)
	if !g.higherIsBetter() {
		rs = stats.RoundRatios(b.ByRound, g.ByRound) // the baseline's p50 over g's, as ratio
	}
	if len(rs) == 0 {
		return 0, 0, 0
	}
	return stats.Median(rs), stats.AtLeastAsGood(rs, false), len(rs)
}

// figure returns the named figure of res as a number, or NaN.
func figure(res contract.Result, ok bool, key string) float64 {
	if !ok {
		return math.NaN()
	}
	v, found := res.Get(key)
	if !found {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// aggregate groups records by test (tool and size) and pair, keeping the order in which they
// first appear, and summarises the ok runs of each group.
func aggregate(recs []record) []*section {
	var secs []*section
	type vals struct {
		main, mbit, p99     []float64
		cpu, allocs, steady [2][]float64
	}
	raw := map[*group]*vals{}
	multi := slices.ContainsFunc(recs, func(r record) bool { return r.Transport != recs[0].Transport })
	for i := range recs {
		r := &recs[i]
		tr := ""
		if multi {
			tr = r.Transport
		}
		var sec *section
		for _, s := range secs {
			if s.Tool == r.Test.Tool && s.Size == r.Test.Size && s.Transport == tr {
				sec = s
			}
		}
		if sec == nil {
			sec = &section{Tool: r.Test.Tool, Size: r.Test.Size, Transport: tr}
			secs = append(secs, sec)
		}
		sec.Count = max(sec.Count, r.Test.Count)
		g := sec.find(r.Pair)
		if g == nil {
			g = &group{Test: r.Test, Pair: r.Pair, ByRound: map[int]float64{}}
			sec.Groups = append(sec.Groups, g)
			raw[g] = &vals{}
		}
		g.Runs++
		g.Count = max(g.Count, r.Test.Count)
		if !r.ok() {
			continue
		}
		g.OK++
		v := raw[g]
		crole, srole := r.roles()
		cres, cok := r.result(crole)
		sres, sok := r.result(srole)
		if r.Test.Tool == contract.ToolThr {
			v.main = append(v.main, figure(sres, sok, "msg_per_s"))
			v.mbit = append(v.mbit, figure(sres, sok, "mbit_per_s"))
		} else {
			v.main = append(v.main, figure(cres, cok, "rtt_p50_us"))
			v.p99 = append(v.p99, figure(cres, cok, "rtt_p99_us"))
		}
		g.ByRound[r.Round] = v.main[len(v.main)-1] // NaN when missing: RoundRatios leaves it out
		for side, res := range [2]contract.Result{cres, sres} {
			if r.CPU[side] >= 0 {
				v.cpu[side] = append(v.cpu[side], r.CPU[side])
			}
			v.allocs[side] = append(v.allocs[side], figure(res, true, "allocs_per_msg"))
			v.steady[side] = append(v.steady[side], figure(res, true, "steady_allocs_per_msg"))
		}
	}
	for g, v := range raw {
		g.Main, g.Mbit, g.P99 = summarise(v.main), summarise(v.mbit), summarise(v.p99)
		for side := range 2 {
			g.CPU[side], g.Allocs[side] = summarise(v.cpu[side]), summarise(v.allocs[side])
			g.Steady[side] = summarise(v.steady[side])
		}
	}
	return secs
}

// renderMarkdown writes one table per section, with ratio columns against each baseline pair.
func renderMarkdown(w io.Writer, secs []*section, baselines []pair, preamble []string) error {
	var b strings.Builder
	for _, line := range preamble {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if len(preamble) > 0 {
		b.WriteByte('\n')
	}
	for _, s := range secs {
		fmt.Fprintf(&b, "### %s\n\n", s.title())
		head := []string{"sender -> receiver", "ok", "msg/s median", "min - max", "Mb/s"}
		align := []string{"---", "---:", "---:", "---:", "---:"}
		if s.Tool == contract.ToolLat {
			head = []string{"REQ -> REP", "ok", "p50 us median", "min - max", "p99 us median", "min - max"}
			align = []string{"---", "---:", "---:", "---:", "---:", "---:"}
		}
		for _, base := range baselines {
			if base == limitPair {
				head = append(head, "% of limit")
			} else {
				head = append(head, "x "+base.String()+" (by round)")
			}
			align = append(align, "---:")
		}
		client, server := "send", "recv"
		if s.Tool == contract.ToolLat {
			client, server = "req", "rep"
		}
		head = append(head, "CPU s "+client+" / "+server, "allocs/msg "+client+" / "+server,
			"steady allocs/msg "+client+" / "+server)
		align = append(align, "---:", "---:", "---:")
		row(&b, head)
		row(&b, align)
		for _, g := range s.Groups {
			name := strings.ReplaceAll(g.Pair.String(), "->", " -> ")
			if g.Count != s.Count {
				name += fmt.Sprintf(" (%s)", thousands(float64(g.Count)))
			}
			cells := []string{name, fmt.Sprintf("%d/%d", g.OK, g.Runs)}
			if s.Tool == contract.ToolLat {
				cells = append(cells, num(g.Main, g.Main.Median, 1), span(g.Main, 1), num(g.P99, g.P99.Median, 1), span(g.P99, 1))
			} else {
				d := rateDigits(g.Main)
				cells = append(cells, num(g.Main, g.Main.Median, d), span(g.Main, d), num(g.Mbit, g.Mbit.Median, 0))
			}
			for _, base := range baselines {
				if r, ok := s.ratio(g, base); ok && base == limitPair {
					cells = append(cells, fmt.Sprintf("%.0f%%", 100*r))
				} else if ok {
					cell := fmt.Sprintf("%.2f", r)
					if m, better, n := s.roundRatio(g, base); n > 0 {
						cell += fmt.Sprintf(" (%.2f, %d of %d)", m, better, n)
					}
					cells = append(cells, cell)
				} else {
					cells = append(cells, "-")
				}
			}
			cells = append(cells, sides(g.CPU, 2), sides(g.Allocs, 3), sides(g.Steady, 4))
			row(&b, cells)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// rateDigits is the decimals a msg/s column needs: none in the thousands, two for the few large
// messages a second of MiB sizes.
func rateDigits(st stat) int {
	if st.N > 0 && st.Min < 100 {
		return 2
	}
	return 0
}

func row(b *strings.Builder, cells []string) {
	b.WriteString("| ")
	b.WriteString(strings.Join(cells, " | "))
	b.WriteString(" |\n")
}

// num formats v of st (a median, say) with digits decimals, thousands separated, or "-" when st
// has no value.
func num(st stat, v float64, digits int) string {
	if st.N == 0 {
		return "-"
	}
	if digits == 0 {
		return thousands(v)
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

func span(st stat, digits int) string {
	if st.N == 0 {
		return "-"
	}
	return num(st, st.Min, digits) + " - " + num(st, st.Max, digits)
}

// sides formats the medians of a client and a server figure as "C / S".
func sides(st [2]stat, digits int) string {
	return num(st[0], st[0].Median, digits) + " / " + num(st[1], st[1].Median, digits)
}

// thousands formats v rounded to an integer with ',' between groups of three digits.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
