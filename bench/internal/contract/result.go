package contract

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is the status= value of a RESULT line.
type Status string

// The statuses of the contract.
const (
	StatusOK          Status = "ok"
	StatusTimeout     Status = "timeout"
	StatusError       Status = "error"
	StatusCheckFailed Status = "check_failed"
)

// ExitCode returns the contract's process exit code for s: 0 ok, 1 usage or socket error,
// 2 data check failed, 3 timeout.
func (s Status) ExitCode() int {
	switch s {
	case StatusOK:
		return 0
	case StatusCheckFailed:
		return 2
	case StatusTimeout:
		return 3
	}
	return 1
}

// Figure is one key=value pair after the fixed keys of a RESULT line.
type Figure struct {
	Key, Value string
}

// Result is what one thr or lat process reports.
type Result struct {
	Status           Status
	Tool, Role, Impl string
	Size, Count      int
	Figures          []Figure // in print order
}

// Add appends a figure formatted with verb (for example "%.2f").
func (r *Result) Add(key, verb string, v any) {
	r.Figures = append(r.Figures, Figure{key, fmt.Sprintf(verb, v)})
}

// Get returns the value of key (fixed keys included) and whether it is present.
func (r *Result) Get(key string) (string, bool) {
	switch key {
	case "status":
		return string(r.Status), true
	case "tool":
		return r.Tool, true
	case "role":
		return r.Role, true
	case "impl":
		return r.Impl, true
	case "size":
		return strconv.Itoa(r.Size), true
	case "count":
		return strconv.Itoa(r.Count), true
	}
	for _, f := range r.Figures {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// String formats r as the contract's RESULT line, without a newline. Values never contain
// spaces: any whitespace or '=' in a value is replaced by '_' so that the line stays parseable.
func (r *Result) String() string {
	var b strings.Builder
	b.WriteString("RESULT")
	kv := func(k, v string) {
		b.WriteByte(' ')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(clean(v))
	}
	kv("status", string(r.Status))
	kv("tool", r.Tool)
	kv("role", r.Role)
	kv("impl", r.Impl)
	kv("size", strconv.Itoa(r.Size))
	kv("count", strconv.Itoa(r.Count))
	for _, f := range r.Figures {
		kv(clean(f.Key), f.Value)
	}
	return b.String()
}

func clean(v string) string {
	if v == "" {
		return "-"
	}
	return strings.Map(func(c rune) rune {
		if c == '=' || c <= ' ' || c == 0x7f {
			return '_'
		}
		return c
	}, v)
}

// ParseResult parses a RESULT line as String formats it (surrounding whitespace allowed).
func ParseResult(line string) (Result, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "RESULT" {
		return Result{}, ErrBadResult
	}
	var r Result
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return Result{}, fmt.Errorf("%w: field %q", ErrBadResult, f)
		}
		if seen[k] {
			return Result{}, fmt.Errorf("%w: key %q twice", ErrBadResult, k)
		}
		seen[k] = true
		var err error
		switch k {
		case "status":
			r.Status = Status(v)
		case "tool":
			r.Tool = v
		case "role":
			r.Role = v
		case "impl":
			r.Impl = v
		case "size":
			r.Size, err = strconv.Atoi(v)
		case "count":
			r.Count, err = strconv.Atoi(v)
		default:
			r.Figures = append(r.Figures, Figure{k, v})
		}
		if err != nil {
			return Result{}, fmt.Errorf("%w: %s=%q", ErrBadResult, k, v)
		}
	}
	if r.Status == "" {
		return Result{}, fmt.Errorf("%w: no status", ErrBadResult)
	}
	return r, nil
}
