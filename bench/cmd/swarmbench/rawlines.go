package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// roundsPerFile keeps the rounds of different raw files apart when they are pooled: a play of
// file i, round r, is round i*roundsPerFile+r, so that only servers of one run are paired.
const roundsPerFile = 100000

// readPlays parses the play header lines of a raw file, as play.raw writes them ("# case=...
// impl=... round=... n=... procs=... status=... figures"); other lines are skipped. A header that
// names a case swarmbench does not have, or a value that is not a number, is an error.
func readPlays(r io.Reader, file int) ([]play, error) {
	var plays []play
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		rest, ok := strings.CutPrefix(sc.Text(), "# case=")
		if !ok {
			continue
		}
		p, err := parsePlay("case=" + rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		p.Round += file * roundsPerFile
		plays = append(plays, p)
	}
	return plays, sc.Err()
}

// parsePlay reads one play header's fields.
func parsePlay(header string) (play, error) {
	p := play{Figures: map[string]float64{}}
	n := 0
	for _, f := range strings.Fields(header) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "case":
			p.Case, err = caseNamed(v)
		case "impl":
			p.Impl = v
		case "round":
			p.Round, err = strconv.Atoi(v)
		case "n":
			n, err = strconv.Atoi(v)
		case "procs":
		case "status":
			if v != "ok" {
				p.Err = fmt.Errorf("status %s", v)
			}
		default:
			p.Figures[k], err = strconv.ParseFloat(v, 64)
		}
		if err != nil {
			return play{}, fmt.Errorf("%s: %w", f, err)
		}
	}
	if n > 0 {
		p.Case.N = n
	}
	return p, nil
}

// report pools the plays of raw files (-report) into one table: their medians over every run of
// every file, and the ratios by round within each run.
func report(o *options, files, impls []string) error {
	var plays []play
	var cases []testCase
	for i, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return err
		}
		ps, err := readPlays(r, i)
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, p := range ps {
			if !slices.ContainsFunc(cases, func(c testCase) bool { return c.Name == p.Case.Name && c.N == p.Case.N }) {
				cases = append(cases, p.Case)
			}
		}
		plays = append(plays, ps...)
	}
	if len(plays) == 0 {
		return fmt.Errorf("%w: no plays in %v", errConfig, files)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = "`" + filepath.Base(f) + "`"
	}
	pre := []string{fmt.Sprintf("The runs of %s pooled (`swarmbench -report`): medians over all their plays, ratios by round within each run.", strings.Join(names, ", "))}
	rows := aggregate(plays, cases, impls)
	base := filepath.Join(o.out, o.name)
	if err := writeFile(base+".md", o.stdout, func(w io.Writer) error { return renderMarkdown(w, rows, impls, pre) }); err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "wrote %s.md\n", base)
	return nil
}
