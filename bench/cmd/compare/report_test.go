package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/zloop/zloop/bench/internal/contract"
)

func TestSummarise(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want stat
	}{
		{[]float64{3, 1, 2}, stat{3, 2, 1, 3}},
		{[]float64{4, 1, 3, 2}, stat{4, 2.5, 1, 4}},
		{[]float64{7}, stat{1, 7, 7, 7}},
		{[]float64{5, math.NaN(), 1}, stat{2, 3, 1, 5}},
		{nil, stat{}},
		{[]float64{math.NaN()}, stat{}},
	} {
		if got := summarise(tc.in); got != tc.want {
			t.Errorf("summarise(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	// The median splits the values: at least half are <= it and at least half >= it.
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 500; trial++ {
		vs := make([]float64, 1+rng.IntN(9))
		for i := range vs {
			vs[i] = float64(rng.IntN(20))
		}
		st := summarise(vs)
		le, ge := 0, 0
		for _, v := range vs {
			if v <= st.Median {
				le++
			}
			if v >= st.Median {
				ge++
			}
		}
		if 2*le < len(vs) || 2*ge < len(vs) || st.Min != slices.Min(vs) || st.Max != slices.Max(vs) || st.N != len(vs) {
			t.Fatalf("%v: %+v", vs, st)
		}
	}
	if in := []float64{3, 1, 2}; !slices.Equal(in, []float64{3, 1, 2}) || summarise(in).N != 3 || in[0] != 3 {
		t.Fatal("summarise changed its input")
	}
}

// mk builds the record of one run: thr with the receiver's msg/s, or lat with the REQ side's p50
// and p99, each side with allocs when given (>= 0) and a tenth of that as its steady allocs, process
// CPU from cpu.
func mk(tool string, p pair, round int, main, second float64, allocs [2]float64, cpu [2]float64) record {
	r := record{Test: test{tool, 64, 1000}, Pair: p, Transport: "tcp", Round: round, RC: [2]int{0, 0}, CPU: cpu}
	c, s := r.roles()
	cr := contract.Result{Status: contract.StatusOK, Tool: tool, Role: c, Impl: p.Client, Size: 64, Count: 1000}
	sr := contract.Result{Status: contract.StatusOK, Tool: tool, Role: s, Impl: p.Server, Size: 64, Count: 1000}
	if tool == contract.ToolThr {
		sr.Add("msg_per_s", "%.0f", main)
		sr.Add("mbit_per_s", "%.3f", second)
	} else {
		cr.Add("rtt_p50_us", "%.2f", main)
		cr.Add("rtt_p99_us", "%.2f", second)
	}
	if allocs[0] >= 0 {
		cr.Add("allocs_per_msg", "%.3f", allocs[0])
		cr.Add("steady_allocs_per_msg", "%.4f", allocs[0]/10)
	}
	if allocs[1] >= 0 {
		sr.Add("allocs_per_msg", "%.3f", allocs[1])
		sr.Add("steady_allocs_per_msg", "%.4f", allocs[1]/10)
	}
	r.Results = []contract.Result{sr, cr}
	return r
}

var (
	zz   = pair{"zloop", "zloop"}
	ll   = pair{"libzmq", "libzmq"}
	cc   = pair{"libzmq-c", "libzmq-c"}
	zl   = pair{"zloop", "libzmq"}
	base = []pair{ll, cc}
)

func sampleRecords() []record {
	var recs []record
	for round, v := range []struct{ z, l, c, zl float64 }{{1200, 1000, 2000, 900}, {1500, 1100, 2100, 1000}, {1300, 900, 1900, 800}} {
		recs = append(recs,
			mk("thr", zz, round+1, v.z, v.z/10, [2]float64{0.01, 0.04}, [2]float64{1, 2}),
			mk("thr", ll, round+1, v.l, v.l/10, [2]float64{0, 2}, [2]float64{1.5, 2.5}),
			mk("thr", cc, round+1, v.c, v.c/10, [2]float64{-1, -1}, [2]float64{0.5, 0.75}),
			mk("thr", zl, round+1, v.zl, v.zl/10, [2]float64{0.02, 2}, [2]float64{1, 2}))
	}
	for round, v := range []float64{80, 100, 90} {
		recs = append(recs,
			mk("lat", zz, round+1, v, 2*v, [2]float64{0, 0}, [2]float64{1, 1}),
			mk("lat", ll, round+1, v+20, 2*v+20, [2]float64{2, 2}, [2]float64{1, 1}))
	}
	// A failed run (the receiver timed out) counts as tried, not in the figures.
	bad := mk("thr", zz, 4, 1e9, 1e8, [2]float64{0, 0}, [2]float64{9, 9})
	bad.RC[1] = 3
	bad.Results[0].Status = contract.StatusTimeout
	return append(recs, bad)
}

func TestAggregate(t *testing.T) {
	secs := aggregate(sampleRecords())
	if len(secs) != 2 || secs[0].Tool != "thr" || secs[1].Tool != "lat" {
		t.Fatalf("sections %+v", secs)
	}
	thr := secs[0]
	var names []string
	for _, g := range thr.Groups {
		names = append(names, g.Pair.String())
	}
	if got := strings.Join(names, ","); got != "zloop->zloop,libzmq->libzmq,libzmq-c->libzmq-c,zloop->libzmq" {
		t.Fatalf("group order %s", got)
	}
	z := thr.find(zz)
	if z.Runs != 4 || z.OK != 3 {
		t.Fatalf("runs %d ok %d", z.Runs, z.OK)
	}
	if z.Main != (stat{3, 1300, 1200, 1500}) || z.Mbit != (stat{3, 130, 120, 150}) {
		t.Fatalf("zloop main %+v mbit %+v", z.Main, z.Mbit)
	}
	if z.CPU[0] != (stat{3, 1, 1, 1}) || z.CPU[1] != (stat{3, 2, 2, 2}) || z.Allocs[1].Median != 0.04 {
		t.Fatalf("zloop cpu %+v allocs %+v", z.CPU, z.Allocs)
	}
	if c := thr.find(cc); c.Allocs[0].N != 0 || c.Allocs[1].N != 0 {
		t.Fatalf("C allocs %+v", c.Allocs)
	}
	// Ratios by medians: zloop 1300 against libzmq 1000 and libzmq-c 2000.
	if r, ok := thr.ratio(z, ll); !ok || math.Abs(r-1.3) > 1e-12 {
		t.Fatalf("ratio vs libzmq %v %v", r, ok)
	}
	if r, ok := thr.ratio(z, cc); !ok || math.Abs(r-0.65) > 1e-12 {
		t.Fatalf("ratio vs libzmq-c %v %v", r, ok)
	}
	// lat: lower is better, so the ratio is the baseline's p50 over the pair's: 110/90.
	lat := secs[1]
	if r, ok := lat.ratio(lat.find(zz), ll); !ok || math.Abs(r-110.0/90) > 1e-12 {
		t.Fatalf("lat ratio %v %v", r, ok)
	}
	if _, ok := lat.ratio(lat.find(zz), cc); ok {
		t.Fatal("a ratio against a baseline that did not run")
	}
	if p := lat.find(zz).P99; p != (stat{3, 180, 160, 200}) {
		t.Fatalf("p99 %+v", p)
	}
}

// cells splits a Markdown table row into its cells.
func cells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func TestRenderMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := renderMarkdown(&b, aggregate(sampleRecords()), base, []string{"preamble line"}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.HasPrefix(md, "preamble line\n\n### thr 64 B x 1,000 messages (PUSH -> PULL)\n") {
		t.Fatalf("start:\n%s", md)
	}
	// Every row of a table has as many cells as its header.
	width := 0
	for _, line := range strings.Split(md, "\n") {
		c := cells(line)
		switch {
		case c == nil:
			width = 0
		case width == 0:
			width = len(c)
		case len(c) != width:
			t.Fatalf("row of %d cells under a header of %d: %q", len(c), width, line)
		}
	}
	row := func(prefix string) []string {
		for _, line := range strings.Split(md, "\n") {
			if c := cells(line); c != nil && strings.HasPrefix(c[0], prefix) {
				return c
			}
		}
		t.Fatalf("no row %q in\n%s", prefix, md)
		return nil
	}
	z := row("zloop -> zloop")
	want := []string{"zloop -> zloop", "3/4", "1,300", "1,200 - 1,500", "130",
		// By round against libzmq 1200/1000, 1500/1100, 1300/900; against libzmq-c all below 1.
		fmt.Sprintf("%.2f (%.2f, 3 of 3)", 1300.0/1000, 1500.0/1100), fmt.Sprintf("%.2f (%.2f, 0 of 3)", 1300.0/2000, 1300.0/1900),
		"1.00 / 2.00", "0.010 / 0.040", "0.0010 / 0.0040"}
	if !slices.Equal(z, want) {
		t.Fatalf("thr row %q, want %q", z, want)
	}
	if c := row("libzmq-c -> libzmq-c"); c[len(c)-1] != "- / -" || c[6] != "1.00 (1.00, 3 of 3)" {
		t.Fatalf("C row %q", c)
	}
	// The lat table comes second, so its zloop row is the second one found.
	var latRow []string
	for _, line := range strings.Split(md[strings.Index(md, "### lat"):], "\n") {
		if c := cells(line); c != nil && c[0] == "zloop -> zloop" {
			latRow = c
		}
	}
	want = []string{"zloop -> zloop", "3/3", "90.0", "80.0 - 100.0", "180.0", "160.0 - 200.0",
		fmt.Sprintf("%.2f (%.2f, 3 of 3)", 110.0/90, 110.0/90), "-", "1.00 / 1.00", "0.000 / 0.000", "0.0000 / 0.0000"}
	if !slices.Equal(latRow, want) {
		t.Fatalf("lat row %q, want %q", latRow, want)
	}
}

// checkSVG parses the chart as XML and counts its bars.
func checkSVG(t *testing.T, svg []byte, bars int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	n := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "class" && a.Value == "bar" {
					n++
				}
			}
		}
	}
	if n != bars {
		t.Fatalf("%d bars, want %d", n, bars)
	}
}

func TestRenderSVG(t *testing.T) {
	secs := aggregate(sampleRecords())
	var b bytes.Buffer
	if err := renderSVG(&b, secs, `a <subtitle> & "more"`); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, b.Bytes(), 6)
	// Bars are proportional to the medians: the thr axis ends at niceCeil(2100).
	top, _ := niceCeil(2100)
	re := regexp.MustCompile(`<rect class="bar" x="\d+" y="\d+" width="([0-9.]+)"`)
	m := re.FindAllStringSubmatch(b.String(), -1)
	for i, want := range []float64{1300, 1000, 2000, 900} {
		w, _ := strconv.ParseFloat(m[i][1], 64)
		if exp := (barsRight - labelRight) * want / top; math.Abs(w-exp) > 0.06 {
			t.Errorf("bar %d width %v, want %v", i, w, exp)
		}
	}
	// A pair without an ok run gets a note instead of a bar.
	recs := sampleRecords()
	recs[0].RC[0] = 1
	recs[4].RC[0], recs[8].RC[0] = 1, 1
	b.Reset()
	if err := renderSVG(&b, aggregate(recs), ""); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, b.Bytes(), 5)
	if !strings.Contains(b.String(), "no ok run (4 tried)") {
		t.Fatal("no note for the failed pair")
	}
}

func TestNiceCeil(t *testing.T) {
	for _, v := range []float64{0.3, 1, 7, 12, 99, 100, 101, 2100, 4.9e6, 123456789} {
		top, step := niceCeil(v)
		if top < v || top > 1.5*v || step <= 0 {
			t.Errorf("niceCeil(%v) = %v, %v", v, top, step)
		}
		if n := top / step; math.Abs(n-math.Round(n)) > 1e-9 || math.Round(n) < 4 || math.Round(n) > 6 {
			t.Errorf("niceCeil(%v): %v ticks", v, n)
		}
	}
	if top, _ := niceCeil(0); top != 1 {
		t.Errorf("niceCeil(0) = %v", top)
	}
}

func TestFormatting(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -4500: "-4,500", 12.5: "13"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{1710000: "1.71M", 2e6: "2M", 950000: "950k", 1500: "1.5k", 78.84: "78.8", 250: "250"} {
		if got := short(v); got != want {
			t.Errorf("short(%v) = %q, want %q", v, got, want)
		}
	}
	// A few large messages a second keep two decimals; rates in the thousands none.
	for _, vs := range [][]float64{{4, 5.5}, {120, 99.5}, {1500, 100}} {
		st := summarise(vs)
		want := map[float64]string{4: "4.75", 120: "109.75", 1500: "800"}[vs[0]]
		if got := num(st, st.Median, rateDigits(st)); got != want {
			t.Errorf("rate cell of %v = %q, want %q", vs, got, want)
		}
	}
}

// The raw file round-trips: header and RESULT lines read back to the same records.
func TestReadRecordsRoundTrip(t *testing.T) {
	recs := sampleRecords()
	recs[1].Flags = "--check"
	recs[2].CPU = [2]float64{-1, 0.25}
	recs[3].Busy, recs[3].Waited = 0.25, 1.5
	recs[4].Busy = -1
	var b bytes.Buffer
	b.WriteString("# compare header lines are skipped\n")
	for _, r := range recs {
		fmt.Fprintln(&b, r.header())
		for _, res := range r.Results {
			fmt.Fprintln(&b, res.String())
		}
	}
	raw := b.String()
	back, err := readRecords(&b)
	if err != nil {
		t.Fatal(err)
	}
	// Byte by byte, the reader reads the same.
	split, err := readRecords(iotest.OneByteReader(strings.NewReader(raw)))
	if err != nil || fmt.Sprint(split) != fmt.Sprint(back) {
		t.Fatalf("byte by byte: %v\n%v\n%v", err, split, back)
	}
	if len(back) != len(recs) {
		t.Fatalf("%d records, want %d", len(back), len(recs))
	}
	for i := range recs {
		if back[i].header() != recs[i].header() || fmt.Sprint(back[i].Results) != fmt.Sprint(recs[i].Results) {
			t.Fatalf("record %d:\n%+v\n%+v", i, back[i], recs[i])
		}
	}
	for _, bad := range []string{"# tool=thr pair=zloop", "# tool=thr pair=a->b rc=1", "# tool=thr pair=a->b size=x", "# tool= pair="} {
		if _, err := readRecords(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParsePairs(t *testing.T) {
	impls := []string{"zloop", "libzmq", "gozmq"}
	got, err := parsePairs("self, zloop:libzmq,zloop:*,*:gozmq,zloop:zloop", impls)
	if err != nil {
		t.Fatal(err)
	}
	want := []pair{zz, ll, {"gozmq", "gozmq"}, zl, {"zloop", "gozmq"}, {"libzmq", "gozmq"}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	for _, bad := range []string{"zloop", "zloop:", ":zloop", "a:b:c", "zloop:libzmq-c", "nope:*"} {
		if _, err := parsePairs(bad, impls); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseTests(t *testing.T) {
	thr, err := parseThrTests("64,1024,65536", "2_000_000,500000,20000")
	if err != nil {
		t.Fatal(err)
	}
	if want := []test{{"thr", 64, 2000000}, {"thr", 1024, 500000}, {"thr", 65536, 20000}}; !slices.Equal(thr, want) {
		t.Fatalf("%v", thr)
	}
	if thr, err = parseThrTests("8,16", "7"); err != nil || !slices.Equal(thr, []test{{"thr", 8, 7}, {"thr", 16, 7}}) {
		t.Fatalf("%v %v", thr, err)
	}
	lat, err := parseLatTests("64:20000,1024:500")
	if err != nil || !slices.Equal(lat, []test{{"lat", 64, 20000}, {"lat", 1024, 500}}) {
		t.Fatalf("%v %v", lat, err)
	}
	if lat, err := parseLatTests("none"); err != nil || lat != nil {
		t.Fatalf("none: %v %v", lat, err)
	}
	for _, c := range [][2]string{{"64,128", "1,2,3"}, {"x", "1"}, {"64", "0"}, {"-1", "5"}} {
		if _, err := parseThrTests(c[0], c[1]); err == nil {
			t.Errorf("%q: no error", c)
		}
	}
	for _, s := range []string{"64", "64:1", "a:5", "64:x"} {
		if _, err := parseLatTests(s); err == nil {
			t.Errorf("-lat %q: no error", s)
		}
	}
}

func TestScale(t *testing.T) {
	sc, err := parseScale("gozmq=0.1,libzmq=0.5")
	if err != nil {
		t.Fatal(err)
	}
	tc := test{"thr", 64, 2000000}
	for p, want := range map[pair]int{zz: 2000000, {"zloop", "gozmq"}: 200000, {"libzmq", "gozmq"}: 200000, ll: 1000000} {
		if got := scaled(tc, p, sc).Count; got != want {
			t.Errorf("%s: %d, want %d", p, got, want)
		}
	}
	if got := scaled(test{"lat", 64, 10}, pair{"gozmq", "gozmq"}, sc).Count; got != 2 {
		t.Errorf("scaled to %d, want the floor of 2", got)
	}
	for _, bad := range []string{"gozmq", "gozmq=0", "gozmq=2", "=0.5", "gozmq=x"} {
		if _, err := parseScale(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestLoadLine(t *testing.T) {
	recs := sampleRecords()
	for i := range recs {
		recs[i].Busy, recs[i].Waited = float64(i)/100, 1
	}
	line := loadLine(recs, time.Minute, 0.05)
	// n records busy 0, 0.01, ... (n-1)/100: the median is (n-1)/2 %, n-6 are above 5%.
	n := len(recs)
	wants := []string{fmt.Sprintf("median %.0f%%", float64(n-1)/2), fmt.Sprintf("max %d%%", n-1),
		fmt.Sprintf("%d of %d pairs started above 5%%", n-6, n), "1m0s", fmt.Sprintf("%d s spent", n)}
	for _, want := range wants {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if loadLine(nil, 0, 0) != "" {
		t.Error("a load line without measurements")
	}
}
