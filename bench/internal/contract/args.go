package contract

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The tools of the contract.
const (
	ToolThr = "thr"
	ToolLat = "lat"
)

// The roles of the contract: thr send|recv, lat req|rep.
const (
	RoleSend = "send"
	RoleRecv = "recv"
	RoleReq  = "req"
	RoleRep  = "rep"
)

// DefaultTimeout is the process deadline when --timeout is not given.
const DefaultTimeout = 60 * time.Second

// MaxSize bounds SIZE so that a typo cannot make the sender allocate without limit.
const MaxSize = 1 << 30

// Args is a parsed command line.
type Args struct {
	Tool     string // ToolThr or ToolLat
	Role     string // RoleSend, RoleRecv, RoleReq or RoleRep
	Bind     bool   // bind (true) or connect (false)
	Endpoint string
	Size     int
	Count    int
	Timeout  time.Duration
	// HWM is --hwm for both SNDHWM and RCVHWM; -1 when not given (the library's default).
	HWM   int
	Check bool // thr only
	// NoWait (thr send, --no-wait, an extension): close after linger alone instead of also
	// waiting for the receiver to hang up; see Socket.WaitPeerGone for why that wait exists.
	NoWait bool
	// Fill (thr send, --fill, an extension): build each message in the library's own buffer
	// (Filler) instead of copying a payload into it.
	Fill   bool
	Warmup int // lat only: round trips left out of the RTT statistics
	// CPUProfile is a file for a CPU profile of the whole run (an extension of the contract).
	CPUProfile string
	// Curve (--curve) runs CURVE (rfc 26) with the contract's fixed keys: the side that binds is
	// the server (CurveServerSecret), the side that connects a client (CurveClientSecret, knowing
	// CurveServerPublic).
	Curve bool
}

// The contract's CURVE keys, in Z85: libzmq's own test keys, public knowledge. --curve measures
// the cost of the encryption, it keeps nothing secret.
const (
	CurveServerPublic = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	CurveServerSecret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
	CurveClientPublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
	CurveClientSecret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
)

// Usage returns the synopsis of tool.
func Usage(tool string) string {
	if tool == ToolLat {
		return "usage: lat req|rep bind|connect ENDPOINT SIZE COUNT [--timeout SEC] [--hwm N] [--warmup N] [--curve] [--cpuprofile FILE]"
	}
	return "usage: thr send|recv bind|connect ENDPOINT SIZE COUNT [--timeout SEC] [--hwm N] [--check] [--no-wait] [--fill] [--curve] [--cpuprofile FILE]"
}

// Parse parses the arguments (without the program name) of tool. Flags may come before, between
// or after the positional arguments, as --name VALUE, --name=VALUE, or with a single dash. Errors
// wrap ErrUsage. On error the returned Args holds whatever was parsed, for the RESULT line.
func Parse(tool string, argv []string) (Args, error) {
	a := Args{Tool: tool, Timeout: DefaultTimeout, HWM: -1, Warmup: -1}
	if tool != ToolThr && tool != ToolLat {
		return a, fmt.Errorf("%w: unknown tool %q", ErrUsage, tool)
	}
	var pos []string
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if len(arg) < 2 || arg[0] != '-' {
			pos = append(pos, arg)
			continue
		}
		name := strings.TrimLeft(arg, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		takeValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(argv) {
				return "", fmt.Errorf("%w: --%s needs a value", ErrUsage, name)
			}
			i++
			return argv[i], nil
		}
		var err error
		switch {
		case name == "check" && tool == ToolThr:
			if hasValue {
				a.Check, err = strconv.ParseBool(value)
				if err != nil {
					return a, fmt.Errorf("%w: --check=%q", ErrUsage, value)
				}
			} else {
				a.Check = true
			}
		case name == "no-wait" && tool == ToolThr && !hasValue:
			a.NoWait = true
		case name == "fill" && tool == ToolThr && !hasValue:
			a.Fill = true
		case name == "curve" && !hasValue:
			a.Curve = true
		case name == "timeout":
			var v string
			if v, err = takeValue(); err != nil {
				return a, err
			}
			sec, perr := strconv.ParseFloat(v, 64)
			if perr != nil || !(sec > 0) || sec > 1e6 {
				return a, fmt.Errorf("%w: --timeout %q is not a positive number of seconds", ErrUsage, v)
			}
			a.Timeout = time.Duration(sec * float64(time.Second))
		case name == "hwm":
			if a.HWM, err = intFlag(name, takeValue); err != nil {
				return a, err
			}
		case name == "warmup" && tool == ToolLat:
			if a.Warmup, err = intFlag(name, takeValue); err != nil {
				return a, err
			}
		case name == "cpuprofile":
			if a.CPUProfile, err = takeValue(); err != nil {
				return a, err
			}
			if a.CPUProfile == "" {
				return a, fmt.Errorf("%w: empty --cpuprofile", ErrUsage)
			}
		default:
			return a, fmt.Errorf("%w: unknown flag %q for %s", ErrUsage, arg, tool)
		}
	}
	if len(pos) > 0 {
		a.Role = pos[0] // for the RESULT line, even when something else is wrong
	}
	if len(pos) != 5 {
		return a, fmt.Errorf("%w: want 5 arguments, got %d", ErrUsage, len(pos))
	}
	switch {
	case tool == ToolThr && (a.Role == RoleSend || a.Role == RoleRecv):
	case tool == ToolLat && (a.Role == RoleReq || a.Role == RoleRep):
	default:
		return a, fmt.Errorf("%w: role %q is not one of %s's", ErrUsage, a.Role, tool)
	}
	switch pos[1] {
	case "bind":
		a.Bind = true
	case "connect":
	default:
		return a, fmt.Errorf("%w: %q is neither bind nor connect", ErrUsage, pos[1])
	}
	a.Endpoint = pos[2]
	if !strings.Contains(a.Endpoint, "://") {
		return a, fmt.Errorf("%w: endpoint %q has no transport", ErrUsage, a.Endpoint)
	}
	var err error
	if a.Size, err = strconv.Atoi(pos[3]); err != nil || a.Size < 0 || a.Size > MaxSize {
		a.Size = 0
		return a, fmt.Errorf("%w: SIZE %q is not in 0..%d", ErrUsage, pos[3], MaxSize)
	}
	if a.Count, err = strconv.Atoi(pos[4]); err != nil || a.Count < 1 {
		a.Count = 0
		return a, fmt.Errorf("%w: COUNT %q is not a positive integer", ErrUsage, pos[4])
	}
	if a.Check && a.Size < 8 {
		return a, fmt.Errorf("%w: --check needs SIZE >= 8 for the sequence number", ErrUsage)
	}
	if tool == ToolLat {
		if a.Warmup < 0 {
			a.Warmup = min(1000, a.Count/20)
		} else if a.Warmup >= a.Count {
			return a, fmt.Errorf("%w: --warmup %d leaves no round trip of %d to measure", ErrUsage, a.Warmup, a.Count)
		}
	} else {
		a.Warmup = 0
	}
	return a, nil
}

func intFlag(name string, take func() (string, error)) (int, error) {
	v, err := take()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: --%s %q is not a non-negative integer", ErrUsage, name, v)
	}
	return n, nil
}
