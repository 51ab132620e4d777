// Package pool provides pooled message buffers for zloop's zero-allocation data path.
//
// A [Msg] is a multipart ZeroMQ message whose frame bodies live, concatenated, in one
// pooled buffer; the Msg structs themselves are recycled through a [sync.Pool]. Once warm,
// the receive path (NewMsg, AddFrame or ReserveFrame and Extend per frame, Release) and the
// send path (NewMsg, AppendFrame, Release) allocate nothing, for large bodies too.
// [Buffer] is a pooled scratch byte slice under the same rules.
//
// # Size classes
//
// Buffers come in size classes, each pooled on its own: powers of two from 64 bytes to
// 256 KiB, then four classes per doubling up to 64 MiB. A body of 1 MiB is recycled as a
// 1 MiB body, and a large body grows straight to its class instead of through a ladder of
// copies. A body larger than 64 MiB is allocated at exactly its size, once, and left to the
// garbage collector on release. A class keeps what was released since the collector's last
// two cycles, as a [sync.Pool] does: a steady stream reuses the same buffers, and what a
// burst left behind goes back to the runtime once the burst is over.
//
// A receiver that knows a frame's size ([Msg.ReserveFrame], once the size is checked against
// a limit) has the body allocated once at its final size, and may read the bytes straight
// into [Msg.Spare]; [Msg.Extend] then takes them in place.
//
// # Lifetime policy
//
// A Msg (or Buffer) has exactly one owner at a time. NewMsg and GetBuffer make the caller
// the owner; handing the value to another API (for example a socket's Send) transfers
// ownership; Release gives it back to the pool, after which the former owner must not
// touch it or any slice obtained from it. The methods of one Msg are not safe for
// concurrent use: the owner serialises its own calls.
//
// A slice returned by [Msg.Frame], [Msg.Frames], [Msg.PopFront] or [Msg.Spare] is a view into
// the Msg's buffer: it is valid until the Msg is released or mutated (AppendFrame, AppendFrames,
// AddFrame, ReserveFrame, Grow, Extend, PushFront, PopFront, ReserveFront, Reset), because
// growing the buffer may move it and Release recycles it. [Msg.Copy] returns independent
// copies that stay valid for ever.
//
// Envelope frames (routing ids, the empty delimiter) are added and removed at the front in
// place: [Msg.PushFront] writes into room before the frames ([Msg.ReserveFront], or frames
// popped earlier) and [Msg.PopFront] only moves an offset, so a body is not copied to wrap it.
// [Msg.Share] gives a second Msg that reads the same body (for fan-out to many peers); each is
// owned and released on its own, the body is recycled with the last, and a mutation gives the
// changed one a private copy first.
//
// Misuse is caught as follows:
//
//   - Releasing twice always panics with an error wrapping [ErrDoubleRelease]. The check
//     is one atomic compare-and-swap, so it stays on in production builds.
//   - Every other method of a released Msg panics with an error wrapping
//     [ErrUseAfterRelease]. Without checking, a released Msg may already have been handed
//     to a new owner by the pool, so a stale call can go unnoticed; with checking on it is
//     always caught (see below).
//   - With checking on, Release fills the buffer with 0xDB ([PoisonByte]) so that a view
//     kept past Release reads visibly wrong bytes, and neither the Msg nor its bytes are
//     recycled, which makes every stale use deterministic.
//
// Checking is on in binaries built with the race detector (go test -race) and after
// SetDebug(true). It costs allocations, so the zero-allocation guarantee holds only
// with checking off.
package pool
