package codec

import "encoding/binary"

// CURVE's commands (rfc 26, CurveZMQ over ZMTP): fixed layouts whose boxes this package carries but
// never opens (zmtp does the cryptography). Every Parse takes a command's data (after its name, as
// ParseCommand splits it) and checks its exact size before it reads anything; every Append appends
// a whole command body (name and data) for the session to frame. Nothing allocates: fixed fields
// are arrays, variable boxes alias the input.

// CURVE command names besides READY, ERROR and the ones PLAIN shares (HELLO, WELCOME, INITIATE).
const (
	CmdHello    = "HELLO"
	CmdWelcome  = "WELCOME"
	CmdInitiate = "INITIATE"
	CmdMessage  = "MESSAGE"
)

// Sizes of CURVE's fixed parts. BoxOverhead is the Poly1305 tag every box adds to its plaintext.
const (
	CurveKeySize     = 32
	CurveBoxOverhead = 16
	CurveHelloSize   = 2 + 72 + 32 + 8 + 80 // HELLO's data: version, padding, C', short nonce, box
	CurveWelcomeSize = 16 + 144             // WELCOME's data: long nonce, box[S' + cookie]
	CurveCookieSize  = 16 + 80              // a cookie: long nonce, box[C' + s'] under the cookie key
	CurveVouchSize   = 16 + 80              // a vouch: long nonce, box[C' + S] from C to S'
	curveInitiateMin = CurveCookieSize + 8 + CurveBoxOverhead + 32 + CurveVouchSize
	curveReadyMin    = 8 + CurveBoxOverhead
	curveMessageMin  = 8 + CurveBoxOverhead + 1
	curveMessageName = "\x07" + CmdMessage
	CurveMessageHead = len(curveMessageName) + 8 // a MESSAGE body's bytes before its box
	// CurveMessageOverhead is how many bytes a MESSAGE command body adds to the frame body it
	// carries (name, short nonce, tag, flags byte).
	CurveMessageOverhead = CurveMessageHead + CurveBoxOverhead + 1
)

// CurveHello is HELLO's data: the client's transient public key C' and a box of 64 zero bytes from
// C' to the server's long-term key S, proving the client knows S.
type CurveHello struct {
	Major, Minor byte // rfc 26's version: 1.0
	Transient    [32]byte
	Nonce        uint64 // short nonce
	Box          [80]byte
}

// AppendCurveHello appends HELLO's body (with its 72 bytes of anti-amplification padding).
func AppendCurveHello(dst []byte, h *CurveHello) []byte {
	dst = append(dst, byte(len(CmdHello)))
	dst = append(dst, CmdHello...)
	dst = append(dst, h.Major, h.Minor)
	dst = append(dst, make([]byte, 72)...)
	dst = append(dst, h.Transient[:]...)
	dst = binary.BigEndian.AppendUint64(dst, h.Nonce)
	return append(dst, h.Box[:]...)
}

// ParseCurveHello parses HELLO's data, exactly CurveHelloSize bytes. The padding is not checked
// (libzmq does not either).
func ParseCurveHello(data []byte) (h CurveHello, err error) {
	if len(data) != CurveHelloSize {
		return h, protoErr(opCommand, errCurveHello)
	}
	h.Major, h.Minor = data[0], data[1]
	copy(h.Transient[:], data[74:106])
	h.Nonce = binary.BigEndian.Uint64(data[106:114])
	copy(h.Box[:], data[114:])
	return h, nil
}

// CurveWelcome is WELCOME's data: a long nonce and a box from S to C' holding the server's
// transient key S' and the cookie.
type CurveWelcome struct {
	Nonce [16]byte
	Box   [144]byte
}

// AppendCurveWelcome appends WELCOME's body.
func AppendCurveWelcome(dst []byte, w *CurveWelcome) []byte {
	dst = append(dst, byte(len(CmdWelcome)))
	dst = append(dst, CmdWelcome...)
	dst = append(dst, w.Nonce[:]...)
	return append(dst, w.Box[:]...)
}

// ParseCurveWelcome parses WELCOME's data, exactly CurveWelcomeSize bytes.
func ParseCurveWelcome(data []byte) (w CurveWelcome, err error) {
	if len(data) != CurveWelcomeSize {
		return w, protoErr(opCommand, errCurveWelcome)
	}
	copy(w.Nonce[:], data[:16])
	copy(w.Box[:], data[16:])
	return w, nil
}

// CurveInitiate is INITIATE's data: the cookie returned as received, and a box from C' to S'
// holding the client's long-term key C, its vouch and its metadata.
type CurveInitiate struct {
	Cookie [CurveCookieSize]byte
	Nonce  uint64
	Box    []byte // aliases the parsed data; at least 32+96+16 bytes
}

// AppendCurveInitiate appends INITIATE's body.
func AppendCurveInitiate(dst []byte, c *CurveInitiate) []byte {
	dst = append(dst, byte(len(CmdInitiate)))
	dst = append(dst, CmdInitiate...)
	dst = append(dst, c.Cookie[:]...)
	dst = binary.BigEndian.AppendUint64(dst, c.Nonce)
	return append(dst, c.Box...)
}

// ParseCurveInitiate parses INITIATE's data: at least the cookie, a nonce and a box big enough for
// C and the vouch. Box aliases data.
func ParseCurveInitiate(data []byte) (c CurveInitiate, err error) {
	if len(data) < curveInitiateMin {
		return c, protoErr(opCommand, errCurveInitiate)
	}
	copy(c.Cookie[:], data[:CurveCookieSize])
	c.Nonce = binary.BigEndian.Uint64(data[CurveCookieSize:])
	c.Box = data[CurveCookieSize+8:]
	return c, nil
}

// CurveBoxed is READY's or MESSAGE's data: a short nonce and a box between the transient keys.
type CurveBoxed struct {
	Nonce uint64
	Box   []byte // aliases the parsed data
}

// AppendCurveReady appends CURVE READY's body.
func AppendCurveReady(dst []byte, r *CurveBoxed) []byte {
	dst = append(dst, byte(len(CmdReady)))
	dst = append(dst, CmdReady...)
	dst = binary.BigEndian.AppendUint64(dst, r.Nonce)
	return append(dst, r.Box...)
}

// ParseCurveReady parses CURVE READY's data: a nonce and a box of at least the tag.
func ParseCurveReady(data []byte) (r CurveBoxed, err error) {
	if len(data) < curveReadyMin {
		return r, protoErr(opCommand, errCurveReady)
	}
	return CurveBoxed{Nonce: binary.BigEndian.Uint64(data), Box: data[8:]}, nil
}

// AppendCurveMessageHead appends the part of a MESSAGE body before its box (name and short
// nonce), so that the box can be sealed straight after it into the same buffer.
func AppendCurveMessageHead(dst []byte, nonce uint64) []byte {
	dst = append(dst, curveMessageName...)
	return binary.BigEndian.AppendUint64(dst, nonce)
}

// AppendCurveMessage appends MESSAGE's body.
func AppendCurveMessage(dst []byte, m *CurveBoxed) []byte {
	return append(AppendCurveMessageHead(dst, m.Nonce), m.Box...)
}

// ParseCurveMessage parses MESSAGE's data: a nonce and a box of at least the tag and a flags byte.
func ParseCurveMessage(data []byte) (m CurveBoxed, err error) {
	if len(data) < curveMessageMin {
		return m, protoErr(opCommand, errCurveMessage)
	}
	return CurveBoxed{Nonce: binary.BigEndian.Uint64(data), Box: data[8:]}, nil
}

// IsCurveMessage reports whether a command body is a MESSAGE, from its name alone, without
// parsing it (the session's hot path).
func IsCurveMessage(body []byte) bool {
	return len(body) >= len(curveMessageName) && string(body[:len(curveMessageName)]) == curveMessageName
}
