package zmtp

import "github.com/zloop/zloop/codec"

// Framer puts frames in a transport's wire form. ZMTP frames itself (Config.Framer nil); ZWS 2.0
// carries each frame in a WebSocket message, and the transport gives the session a Framer for
// that. The session hands it every frame it sends, built as a body and framed once: nothing is
// encoded twice or parsed back. Called only on the session's goroutine.
type Framer interface {
	// AppendFrame appends one frame with ZMTP flags (FlagMore, FlagCommand) and body to dst.
	// A PING command is handed over as it is, even on a CURVE connection: the Framer must send it
	// as its own heartbeat (ZWS: a WebSocket ping), not as a frame.
	AppendFrame(dst []byte, flags byte, body []byte) []byte
}

// wire appends what a session sends: ZMTP frames straight from codec's encoders, or bodies built
// in a scratch buffer and framed by the transport's Framer.
type wire struct {
	f    Framer // nil: ZMTP
	body []byte // scratch for a command body; kept between commands
	// seal boxes every frame into a CURVE MESSAGE once a CURVE handshake is done; msg is its
	// scratch, kept between frames.
	seal *CurveSealer
	msg  []byte
}

// direct reports whether a command can be encoded straight into out (ZMTP, nothing to box).
func (w *wire) direct() bool { return w.f == nil && w.seal == nil }

func (w *wire) frame(out []byte, flags byte, body []byte) []byte {
	if w.seal != nil {
		w.msg = w.seal.AppendMessage(w.msg[:0], flags, body)
		flags, body = 0, w.msg // a MESSAGE goes as a data frame, as libzmq sends it
	}
	if w.f == nil {
		return codec.AppendFrame(out, flags, body)
	}
	return w.f.AppendFrame(out, flags, body)
}

func (w *wire) command(out []byte, name string, data []byte) []byte {
	if w.direct() {
		return codec.AppendCommand(out, name, data)
	}
	w.body = codec.AppendCommandBody(w.body[:0], name, data)
	return w.frame(out, codec.FlagCommand, w.body)
}

func (w *wire) metadata(out []byte, name string, props ...codec.Property) []byte {
	if w.direct() {
		return codec.AppendMetadataCommand(out, name, props...)
	}
	w.body = codec.AppendMetadataCommandBody(w.body[:0], name, props...)
	return w.frame(out, codec.FlagCommand, w.body)
}

func (w *wire) error(out []byte, reason string) []byte {
	if w.direct() {
		return codec.AppendError(out, reason)
	}
	w.body = codec.AppendErrorBody(w.body[:0], reason)
	return w.frame(out, codec.FlagCommand, w.body)
}

func (w *wire) ping(out []byte, ttl uint16, context []byte) []byte {
	if w.direct() {
		return codec.AppendPing(out, ttl, context)
	}
	w.body = codec.AppendPingBody(w.body[:0], ttl, context)
	if w.f != nil {
		// A transport that frames itself sends our PING as its own heartbeat (ZWS: a WebSocket
		// ping, as libzmq's ws engine answers only those), never as a frame: nothing to box.
		return w.f.AppendFrame(out, codec.FlagCommand, w.body)
	}
	return w.frame(out, codec.FlagCommand, w.body)
}

func (w *wire) pong(out []byte, context []byte) []byte {
	if len(context) > codec.MaxPingContext {
		context = context[:codec.MaxPingContext]
	}
	return w.command(out, codec.CmdPong, context)
}
