package zmtp

import (
	"errors"
	"testing"
)

// Each mechanism's policy, as libzmq's mechanisms decide: when it asks ZAP at all, and what having
// no handler means. CURVE's row is what a CURVE server mechanism gets by calling ask with zapCurve.
func TestZAPPolicies(t *testing.T) {
	for _, c := range []struct {
		p               zapPolicy
		domain          string
		enforce         bool
		asks, noHandler bool // no handler: admitted?
	}{
		{zapNull, "", false, false, true},
		{zapNull, "", true, false, true},
		{zapNull, "d", false, true, true},
		{zapNull, "d", true, true, false},
		{zapPlain, "", false, true, false},
		{zapPlain, "d", false, true, false},
		{zapPlain, "d", true, true, false},
		{zapCurve, "", false, true, true},  // Stonehouse: encryption without authentication
		{zapCurve, "", true, false, true},  // enforced without a domain: no ZAP at all
		{zapCurve, "d", false, true, true}, // libzmq's "legacy mode": a domain but no handler
		{zapCurve, "d", true, true, false},
	} {
		a := &authorizer{domain: c.domain, enforce: c.enforce}
		w := &wire{}
		ran := false
		then := func(w *wire, out []byte) ([]byte, error) { ran = true; return out, nil }
		out, err := a.ask(w, c.p, "X", [][]byte{[]byte("key")}, nil, then)
		if err != nil || len(out) != 0 {
			t.Fatalf("%+v: ask: %v, %q", c, err, out)
		}
		if (a.pending != nil) != c.asks || ran == c.asks {
			t.Fatalf("%+v: asked %v, went on %v", c, a.pending != nil, ran)
		}
		if !c.asks {
			continue
		}
		if string(a.pending.Credentials[0]) != "key" || a.pending.Domain != c.domain {
			t.Fatalf("%+v: request %+v", c, a.pending)
		}
		_, err = a.answer(w, nil, nil)
		if c.noHandler != (err == nil && ran) || (!c.noHandler && !errors.Is(err, ErrNoZAPHandler)) {
			t.Fatalf("%+v: no handler: %v, went on %v", c, err, ran)
		}
	}
}
