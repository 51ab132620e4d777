package procpeer

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pair is two socket types: A sends the plan (as messages, requests or publications) to B.
type Pair struct{ A, B string }

// Pairs are the compatible pairs of rfc 28-31, each in the direction its messages go; PAIR
// and DEALER pairs, which are symmetric, go one way (either implementation plays either
// side, so both ways are covered).
var Pairs = []Pair{
	{"PUSH", "PULL"}, {"PAIR", "PAIR"},
	{"REQ", "REP"}, {"DEALER", "ROUTER"}, {"ROUTER", "DEALER"}, {"DEALER", "DEALER"},
	{"REQ", "ROUTER"}, {"DEALER", "REP"},
	{"PUB", "SUB"}, {"PUB", "XSUB"}, {"XPUB", "SUB"}, {"XPUB", "XSUB"},
}

// Transports are the transports a Case may use.
var Transports = []string{"tcp", "ipc", "ws"}

// Size is a plan's size (see Plan) and its name in subtest names.
type Size struct {
	Name         string
	Count, Multi int // single-frame and multipart messages
}

// The plans. Bulk is many small single-frame messages, then multipart ones; it fits in the
// default SNDHWM (1000), so a connecting sender never waits for its peer: it queues
// everything, closes and terminates while the connection may still be on its way up, as a
// command-line tool does. Few is the tool that sends a handful: it closes long before a
// handshake can finish. (A binding sender waits for its peer to connect in any case.)
// A request-reply case makes a round trip per message, so its bulk is RoundTrips.
var (
	Bulk       = Size{"bulk", 900, 21}
	Few        = Size{"few", 3, 2}
	RoundTrips = Size{"bulk", 300, 21}
)

// Case is one cell of the matrix.
type Case struct {
	Pair
	ImplA, ImplB Impl
	ABinds       bool   // A binds and B connects, else the other way round
	Transport    string // tcp, ipc or ws
	Size
}

// Name is the case's subtest path (any goroutine may call it): "PUSH-PULL/zloop-libzmq/sender-binds/tcp/bulk", where
// zloop plays PUSH (the sender, A) and libzmq PULL, the PUSH binds, and the plan is Bulk.
func (c Case) Name() string {
	binds := "receiver-binds"
	if c.ABinds {
		binds = "sender-binds"
	}
	return fmt.Sprintf("%s-%s/%s-%s/%s/%s/%s", c.A, c.B, c.ImplA, c.ImplB, binds, c.Transport, c.Size.Name)
}

// Cases returns the matrix (any goroutine may call it): every pair of Pairs, with A and B on each of the given
// implementation pairs, either side binding, over every transport, with plans Bulk and Few
// (RoundTrips for request-reply).
func Cases(impls ...[2]Impl) []Case {
	var cs []Case
	for _, p := range Pairs {
		sizes := []Size{Bulk, Few}
		if p.A == "REQ" || p.B == "REP" {
			sizes = []Size{RoundTrips}
		}
		for _, im := range impls {
			for _, aBinds := range []bool{true, false} {
				for _, tr := range Transports {
					for _, sz := range sizes {
						cs = append(cs, Case{Pair: p, ImplA: im[0], ImplB: im[1], ABinds: aBinds, Transport: tr, Size: sz})
					}
				}
			}
		}
	}
	return cs
}

const (
	// peerTimeout is when a peer gives up on its own (a dead test binary cannot kill it).
	peerTimeout = 90 * time.Second
	// caseTimeout is when Run kills what is still running.
	caseTimeout = 75 * time.Second
	// startTimeout covers an interpreter or test binary starting up on a loaded machine.
	startTimeout = 20 * time.Second
	// syncTimeout bounds the wait for a subscriber's first probe.
	syncTimeout = 10 * time.Second
	// grace is how long one peer may still run after the other has exited. A sender that
	// exited has terminated its context, so everything it sent is on the wire; a receiver
	// needs moments, not seconds, to take it.
	grace = 5 * time.Second
)

// specs returns the jobs of A and B.
func (c Case) specs() (a, b Spec) {
	a = Spec{Type: c.A, Count: c.Count, Multi: c.Multi, TimeoutMS: int(peerTimeout / time.Millisecond)}
	b = a
	b.Type = c.B
	switch {
	case c.A == "REQ" || c.B == "REP":
		a.Role, b.Role = RoleRequest, RoleReply
	case c.A == "PUB" || c.A == "XPUB":
		a.Role, b.Role = RolePub, RoleSub
		if c.A == "XPUB" {
			a.Role = RoleXPub
		}
		// A publisher drops what finds its subscriber at HWM, by design: only without a
		// limit on both sides must every message arrive.
		a.UnlimitedHWM, b.UnlimitedHWM = true, true
	default:
		a.Role, b.Role = RoleSend, RoleRecv
	}
	if c.A == "DEALER" && c.B == "ROUTER" {
		a.RoutingID = "dealer-A"
	}
	if c.A == "ROUTER" {
		b.RoutingID = "dealer-B"
		a.To = b.RoutingID
	}
	return a, b
}

// want returns what A and B must report: each message received, in order, once.
func (c Case) want(a, b Spec) (wantA, wantB [][]string) {
	for _, m := range Plan(c.Count, c.Multi) {
		s := Summaries(m)
		switch {
		case a.Role == RoleRequest:
			wantA = append(wantA, append([]string{Summary(replyTag)}, s...))
			wantB = append(wantB, s)
		case a.RoutingID != "" && c.B == "ROUTER":
			wantB = append(wantB, append([]string{Summary([]byte(a.RoutingID))}, s...))
		default:
			wantB = append(wantB, s)
		}
	}
	return wantA, wantB
}

func (c Case) bindEndpoint(t *testing.T) string {
	switch c.Transport {
	case "tcp":
		return "tcp://127.0.0.1:*"
	case "ws":
		return "ws://127.0.0.1:*/zmq"
	case "ipc":
		// Not t.TempDir: a socket path must stay under 108 bytes, and subtest names are long.
		dir, err := os.MkdirTemp("", "pp")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		return "ipc://" + dir + "/s.sock"
	}
	t.Fatalf("procpeer: unknown transport %q", c.Transport)
	return ""
}

// Run runs one case: the binding peer first, the connecting one once the endpoint is known;
// for PUB, the go-ahead once the subscriber got a probe; then it waits for both to exit and
// checks that each exited cleanly after terminating its context, and that every message
// arrived exactly once, in order. Call it from the test's goroutine.
func Run(t *testing.T, c Case) {
	t.Helper()
	if c.ImplA == Libzmq || c.ImplB == Libzmq {
		requirePython(t)
	}
	deadline := time.Now().Add(caseTimeout)
	a, b := c.specs()
	bindImpl, bindSpec, connImpl, connSpec := c.ImplA, a, c.ImplB, b
	if !c.ABinds {
		bindImpl, bindSpec, connImpl, connSpec = c.ImplB, b, c.ImplA, a
	}
	bindSpec.Bind = c.bindEndpoint(t)
	binder := start(t, bindImpl, bindSpec)
	var ep string
	if !binder.waitUntil(time.Now().Add(startTimeout), func() bool { ep = binder.bound; return ep != "" }) {
		binder.kill("at the start timeout")
		<-binder.exited
		t.Fatalf("%s did not bind %s: %s", binder.name, bindSpec.Bind, binder.status())
	}
	connSpec.Connect = ep
	conn := start(t, connImpl, connSpec)
	pa, pb := binder, conn
	if !c.ABinds {
		pa, pb = conn, binder
	}
	pa.name += " (sender)"
	pb.name += " (receiver)"
	stop := func(why string) {
		for _, p := range []*proc{pa, pb} {
			p.kill(why)
			<-p.exited
			<-p.readerDone
		}
	}

	switch a.Role {
	case RoleXPub:
		if !pa.waitUntil(time.Now().Add(syncTimeout), func() bool { return pa.synced }) {
			stop("at the sync timeout")
			t.Fatalf("the publisher never received the subscription within %v\n%s: %s\n%s: %s", syncTimeout,
				pa.name, pa.status(), pb.name, pb.status())
		}
	case RolePub:
		if !pb.waitUntil(time.Now().Add(syncTimeout), func() bool { return pb.synced }) {
			stop("at the sync timeout")
			t.Fatalf("the subscriber never received a probe within %v\n%s: %s\n%s: %s", syncTimeout,
				pa.name, pa.status(), pb.name, pb.status())
		}
		if _, err := pa.stdin.WriteString("go\n"); err != nil {
			stop("after a failed go-ahead")
			t.Fatalf("%s: go-ahead: %v; %s", pa.name, err, pa.status())
		}
	}

	// Once one peer has exited the other has grace to finish; whatever still runs at the
	// end is killed, and says so in its status.
	waitExit := func(until time.Time, chans ...<-chan struct{}) {
		timer := time.NewTimer(time.Until(until))
		defer timer.Stop()
		for _, ch := range chans {
			select {
			case <-ch:
			case <-timer.C:
				return
			}
		}
	}
	first := make(chan struct{})
	go func() {
		defer close(first)
		select {
		case <-pa.exited:
		case <-pb.exited:
		}
	}()
	waitExit(deadline, first)
	why := fmt.Sprintf("%v after the other peer exited", grace)
	until := time.Now().Add(grace)
	if deadline.Before(until) {
		why, until = "at the case timeout", deadline
	}
	waitExit(until, pa.exited, pb.exited)
	stop(why)

	// On any failure both peers are described: what the other one did explains most losses.
	wantA, wantB := c.want(a, b)
	var report []string
	failed := false
	for _, x := range []struct {
		p    *proc
		want [][]string
	}{{pa, wantA}, {pb, wantB}} {
		p := x.p
		p.mu.Lock()
		clean := p.done && p.waitErr == nil && len(p.errs) == 0
		got := p.msgs
		p.mu.Unlock()
		var problems []string
		if !clean {
			problems = append(problems, "did not exit cleanly after close and term")
		}
		if d := diff(got, x.want); d != "" {
			problems = append(problems, d)
		}
		line := p.name + ": "
		if problems != nil {
			failed = true
			line += strings.Join(problems, "; ") + "\n\t\t"
		}
		report = append(report, line+"("+p.status()+")")
	}
	if failed {
		t.Error(strings.Join(report, "\n\t"))
	}
}

// diff describes how got differs from want, "" when it does not: the first difference,
// and which messages are missing or extra.
func diff(got, want [][]string) string {
	if len(got) == len(want) && slices.EqualFunc(got, want, slices.Equal) {
		return ""
	}
	key := func(m []string) string { return strings.Join(m, "\x00") }
	index := make(map[string]int, len(want))
	for i, m := range want {
		index[key(m)] = i
	}
	seen := make(map[int]int)
	extra := 0
	for _, m := range got {
		if i, ok := index[key(m)]; ok {
			seen[i]++
		} else {
			extra++
		}
	}
	var missing []int
	dups := 0
	for i := range want {
		switch n := seen[i]; {
		case n == 0:
			missing = append(missing, i)
		case n > 1:
			dups += n - 1
		}
	}
	s := fmt.Sprintf("received %d messages, want %d", len(got), len(want))
	if len(missing) > 0 {
		s += fmt.Sprintf("; missing %d: %s", len(missing), ranges(missing))
	}
	if dups > 0 {
		s += fmt.Sprintf("; %d duplicates", dups)
	}
	if extra > 0 {
		s += fmt.Sprintf("; %d not sent", extra)
	}
	for i := range min(len(got), len(want)) {
		if !slices.Equal(got[i], want[i]) {
			s += fmt.Sprintf("; message #%d is %s, want %s", i, clip(got[i]), clip(want[i]))
			break
		}
	}
	return s
}

// ranges writes sorted indexes as "#3, #7-#999".
func ranges(ix []int) string {
	var parts []string
	for i := 0; i < len(ix); {
		j := i
		for j+1 < len(ix) && ix[j+1] == ix[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprintf("#%d", ix[i]))
		} else {
			parts = append(parts, fmt.Sprintf("#%d-#%d", ix[i], ix[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func clip(m []string) string {
	s := msgString(m)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// Group is a named set of cases: a sub-matrix.
type Group struct {
	Name  string
	Cases []Case
}

// RunAll runs the cases of every group as subtests named group/Name(), at most parallel at
// a time, whatever -test.parallel says: a case spends most of its time waiting for its
// processes, so more run at once than there are cores. Call it from the test's goroutine.
func RunAll(t *testing.T, parallel int, groups ...Group) {
	root := &node{}
	for _, g := range groups {
		for _, c := range g.Cases {
			root.add(strings.Split(g.Name+"/"+c.Name(), "/"), c)
		}
	}
	root.run(t, make(chan struct{}, parallel))
}

// node is a level of subtests; t.Run is called from a goroutine per child (which testing
// allows), and only a running case holds a slot of sem.
type node struct {
	name string
	c    *Case
	kids []*node
}

func (n *node) add(path []string, c Case) {
	if len(path) == 0 {
		n.c = &c
		return
	}
	i := slices.IndexFunc(n.kids, func(k *node) bool { return k.name == path[0] })
	if i < 0 {
		n.kids = append(n.kids, &node{name: path[0]})
		i = len(n.kids) - 1
	}
	n.kids[i].add(path[1:], c)
}

func (n *node) run(t *testing.T, sem chan struct{}) {
	var wg sync.WaitGroup
	for _, k := range n.kids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if k.c != nil {
				sem <- struct{}{}
				defer func() { <-sem }()
				t.Run(k.name, func(t *testing.T) { Run(t, *k.c) })
				return
			}
			t.Run(k.name, func(t *testing.T) { k.run(t, sem) })
		}()
	}
	wg.Wait()
}
