package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/zloop/zloop/bench/internal/contract"
)

// The colours of the implementations in the chart; others are grey.
var implColours = map[string]string{
	"zloop":    "#1f77b4",
	"libzmq":   "#ff7f0e",
	"libzmq-c": "#2ca02c",
	"gozmq":    "#d62728",
}

func implColour(name string) string {
	if c, ok := implColours[name]; ok {
		return c
	}
	return "#7f7f7f"
}

// Chart geometry, in SVG user units (pixels).
const (
	chartWidth = 960
	labelRight = 190 // pair labels end here, bars start here
	barsRight  = 800 // the bar area ends here; value labels follow
	rowHeight  = 22
	barHeight  = 14
	panelHead  = 44 // title and legend line
	panelFoot  = 30 // axis labels and spacing
)

// niceCeil returns the smallest "round" number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of
// ten) that is >= v, and a tick step that divides it into 4 to 6 parts, for an axis from 0.
func niceCeil(v float64) (top, step float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, c := range []struct{ m, step float64 }{
		{1, 0.2}, {1.5, 0.3}, {2, 0.4}, {2.5, 0.5}, {3, 0.5}, {4, 1}, {5, 1}, {6, 1}, {8, 2}, {10, 2},
	} {
		if c.m*p >= v*(1-1e-12) {
			return c.m * p, c.step * p
		}
	}
	return 10 * p, 2 * p
}

// short formats an axis or bar value compactly: 1.71M, 950k, 78.8.
func short(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case a >= 1e4:
		return trimZeros(fmt.Sprintf("%.0f", v/1e3)) + "k"
	case a >= 1e3:
		return trimZeros(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return trimZeros(fmt.Sprintf("%.1f", v))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func esc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

// renderSVG draws one panel per section: a bar per pair at the median of the ranked figure
// (thr msg/s, lat p50), a whisker from min to max, and for lat the median p99 as a diamond.
// A bar is filled with the client's colour and outlined in the server's.
func renderSVG(w io.Writer, secs []*section, subtitle string) error {
	height := 40
	for _, s := range secs {
		height += panelHead + rowHeight*len(s.Groups) + panelFoot
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", esc("zloop bench comparison"))
	fmt.Fprintf(&b, `<text x="10" y="34" fill="#555">%s</text>`+"\n", esc(subtitle))
	y := 40
	for _, s := range secs {
		lat := s.Tool == contract.ToolLat
		unit, legend := "msg/s (higher is better)", "bar: median, whisker: min-max; fill: sender, outline: receiver"
		if lat {
			unit, legend = "round-trip us (lower is better)", "bar: p50 median, whisker: p50 min-max, diamond: p99 median; fill: REQ, outline: REP"
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s, %s</text>`+"\n", y+16, esc(s.title()), esc(unit))
		fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555" font-size="11">%s</text>`+"\n", y+32, esc(legend))
		top := 0.0
		for _, g := range s.Groups {
			top = math.Max(top, g.Main.Max)
			if lat {
				top = math.Max(top, g.P99.Median)
			}
		}
		top, step := niceCeil(top)
		x := func(v float64) float64 { return labelRight + (barsRight-labelRight)*v/top }
		y0 := y + panelHead
		y1 := y0 + rowHeight*len(s.Groups)
		for t := 0.0; t <= top*(1+1e-9); t += step {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(t), y0-4, x(t), y1)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555" font-size="10">%s</text>`+"\n", x(t), y1+13, short(t))
		}
		for i, g := range s.Groups {
			ry := y0 + i*rowHeight
			mid := float64(ry) + barHeight/2.0
			label := strings.ReplaceAll(g.Pair.String(), "->", " → ")
			if g.Count != s.Count {
				label += " (" + short(float64(g.Count)) + ")"
			}
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", labelRight-8, mid, esc(label))
			if g.Main.N == 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%.1f" dominant-baseline="middle" fill="#d62728">no ok run (%d tried)</text>`+"\n", labelRight+4, mid, g.Runs)
				continue
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%.1f" height="%d" fill="%s" stroke="%s" stroke-width="2" fill-opacity="0.85"><title>%s</title></rect>`+"\n",
				labelRight, ry, x(g.Main.Median)-labelRight, barHeight, implColour(g.Pair.Client), implColour(g.Pair.Server),
				esc(fmt.Sprintf("%s: median %s, min %s, max %s over %d ok runs", g.Pair, short(g.Main.Median), short(g.Main.Min), short(g.Main.Max), g.Main.N)))
			fmt.Fprintf(&b, `<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="black" fill="none"/>`+"\n",
				x(g.Main.Min), mid, x(g.Main.Max), x(g.Main.Min), mid-4, mid+4, x(g.Main.Max), mid-4, mid+4)
			end := x(g.Main.Max)
			if lat && g.P99.N > 0 {
				px := x(g.P99.Median)
				fmt.Fprintf(&b, `<path d="M%.1f %.1fl4 4l-4 4l-4 -4z" fill="black"/>`+"\n", px, mid-4)
				end = math.Max(end, px+4)
			}
			value := short(g.Main.Median)
			if lat && g.P99.N > 0 {
				value += " / p99 " + short(g.P99.Median)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle" font-size="11">%s</text>`+"\n", end+6, mid, esc(value))
		}
		y = y1 + panelFoot
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
