// Command benchsum reads the output of scripts/run.sh (a '#' header line per pair, then its RESULT
// lines) from files or stdin and prints, per test and pair, the median of each figure over the
// rounds, plus how many runs were not ok.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/stats"
)

type group struct {
	key     string
	runs    int
	failed  int
	figures map[string][]float64 // "recv.msg_per_s" -> one value per ok run
}

func main() {
	var groups []*group
	byKey := map[string]*group{}
	var cur *group
	read := func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "# tool="):
				key := header(line)
				g := byKey[key]
				if g == nil {
					g = &group{key: key, figures: map[string][]float64{}}
					byKey[key] = g
					groups = append(groups, g)
				}
				g.runs++
				cur = g
			case strings.HasPrefix(line, "RESULT ") && cur != nil:
				res, err := contract.ParseResult(line)
				if err != nil {
					return err
				}
				if res.Status != contract.StatusOK {
					cur.failed++
					continue
				}
				for _, f := range res.Figures {
					if v, err := strconv.ParseFloat(f.Value, 64); err == nil {
						k := res.Role + "." + f.Key
						cur.figures[k] = append(cur.figures[k], v)
					}
				}
			}
		}
		return sc.Err()
	}
	var err error
	if len(os.Args) < 2 {
		err = read(os.Stdin)
	}
	for _, name := range os.Args[1:] {
		f, ferr := os.Open(name)
		if ferr != nil {
			err = ferr
			break
		}
		err = read(f)
		f.Close()
		if err != nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsum:", err)
		os.Exit(1)
	}
	for _, g := range groups {
		fmt.Printf("%s runs=%d not_ok=%d", g.key, g.runs, g.failed)
		for _, k := range []string{
			"recv.msg_per_s", "recv.mbit_per_s", "req.rtt_p50_us", "req.rtt_p99_us", "req.avg_oneway_us",
			"send.allocs_per_msg", "recv.allocs_per_msg", "req.allocs_per_msg", "rep.allocs_per_msg",
			"send.steady_allocs_per_msg", "recv.steady_allocs_per_msg", "req.steady_allocs_per_msg",
			"rep.steady_allocs_per_msg",
			"send.cpu_s", "recv.cpu_s", "req.cpu_s", "rep.cpu_s",
		} {
			if vs := g.figures[k]; len(vs) > 0 {
				fmt.Printf(" %s=%s", k, format(stats.Median(vs)))
			}
		}
		fmt.Println()
	}
}

// header keeps the fields of a '#' line that identify a test and pair.
func header(line string) string {
	var keep []string
	for _, f := range strings.Fields(strings.TrimPrefix(line, "#")) {
		k, _, _ := strings.Cut(f, "=")
		switch k {
		case "tool", "pair", "transport", "size", "count":
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}

func format(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
