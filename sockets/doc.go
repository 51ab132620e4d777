// Package sockets is zloop's user API: the ZeroMQ socket types (PAIR, PUB, SUB, REQ, REP, DEALER,
// ROUTER, PULL, PUSH, XPUB, XSUB, STREAM) with libzmq's names, options and defaults, plus Poller,
// Proxy and the socket monitor. Each type is a pattern composed from shared strategies
// (load-balance, fair-queue, fan-out, routing table, subscription trie) over the reactor's pipes,
// one pipe per peer. ARCHITECTURE.md at the root of the repository describes the data path.
//
// # Goroutines and ownership
//
// Unlike libzmq's, a Socket is safe for concurrent use: every method may be called from any
// goroutine, and every blocking call takes a context. Each socket has one mutex; the pattern, its
// strategies, the socket's pipe set and each pipe's state (peerState) are touched only under it. The
// reactor calls the socket (as its reactor.Owner) from event loops, dialer and listener goroutines
// with that mutex free, and the socket takes it for the call; so pattern code runs on loops too,
// and must never block. A Send may write a message to the kernel from the calling goroutine when
// its peer's connection is idle (see package reactor), still under the socket's mutex.
//
// # Handlers on the loops: Serve
//
// Serve binds a ROUTER endpoint without a Socket: a Handler runs on the event loop that read each
// message and replies into that loop's write batch (Call.Reply, Call.Echo), with no goroutine
// hand-off and no socket mutex. A Call and what it returns are valid only during the handler; the
// message outlives it through Call.Take, and the peer through a PeerRef (Call.Peer, Server.Peer),
// which any goroutine may use later: the way to reply after slow work, or to forward to another
// peer. Server.Publish sends to every peer. On the wire nothing changes: DEALER and REQ peers see a
// ROUTER.
//
// # Locks
//
// The order is the socket's mutex, then a pipe's lock, then the connection's write lock, which a
// sender only TryLocks: the event loop takes them the other way round when a failed write closes a
// connection inside gnet (package reactor explains it), so a blocking Lock there could deadlock. A
// socket's mutex is never held while another socket's is taken: inproc peers are told of
// readiness through a loop, and Proxy moves messages between sockets one call at a time.
//
// # Messages
//
// Send copies its frames; Recv returns frames the caller owns. SendMsg hands a pool.Msg to the
// socket (it belongs to the socket on success, still to the caller on error); RecvMsg hands one
// to the caller, whose frames stay valid until Release. A released message must not be touched:
// under the race detector, or with pool.SetDebug(true), a use after release panics. A received
// message answers zmq_msg_gets through its Gets method (User-Id, Peer-Address, Socket-Type,
// Routing-Id, the peer's X- properties); SendMsg clears that, as libzmq does.
//
// # Authentication
//
// ZAP (rfc 27) decides who may connect, as with libzmq: a Go function for the reactor
// (SetZAPHandler) or one socket (WithZAPHandler, WithPlainServer), or a REP or ROUTER socket bound at
// ZAPEndpoint that serves the rfc 27 requests itself. ZAP_DOMAIN and ZAP_ENFORCE_DOMAIN are
// WithZAPDomain and WithZAPEnforceDomain.
//
// # Closing
//
// Close returns at once, like zmq_close; what was queued is delivered in the background for up
// to Linger (by default without limit), and a Connect whose peer is not up yet keeps connecting
// for it. The reactor's Shutdown (reactor.Reactor.Shutdown, reactor.ShutdownDefault) terminates
// every socket still open on it, so that blocked and later calls return ErrTerminated, waits for
// the lingering, and bounds that wait with its context.
package sockets
