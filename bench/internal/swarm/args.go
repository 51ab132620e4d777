// Package swarm is the client side of the connection-swarm benchmark (CONTRACT.md, "swarm"): many
// raw ZMTP 3.1 connections (NULL mechanism) driven by a small epoll loop per thread, so that one
// client process holds tens of thousands of peers without a goroutine each, and the server, not
// the client, is what gets measured.
package swarm

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Mode is what every connection of a swarm does once it is up.
type Mode string

// The modes.
const (
	ModeIdle   Mode = "idle"   // a DEALER that only completes its handshake and stays
	ModeSub    Mode = "sub"    // a SUB subscribed to everything, counting deliveries
	ModeDealer Mode = "dealer" // a DEALER keeping K requests in flight to an echoing ROUTER
)

// ErrUsage is returned for a command line that does not follow the synopsis.
var ErrUsage = errors.New("swarm: usage")

// Usage is the synopsis.
const Usage = `swarm idle|sub|dealer ENDPOINT N [--source IP] [--per-source N] [--connecting N]
      [--threads N] [--inflight K] [--size BYTES] [--warmup SEC] [--window SEC] [--hold SEC]
      [--pid PID[,PID...]] [--settle SEC] [--timeout SEC] [--impl NAME] [--go]`

// Args is a parsed command line.
type Args struct {
	Mode       Mode
	Endpoint   string       // tcp://IP:PORT
	Server     *net.TCPAddr // Endpoint's address
	N          int          // connections
	Source     net.IP       // first source address (IPv4); the next one after every PerSource
	PerSource  int          // connections per source address (see CONTRACT.md for why 2,000)
	Connecting int          // connection attempts at once (not yet through the handshake)
	Threads    int          // epoll loops, one locked OS thread each
	Inflight   int          // dealer: requests in flight per connection
	Size       int          // dealer: request size in bytes (>= 8: it carries its send time)
	Warmup     time.Duration
	Window     time.Duration
	Hold       time.Duration // idle: how long to keep the connections after the measurement
	Settle     time.Duration // idle: wait between the last handshake and the second RSS reading
	Pids       []int         // server processes whose VmRSS the idle mode reads
	Timeout    time.Duration // deadline of the whole run
	Impl       string        // the server's implementation, for the RESULT line only
	// Go makes the sub and dealer modes start at once when all are connected; without it they
	// wait for a line on stdin (the runner's signal that the server is sending).
	Go bool
}

// MaxConns is the most connections one swarm process takes; the descriptor cap of this machine
// is 20,000, less what the runtime needs.
const MaxConns = 19950

// Parse reads argv (without the program name): three positional arguments, flags anywhere, as
// --name VALUE, --name=VALUE or with one dash.
func Parse(argv []string) (Args, error) {
	a := Args{
		Source: net.IPv4(127, 0, 0, 2).To4(), PerSource: 2000, Connecting: 64, Threads: 1,
		Inflight: 1, Size: 64, Warmup: time.Second, Window: 3 * time.Second, Settle: time.Second,
		Timeout: 120 * time.Second, Impl: "-",
	}
	var pos []string
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if len(arg) < 2 || arg[0] != '-' {
			pos = append(pos, arg)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "go" {
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return a, fmt.Errorf("%w: --go=%q", ErrUsage, val)
				}
				a.Go = b
			} else {
				a.Go = true
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(argv) {
				return a, fmt.Errorf("%w: --%s needs a value", ErrUsage, name)
			}
			i++
			val = argv[i]
		}
		if err := a.set(name, val); err != nil {
			return a, err
		}
	}
	if len(pos) != 3 {
		return a, fmt.Errorf("%w: want MODE ENDPOINT N, got %q", ErrUsage, pos)
	}
	switch m := Mode(pos[0]); m {
	case ModeIdle, ModeSub, ModeDealer:
		a.Mode = m
	default:
		return a, fmt.Errorf("%w: mode %q is not idle, sub or dealer", ErrUsage, pos[0])
	}
	addr, ok := strings.CutPrefix(pos[1], "tcp://")
	if !ok {
		return a, fmt.Errorf("%w: endpoint %q is not tcp://IP:PORT", ErrUsage, pos[1])
	}
	host, port, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host).To4()
	p, perr := strconv.Atoi(port)
	if err != nil || ip == nil || perr != nil || p < 1 || p > 65535 {
		return a, fmt.Errorf("%w: endpoint %q is not tcp://IPv4:PORT", ErrUsage, pos[1])
	}
	a.Endpoint, a.Server = pos[1], &net.TCPAddr{IP: ip, Port: p}
	n, err := strconv.Atoi(pos[2])
	if err != nil || n < 1 || n > MaxConns {
		return a, fmt.Errorf("%w: N %q is not 1..%d (the descriptor cap: run several swarms)", ErrUsage, pos[2], MaxConns)
	}
	a.N = n
	if a.Mode == ModeDealer && a.Size < 8 {
		return a, fmt.Errorf("%w: --size %d: a dealer's request carries its 8-byte send time", ErrUsage, a.Size)
	}
	if last := sourceOf(a.Source, a.PerSource, a.N-1); last == nil {
		return a, fmt.Errorf("%w: %d connections from %v at %d per address run past x.x.x.255", ErrUsage, a.N, a.Source, a.PerSource)
	}
	return a, nil
}

func (a *Args) set(name, val string) error {
	bad := func() error { return fmt.Errorf("%w: --%s %q", ErrUsage, name, val) }
	count := func(dst *int, lo, hi int) error {
		n, err := strconv.Atoi(val)
		if err != nil || n < lo || n > hi {
			return bad()
		}
		*dst = n
		return nil
	}
	secs := func(dst *time.Duration, lo float64) error {
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || f < lo || f > 1e6 {
			return bad()
		}
		*dst = time.Duration(f * float64(time.Second))
		return nil
	}
	switch name {
	case "source":
		ip := net.ParseIP(val).To4()
		if ip == nil {
			return bad()
		}
		a.Source = ip
		return nil
	case "per-source":
		return count(&a.PerSource, 1, 28000)
	case "connecting":
		return count(&a.Connecting, 1, MaxConns)
	case "threads":
		return count(&a.Threads, 1, 64)
	case "inflight":
		return count(&a.Inflight, 1, 1000)
	case "size":
		return count(&a.Size, 0, 1<<20)
	case "warmup":
		return secs(&a.Warmup, 0)
	case "window":
		if err := secs(&a.Window, 0); err != nil || a.Window == 0 {
			return bad()
		}
		return nil
	case "hold":
		return secs(&a.Hold, 0)
	case "settle":
		return secs(&a.Settle, 0)
	case "timeout":
		if err := secs(&a.Timeout, 0); err != nil || a.Timeout == 0 {
			return bad()
		}
		return nil
	case "pid":
		a.Pids = a.Pids[:0]
		for _, f := range strings.Split(val, ",") {
			p, err := strconv.Atoi(f)
			if err != nil || p < 1 {
				return bad()
			}
			a.Pids = append(a.Pids, p)
		}
		return nil
	case "impl":
		if val == "" || strings.ContainsAny(val, " \t=") {
			return bad()
		}
		a.Impl = val
		return nil
	}
	return fmt.Errorf("%w: unknown flag --%s", ErrUsage, name)
}

// sourceOf is the source address of connection i: first, plus one in the last byte for every
// per connections; nil past x.x.x.255.
func sourceOf(first net.IP, per, i int) net.IP {
	b := int(first[3]) + i/per
	if b > 255 {
		return nil
	}
	return net.IPv4(first[0], first[1], first[2], byte(b)).To4()
}
