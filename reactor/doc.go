// Package reactor runs zloop's connections on gnet v2 event loops: the counterpart of a libzmq
// context with its I/O threads, sessions and engines. A Reactor owns the loops; Listen and Connect
// give a socket Pipes (one per peer, each a bounded queue in either direction) whose connections
// live on the loops; an Owner (the socket) hears what happens to them. The package knows
// connections and queues, not socket types: those are package sockets. ARCHITECTURE.md at the root
// of the repository describes the data path, the pause mechanisms and the gnet facts in detail.
//
// # Goroutines and ownership
//
//   - Each gnet loop owns the connections enrolled on it. A connection stays on one loop for life,
//     and its session, pause state and the message being received are touched only there, so they
//     need no lock. Other goroutines reach it through its pipe (under the pipe's lock), through the
//     loop's waker (a byte on a per-loop socketpair that makes the loop run posted tasks) or through
//     EventLoop.Execute.
//   - A Dialer runs a goroutine per Connect (dial, ws upgrade, enroll, redial with backoff); a
//     Listener runs one per Listen (accept, enroll). A paused connection that was detached from gnet
//     comes back through a short-lived goroutine, since enrolling blocks until OnOpen ran.
//   - Owner callbacks run on a loop, on a dialer or listener goroutine, or on the goroutine that
//     called Listen, Connect or Close (see Owner); never with a pipe's lock held. They must return
//     quickly.
//   - Pipe methods are safe for any goroutine. TrySend on an idle connection may write the message
//     to the kernel from the calling goroutine (a direct write) instead of waking the loop.
//   - Reactor.Shutdown runs on the caller's goroutine, never on a loop.
//
// # Locks
//
// A sender nests the socket's lock (the Owner's), then the pipe's, then the connection's write
// lock, in that order; every write to a connection's descriptor, the loop's and the senders',
// holds the write lock. A sender only TryLocks it, and that is what prevents a deadlock: the loop
// holds the write lock around each gnet Write, and when the kernel fails the write gnet closes the
// connection inside the call, so OnClose runs under the write lock, detaches the pipe (its lock)
// and tells the Owner (the socket's lock): the opposite order. A sender that finds the write lock
// taken queues the message for the loop instead. The sender holds the pipe's lock during a direct
// write because that keeps order: the loop takes queued messages (and withdraws direct writes)
// under the same lock. The loop never takes the write lock while holding a pipe's or an Owner's
// lock, and inproc readiness reaches the Owner through a loop so that no goroutine holds two
// sockets' locks.
//
// # Buffers
//
// Slices gnet hands to a callback are valid only during it (the loop's read buffer is shared by
// its connections); whatever the session decodes from them (a command passed to
// Owner.PipeCommand, for one) is valid only during the call. The loop's 32 KiB output batch is
// reused as soon as gnet's Write returns. A message given to TrySend belongs to the pipe, which
// releases it once written; a message from TryRecv belongs to the caller until it releases it.
package reactor
