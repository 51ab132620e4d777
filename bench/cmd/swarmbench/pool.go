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

// readPlays parses the play header lines of a raw file ("# case=... impl=... round=... status=...
// figures"). Lines it does not know are skipped; a header that names a case swarmbench does not
// have is an error.
func readPlays(r io.Reader, file int) ([]play, error) {
	var plays []play
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "# case=")
		if !ok {
			continue
		}
		fields := strings.Fields("case=" + line)
		p := play{Figures: map[string]float64{}}
		n := 0
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "case":
				c, err := caseNamed(v)
				if err != nil {
					return nil, err
				}
				p.Case = c
			case "impl":
				p.Impl = v
			case "round":
				p.Round, _ = strconv.Atoi(v)
				p.Round += file * roundsPerFile
			case "n":
				n, _ = strconv.Atoi(v)
			case "procs":
			case "status":
				if v != "ok" {
					p.Err = fmt.Errorf("status %s", v)
				}
			default:
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				p.Figures[k] = x
			}
		}
		if n > 0 {
			p.Case.N = n
		}
		plays = append(plays, p)
	}
	return plays, sc.Err()
}

func caseNamed(name string) (testCase, error) {
	cs, err := parseCases(name, 0)
	if err != nil {
		return testCase{}, err
	}
	return cs[0], nil
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
	md, err := os.Create(base + ".md")
	if err != nil {
		return err
	}
	err = renderMarkdown(io.MultiWriter(md, o.stdout), rows, impls, pre)
	if cerr := md.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		fmt.Fprintf(o.stdout, "wrote %s.md\n", base)
	}
	return err
}
