// Package pool provides pooled message buffers for zloop's zero-allocation data path.
//
// A [Msg] is a multipart ZeroMQ message whose frame bodies live, concatenated, in one
// buffer taken from a [bytebufferpool.Pool]; the Msg structs themselves are recycled
// through a [sync.Pool]. Once warm, the receive path (NewMsg, AddFrame/Extend per frame,
// Release) and the send path (NewMsg, AppendFrame, Release) allocate nothing.
// [Buffer] is a pooled scratch byte slice under the same rules.
//
// # Lifetime policy
//
// A Msg (or Buffer) has exactly one owner at a time. NewMsg and GetBuffer make the caller
// the owner; handing the value to another API (for example a socket's Send) transfers
// ownership; Release gives it back to the pool, after which the former owner must not
// touch it or any slice obtained from it. The methods of one Msg are not safe for
// concurrent use: the owner serialises its own calls.
//
// A slice returned by [Msg.Frame], [Msg.Frames] or [Msg.PopFront] is a view into the Msg's
// buffer: it is valid until the Msg is released or mutated (AppendFrame, AppendFrames,
// AddFrame, Extend, PushFront, PopFront, ReserveFront, Reset), because growing the buffer may
// move it and Release recycles it. [Msg.Copy] returns independent copies that stay valid for
// ever.
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
