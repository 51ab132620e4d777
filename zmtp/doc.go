// Package zmtp is the I/O-free ZMTP 3.1 connection session (rfc.zeromq.org spec 37, with 3.0
// peers accepted). A Session is fed the bytes that arrived and the current time; it tells its
// caller what to write and hands what it decoded to a Handler. It never touches a socket, so
// everything protocol-shaped is testable and fuzzable in memory. The reactor drives one Session
// per connection from the event loop that owns the connection.
//
// # Life cycle
//
//  1. NewSession(cfg) when the connection opens (dialled or accepted).
//  2. Start(now, out) appends the signature that begins our greeting: write it at once, never wait
//     for the peer's.
//  3. Read(in, now, out, h) every time bytes arrive. It appends our major version once the peer's
//     signature is in (with Config.Accepted, only with the rest) and the rest of our greeting once
//     the peer's major version shows ZMTP 3.0 or later; a 1.0 or 2.0 peer fails the session with a
//     *codec.VersionError (see Start for why in steps). Once the peer's whole greeting is in, the
//     session appends our READY (libzmq drops a peer that sends READY before it has seen the
//     greeting). When the peer's READY arrives and its Socket-Type passes Config.Compatible,
//     the handshake is complete and h.Ready runs; an incompatible peer gets an ERROR command and
//     Read fails with ErrIncompatible.
//  4. After the handshake, message frames are announced with h.Frame and their bodies streamed
//     with h.FrameData; PINGs are answered with PONGs appended to out; SUBSCRIBE, CANCEL and
//     unknown commands go to h.Command.
//  5. Tick(now, out) at NextDeadline runs the handshake timeout and the heartbeats (our PINGs,
//     their timeout, the TTL the peer announced).
//  6. The first error from Read or Tick ends the session: write what out holds (it may end with
//     an ERROR command), then close the connection. Later calls return the same error.
//
// # Reading contract
//
// Read returns n, the number of bytes consumed. The caller discards exactly n bytes and keeps
// the rest, which it offers again, followed by newly arrived bytes, on the next Read: partial
// greetings, frame headers and commands are never copied by the session, they simply stay in the
// caller's buffer. Message bodies are not buffered either: they are passed to h.FrameData piece by
// piece as they arrive. Flow control: when h.Frame returns false for the first frame of a
// message, Read stops in front of that frame, and a later Read with the same bytes resumes there.
//
// Every frame header is checked against Config.MaxMsgSize (running total of the message),
// Config.MaxFrames and Config.MaxCommandSize before any Handler call that would make the caller
// allocate, so a peer cannot make the receiver buffer more than the limits allow, even with a
// multipart message that never ends.
//
// # Buffers and goroutines
//
// A Session is used by one goroutine at a time (the connection's event loop). Slices handed to a
// Handler alias Read's input and are valid only during the call. Read, Tick and Start only append
// to the out slice they are given and keep no reference to it or to the input.
//
// # Security mechanisms
//
// NULL, PLAIN (Config.Plain) and CURVE (Config.Curve, rfc 26 with golang.org/x/crypto's nacl/box)
// are implemented. The handshake after the greetings sits behind an unexported mechanism interface
// (an I/O-free state machine fed one command at a time). After a CURVE handshake every frame is a
// MESSAGE command: the session opens what arrives and boxes what it sends itself, and the
// transport boxes its messages with Session.Sealer. A peer announcing a mechanism other than ours
// fails with ErrMechanismMismatch (NULL, PLAIN, CURVE) or ErrUnsupportedMechanism.
//
// # ZAP
//
// A server mechanism that needs a decision about its client (NULL with a ZAPDomain, PLAIN, CURVE)
// asks ZAP (rfc 27) through one step shared by all of them: the session produces a ZAPRequest
// (AuthRequest), consumes no input until the owner answers with Authorized, and then goes on, or
// refuses the client, as libzmq's zap_client does (status 200, 300, 400, 500). Config.Authorize
// can answer at once instead. The codec of the handler socket's frames is ParseZAPRequest,
// ParseZAPReply and the AppendFrames methods.
package zmtp
