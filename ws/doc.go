// Package ws implements ZWS 2.0 (rfc.zeromq.org spec 45): ZMTP frames carried in RFC 6455
// WebSocket messages, and the HTTP upgrade that opens such a connection.
//
// The package is I/O-free except for ClientHandshake: ParseHeader, the Append functions,
// Decoder and Accept work on byte slices, so a gnet event loop can drive them from
// OnTraffic without a goroutine per connection.
//
// Wire facts (checked against libzmq 4.3's ws_engine, ws_decoder and ws_encoder):
//   - The subprotocol (ZWS2.0/NULL, ZWS2.0/PLAIN, ZWS2.0/CURVE or the bare ZWS2.0) is
//     mandatory and replaces the ZMTP greeting: no greeting is sent inside the WebSocket.
//     With the bare ZWS2.0 libzmq runs no security handshake at all (no READY): the
//     first message is the routing id. ZWS2.0/NULL runs the usual NULL handshake.
//   - Each ZMTP frame is one unfragmented binary WebSocket message whose first payload
//     byte is the ZWS flags byte (0x01 MORE, 0x02 COMMAND: not the ZMTP/TCP values,
//     where COMMAND is 0x04 and 0x02 is LONG) followed by the frame body;
//     the body size is the WebSocket payload length minus one.
//   - Frames from the client are masked, frames from the server are not; libzmq drops
//     a peer that gets this wrong, and so does Decoder.
//   - libzmq rejects fragmented messages; Decoder accepts them (browsers' libraries and
//     proxies may fragment) and delivers them as one ZMTP frame.
//
// Buffer lifetime: every slice a Handler receives is valid only during the call. Append
// functions only append to dst, as append does. Nothing in this package keeps a
// reference to a caller's slice after returning.
package ws
