package sockets

import (
	"github.com/zloop/zloop/internal/plumb"
	"github.com/zloop/zloop/reactor"
)

// plumbing is what the reactor keeps from users and lends this package (reactor/plumb.go says
// why it is done this way and what it costs).
var plumbing = plumb.Get[*reactor.Pipe, *reactor.Options, *reactor.Config]()

// peerState returns what the socket's pattern keeps for p (a *routerPeer, *pubPeer, ...), nil
// until it stored something. The socket's lock must be held, as for setPeerState.
func peerState(p *reactor.Pipe) any { return *plumbing.PipeData(p) }

// setPeerState stores the pattern's state for p.
func setPeerState(p *reactor.Pipe, v any) { *plumbing.PipeData(p) = v }
