package reactor

import "github.com/zloop/zloop/internal/plumb"

// Package sockets needs a few things users must not touch: a slot in every pipe for its per-peer
// state, the options only socket types set, and the switch its tests use to run the portable
// pause. They are unexported here and lent to it through internal/plumb, which nothing outside
// the module can import.
//
// The pipe's slot is read per peer per message (PUB fan-out, ROUTER receive), so its cost was
// weighed against the alternatives: a field of an internal type would still be reachable, and
// writable, by users (internal restricts imports, not values); per-pipe state in maps of the
// socket costs a map lookup per peer per message; an offset for unsafe pointer arithmetic is
// free but unsafe. The accessor costs one indirect call, about 2 ns, which the fan-out and
// ROUTER benchmarks do not show.
func init() {
	plumb.Set(plumb.Hooks[*Pipe, *Options, *Config]{
		PipeData:      func(p *Pipe) *any { return &p.data },
		Raw:           func(o *Options) { o.raw = true },
		Headroom:      func(o *Options, n int) { o.headroom = n },
		PortablePause: func(c *Config) { c.portablePause = true },
	})
}
