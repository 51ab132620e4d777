// Package codec is the ZMTP 3.x wire codec: frames, the 64-byte greeting
// (whole, or as rfc 23's head and rest, so that 1.0 and 2.0 peers show
// themselves), command bodies (READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL)
// and READY metadata, as pure functions on byte slices. It does no I/O, keeps no state
// and imports only the standard library, so every byte of the protocol can be
// tested and fuzzed without a socket.
//
// # The Parse/Append contract
//
// Encoders have the form Append...(dst []byte, ...) []byte: they append the
// encoding to dst and return the extended slice, exactly like
// strconv.AppendInt. They never allocate when dst has enough spare capacity,
// so a caller can encode a whole batch into one reusable scratch buffer.
//
// Stream parsers have the form Parse...(b []byte) (v, n, err): they decode one
// item from the front of b and report how many bytes it took. They never
// consume input on error. ErrShort means "b is a valid prefix but too short to
// decide; call again with more bytes" and is returned as the bare sentinel,
// never inside a *ProtocolError. Any other error is final: the input can never
// become valid, however many bytes follow, and the connection should be
// closed. Parsers reject as early as possible (a bad flags byte after one
// byte, an oversized frame from its size field) so that a hostile peer cannot
// make the caller buffer or allocate for input that is already known to be bad.
//
// Body parsers (ParseCommand, ParseError, ParsePing, ParseMetadata, and CURVE's
// ParseCurveHello, ParseCurveWelcome, ParseCurveInitiate, ParseCurveReady,
// ParseCurveMessage, which check exact sizes and never open a box) take a
// complete frame body, so a truncated body is a protocol error, not ErrShort.
//
// Z85 (rfc 32, AppendZ85 and AppendZ85Decode) is the text form of CURVE keys;
// it is not a wire format.
//
// # Slice aliasing
//
// Slices returned by parsers (Command.Name, Command.Data, a PING context, an
// ERROR reason, metadata names and values) alias the input and are valid
// exactly as long as the input is: when the input is a gnet Peek buffer, only
// until Discard or the end of the current OnTraffic call. Copy what you keep.
// Returned slices are capped at their own length, so appending to one never
// overwrites the bytes that follow it in the input.
//
// # Concurrency
//
// Every function is safe to call from any goroutine, concurrently, as long as
// no goroutine writes to a buffer another one is reading.
package codec
