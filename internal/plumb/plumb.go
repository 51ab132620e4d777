// Package plumb is how package sockets reaches what package reactor keeps from users: the slot a
// pipe holds for the socket layer, the per-pipe options that only socket types set, and the switch
// tests use to run the portable pause. Package reactor fills it in its init; being internal, it is
// out of reach of every importer outside this module, so none of it is part of the API.
//
// plumb cannot name reactor's types (reactor imports it), so Hooks takes them as type parameters
// and Get checks them, once, when its caller's package is initialised.
package plumb

// Hooks are reactor's accessors. P, O and C are *reactor.Pipe, *reactor.Options and
// *reactor.Config. Each may be called from any goroutine the value it is given may be touched on.
type Hooks[P, O, C any] struct {
	// PipeData returns p's slot for the socket layer (routing ids, subscriptions), which reactor
	// never reads; the socket's own lock guards it. It is on the hot path (PUB fan-out reads it
	// per peer per message, ROUTER per message received): the cost is one indirect call.
	PipeData func(p P) *any
	// Raw makes the pipes created with o carry bytes with no ZMTP at all (libzmq's STREAM): the
	// pipe is attached as soon as the connection is up, every chunk read becomes a one-frame
	// message, and every frame sent is written as it is.
	Raw func(o O)
	// Headroom sets n bytes aside in front of every message the pipes created with o receive, for
	// the envelope frames the socket puts there (a ROUTER's routing id), so that adding them does
	// not move the body (pool.Msg.PushFront).
	Headroom func(o O, n int)
	// PortablePause makes a reactor created with c detach a connection whose reader is full from
	// gnet (its descriptor duplicated, re-enrolled once the reader made room) instead of muting
	// it in the loop's poller. The reactor falls back to that by itself wherever muting is
	// unavailable; this lets tests run that path anywhere.
	PortablePause func(c C)
}

var hooks any

// Set is called by reactor's init, before any package that imports reactor is initialised.
func Set[P, O, C any](h Hooks[P, O, C]) { hooks = h }

// Get returns the hooks reactor set. It panics unless P, O and C are reactor's types, which a
// package-level variable of the caller turns into a failure of every test of the package.
func Get[P, O, C any]() Hooks[P, O, C] { return hooks.(Hooks[P, O, C]) }
