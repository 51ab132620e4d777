package procpeer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"
)

// childEnv holds the spec of a Go peer: a test binary started with it set is a peer, not a
// test run (see ServeChild).
const childEnv = "ZLOOP_PROCPEER_SPEC"

// Socket is what the Go peer needs of a socket; *sockets.Socket has these methods. (This
// package cannot import sockets: the sockets tests import it.)
type Socket interface {
	Bind(endpoint string) (string, error)
	Connect(endpoint string) error
	Send(ctx context.Context, frames ...[]byte) error
	Recv(ctx context.Context) ([][]byte, error)
	Subscribe(topic []byte) error
	Close() error
}

// Lib is the library under test as the Go peer sees it.
type Lib struct {
	// New makes a socket of spec.Type with the options the spec asks for: ROUTING_ID when
	// spec.RoutingID is set, ROUTER_MANDATORY when spec.To is set, SNDHWM and RCVHWM 0 when
	// spec.UnlimitedHWM; every other option, LINGER included, keeps its default.
	New func(spec Spec) (Socket, error)
	// Unroutable is what Send of a mandatory ROUTER returns while it does not know the peer.
	Unroutable error
	// Term ends the library like zmq_ctx_term: with the default linger it returns once what
	// the closed sockets still queue has been delivered.
	Term func() error
}

// ServeChild turns this process into a Go peer and exits when Start launched it as one;
// otherwise it returns at once. Call it first thing in TestMain of a test binary whose tests
// Run cases with Zloop peers, from the main goroutine.
func ServeChild(lib Lib) {
	js, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	out := &reporter{w: os.Stdout}
	var spec Spec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		out.report(event{Error: fmt.Sprintf("bad spec: %v", err)})
		os.Exit(2)
	}
	os.Exit(runGo(spec, lib, out))
}

type reporter struct {
	mu sync.Mutex
	w  *os.File
}

// report writes one line at once, unbuffered, so that what the peer said survives a kill.
func (r *reporter) report(e event) {
	line, _ := json.Marshal(e)
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.w.Write(append(line, '\n'))
}

// closeDump is how long a Go peer may spend closing and terminating before it dumps its
// goroutines to stderr: less than the harness waits before it kills a peer that has not exited.
const closeDump = 3 * time.Second

func runGo(spec Spec, lib Lib, out *reporter) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(spec.TimeoutMS)*time.Millisecond)
	defer cancel()
	s, err := lib.New(spec)
	if err != nil {
		out.report(event{Error: err.Error()})
		return 2
	}
	if err := goRole(ctx, s, spec, lib, out); err != nil {
		out.report(event{Error: err.Error()})
		return 1 // no Term: with an infinite linger it could wait for a peer that is not coming
	}
	out.report(event{Closing: true})
	// A peer stuck in Close or Term is killed by the harness (grace after its peer exited);
	// before that, it says where its goroutines are, in the stderr tail the harness reports.
	stuck := time.AfterFunc(closeDump, func() {
		fmt.Fprintf(os.Stderr, "still in close or term after %v; goroutines:\n", closeDump)
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	})
	defer stuck.Stop()
	if err := s.Close(); err != nil {
		out.report(event{Error: fmt.Sprintf("close: %v", err)})
		return 1
	}
	if err := lib.Term(); err != nil {
		out.report(event{Error: fmt.Sprintf("term: %v", err)})
		return 1
	}
	out.report(event{Done: true})
	return 0
}

func goRole(ctx context.Context, s Socket, spec Spec, lib Lib, out *reporter) error {
	if spec.Type == "SUB" {
		if err := s.Subscribe(nil); err != nil {
			return err
		}
	}
	if spec.Bind != "" {
		ep, err := s.Bind(spec.Bind)
		if err != nil {
			return err
		}
		out.report(event{Bound: ep})
	} else if err := s.Connect(spec.Connect); err != nil {
		return err
	}
	if spec.Type == "XSUB" {
		if err := s.Send(ctx, []byte{1}); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	}
	recv := func(what string, i int) ([][]byte, error) {
		m, err := s.Recv(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s %d: %w", what, i, err)
		}
		return m, nil
	}
	msgs := Plan(spec.Count, spec.Multi)
	switch spec.Role {
	case RoleSend:
		for i, m := range msgs {
			if spec.To == "" {
				if err := s.Send(ctx, m...); err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
				continue
			}
			m = slices.Insert(m, 0, []byte(spec.To))
			for {
				err := s.Send(ctx, m...)
				if err == nil {
					break
				}
				// A mandatory ROUTER does not know its peer until the handshake is done.
				if i > 0 || !errors.Is(err, lib.Unroutable) {
					return fmt.Errorf("send %d: %w", i, err)
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("the peer never became routable: %w", err)
				case <-time.After(2 * time.Millisecond):
				}
			}
		}
	case RoleRecv:
		for i := range msgs {
			m, err := recv("message", i)
			if err != nil {
				return err
			}
			out.report(event{Msg: Summaries(m)})
		}
	case RoleRequest:
		var envelope [][]byte
		if spec.Type == "DEALER" {
			envelope = [][]byte{{}}
		}
		for i, m := range msgs {
			if err := s.Send(ctx, append(slices.Clone(envelope), m...)...); err != nil {
				return fmt.Errorf("request %d: %w", i, err)
			}
			rep, err := recv("reply", i)
			if err != nil {
				return err
			}
			if len(rep) < len(envelope) || (envelope != nil && len(rep[0]) != 0) {
				return fmt.Errorf("reply %d has no empty delimiter", i)
			}
			out.report(event{Msg: Summaries(rep[len(envelope):])})
		}
	case RoleReply:
		for i := range msgs {
			req, err := recv("request", i)
			if err != nil {
				return err
			}
			var envelope [][]byte
			if spec.Type == "ROUTER" {
				if len(req) < 2 || len(req[1]) != 0 {
					return fmt.Errorf("request %d has no routing id and delimiter", i)
				}
				envelope, req = req[:2], req[2:]
			}
			out.report(event{Msg: Summaries(req)})
			rep := append(append(slices.Clone(envelope), replyTag), req...)
			if err := s.Send(ctx, rep...); err != nil {
				return fmt.Errorf("reply %d: %w", i, err)
			}
		}
	case RolePub:
		// Probes until the test says the subscriber got one: then the subscription is in place
		// and every counted message must arrive.
		goAhead := make(chan struct{})
		go func() {
			_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
			close(goAhead)
		}()
	probing:
		for {
			if err := s.Send(ctx, probe); err != nil {
				return fmt.Errorf("probe: %w", err)
			}
			select {
			case <-goAhead:
				break probing
			case <-ctx.Done():
				return errors.New("the test never said the subscriber is in place")
			case <-time.After(10 * time.Millisecond):
			}
		}
		if err := sendAll(ctx, s, msgs); err != nil {
			return err
		}
	case RoleXPub:
		sub, err := recv("the subscription", 0)
		if err != nil {
			return err
		}
		if len(sub) != 1 || !bytes.Equal(sub[0], []byte{1}) {
			return fmt.Errorf("expected the subscription to everything, got %q", sub)
		}
		out.report(event{Synced: true})
		if err := sendAll(ctx, s, msgs); err != nil {
			return err
		}
	case RoleSub:
		synced := false
		for i := 0; i < len(msgs); {
			m, err := recv("message", i)
			if err != nil {
				return err
			}
			if i == 0 && len(m) == 1 && bytes.Equal(m[0], probe) { // only before the counted messages
				if !synced {
					out.report(event{Synced: true})
					synced = true
				}
				continue
			}
			out.report(event{Msg: Summaries(m)})
			i++
		}
	default:
		return fmt.Errorf("unknown role %q", spec.Role)
	}
	return nil
}

func sendAll(ctx context.Context, s Socket, msgs [][][]byte) error {
	for i, m := range msgs {
		if err := s.Send(ctx, m...); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
	}
	return nil
}
