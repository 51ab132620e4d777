package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/stats"
)

// test is one measurement: a tool with a message size and count.
type test struct {
	Tool  string // contract.ToolThr or contract.ToolLat
	Size  int
	Count int
}

func (t test) String() string {
	return fmt.Sprintf("%s %s x %s", t.Tool, stats.SizeName(t.Size), thousands(float64(t.Count)))
}

// pair is who talks to whom: for thr the sender (connects) and the receiver (binds), for lat
// the REQ side (connects) and the REP side (binds).
type pair struct {
	Client, Server string
}

func (p pair) String() string { return p.Client + "->" + p.Server }

// parseList splits a comma-separated flag, dropping empty items.
func parseList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parsePairs reads -pairs: items "client:server", where either side may be "*" (every impl of
// -impls), and "self" (every impl of -impls to itself). Duplicates are dropped, order is kept.
func parsePairs(spec string, impls []string) ([]pair, error) {
	known := func(name string) error {
		if !slices.Contains(impls, name) {
			return fmt.Errorf("%w: pair names %q, which is not in -impls %v", errConfig, name, impls)
		}
		return nil
	}
	var out []pair
	add := func(p pair) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, item := range parseList(spec) {
		if item == "self" {
			for _, i := range impls {
				add(pair{i, i})
			}
			continue
		}
		c, s, ok := strings.Cut(item, ":")
		if !ok || c == "" || s == "" || strings.Contains(s, ":") {
			return nil, fmt.Errorf("%w: pair %q is not client:server", errConfig, item)
		}
		clients, servers := []string{c}, []string{s}
		if c == "*" {
			clients = impls
		}
		if s == "*" {
			servers = impls
		}
		for _, cl := range clients {
			for _, sv := range servers {
				if err := known(cl); err != nil {
					return nil, err
				}
				if err := known(sv); err != nil {
					return nil, err
				}
				add(pair{cl, sv})
			}
		}
	}
	return out, nil
}

func parseCount(what, s string, min int) (int, error) {
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n < min || n > contract.MaxSize {
		return 0, fmt.Errorf("%w: %s %q is not an integer in %d..%d", errConfig, what, s, min, contract.MaxSize)
	}
	return n, nil
}

// parseThrTests pairs -sizes with -counts: one count for every size, or one count per size.
func parseThrTests(sizes, counts string) ([]test, error) {
	ss, cs := parseList(sizes), parseList(counts)
	if len(ss) == 0 {
		return nil, nil
	}
	if len(cs) != 1 && len(cs) != len(ss) {
		return nil, fmt.Errorf("%w: %d -counts for %d -sizes (give one, or one per size)", errConfig, len(cs), len(ss))
	}
	var out []test
	for i, s := range ss {
		size, err := parseCount("size", s, 0)
		if err != nil {
			return nil, err
		}
		c := cs[0]
		if len(cs) > 1 {
			c = cs[i]
		}
		count, err := parseCount("count", c, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, test{contract.ToolThr, size, count})
	}
	return out, nil
}

// parseLatTests reads -lat, a list of SIZE:COUNT ("" or "none" for no lat test).
func parseLatTests(spec string) ([]test, error) {
	if spec == "none" {
		return nil, nil
	}
	var out []test
	for _, item := range parseList(spec) {
		s, c, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("%w: -lat item %q is not SIZE:COUNT", errConfig, item)
		}
		size, err := parseCount("size", s, 0)
		if err != nil {
			return nil, err
		}
		count, err := parseCount("count", c, 2)
		if err != nil {
			return nil, err
		}
		out = append(out, test{contract.ToolLat, size, count})
	}
	return out, nil
}

// parseScale reads -scale, a list of IMPL=FACTOR: a pair's counts are multiplied by the smallest
// factor of its two sides, for an implementation too slow for the full counts.
func parseScale(spec string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, item := range parseList(spec) {
		name, f, ok := strings.Cut(item, "=")
		v, err := strconv.ParseFloat(f, 64)
		if !ok || name == "" || err != nil || !(v > 0 && v <= 1) {
			return nil, fmt.Errorf("%w: -scale item %q is not IMPL=FACTOR with 0 < FACTOR <= 1", errConfig, item)
		}
		out[name] = v
	}
	return out, nil
}

// scaled returns t with its count scaled for p (at least 2, so that lat keeps a round trip
// after its warm-up and thr a message after its first).
func scaled(t test, p pair, scale map[string]float64) test {
	f := 1.0
	for _, side := range []string{p.Client, p.Server} {
		if v, ok := scale[side]; ok && v < f {
			f = v
		}
	}
	if f < 1 {
		t.Count = max(2, int(float64(t.Count)*f))
	}
	return t
}

// parseTransports reads -transport: one or more of tcp, ipc, ws, tls and wss, comma-separated,
// duplicates dropped, order kept.
func parseTransports(spec string) ([]string, error) {
	var out []string
	for _, tr := range parseList(spec) {
		if !slices.Contains([]string{"tcp", "ipc", "ws", "tls", "wss"}, tr) {
			return nil, fmt.Errorf("%w: transport %q is not tcp, ipc, ws, tls or wss", errConfig, tr)
		}
		if !slices.Contains(out, tr) {
			out = append(out, tr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no -transport", errConfig)
	}
	return out, nil
}

// limitImpl is the implementation of the limit line (bin/loopback, internal/loopbench): the
// contract's tools over one plain stream socket, no ZeroMQ.
const limitImpl = "loopback"

// limitPair is the limit line's pair; a section with it gets a "% of limit" column.
var limitPair = pair{limitImpl, limitImpl}

// withLimit returns thr pairs with the limit line first (for -limit), and impls with its
// implementation, each once.
func withLimit(pairs []pair, impls []string) ([]pair, []string) {
	if !slices.Contains(impls, limitImpl) {
		impls = append(impls, limitImpl)
	}
	out := []pair{limitPair}
	for _, p := range pairs {
		if p != limitPair {
			out = append(out, p)
		}
	}
	return out, impls
}
