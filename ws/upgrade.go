package ws

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	gws "github.com/gobwas/ws"
)

// DefaultMaxHeader is the default cap on the size of an upgrade request.
const DefaultMaxHeader = 8 << 10

// DefaultProtocols is what Accept and ClientHandshake use when given no subprotocols:
// the NULL mechanism under its ZWS 2.0 name. Treat it as read-only.
var DefaultProtocols = []string{ProtoNull}

// ServerConfig configures Accept. It is only read, so one value may serve every
// connection of a listener concurrently.
type ServerConfig struct {
	// Path is the required request path, e.g. "/zmq" ("" accepts any path). The
	// query string is ignored.
	Path string
	// Protocols are the acceptable subprotocols in the server's preference order,
	// e.g. [ProtoNull, ProtoBare]; empty means DefaultProtocols. Names are compared
	// exactly (case-sensitive), as libzmq does.
	Protocols []string
	// MaxHeader caps the request size in bytes; 0 means DefaultMaxHeader.
	MaxHeader int
}

// Accept performs the server side of the WebSocket upgrade on the bytes received so far
// (b may end anywhere, including in the middle of a line). It reads nothing but b and
// writes nothing but out, so it runs on the event loop that owns the connection.
//
// While b holds an incomplete request that is still under MaxHeader, Accept returns
// ErrShort and the caller retries with more bytes. On success it returns the chosen
// subprotocol, n = the exact length of the request (bytes after it, such as the first
// WebSocket frames, are neither read nor modified), and out with the "101 Switching
// Protocols" response appended. On a bad request (not a GET, over MaxHeader, wrong path,
// not a WebSocket upgrade, no or no acceptable subprotocol) it returns a *RejectError,
// which matches ErrHandshake and holds the HTTP error response to write before closing;
// out is then returned unchanged.
//
// The subprotocol is taken from the first Sec-WebSocket-Protocol header that offers an
// acceptable one; among that header's tokens the server's preference order decides.
// Any goroutine may call Accept; it allocates (once per connection).
func Accept(b []byte, cfg *ServerConfig, out []byte) (proto string, n int, outAfter []byte, err error) {
	var c ServerConfig
	if cfg != nil {
		c = *cfg
	}
	if len(c.Protocols) == 0 {
		c.Protocols = DefaultProtocols
	}
	if c.MaxHeader <= 0 {
		c.MaxHeader = DefaultMaxHeader
	}

	// Fail fast on a peer that does not speak HTTP at all (a ZMTP peer sends its
	// greeting and waits): it would never complete a request.
	const get = "GET "
	if k := min(len(b), len(get)); string(b[:k]) != get[:k] {
		return "", 0, out, reject(http.StatusBadRequest, "not an HTTP GET request")
	}
	n = requestEnd(b[:min(len(b), c.MaxHeader)])
	if n < 0 {
		if len(b) >= c.MaxHeader {
			return "", 0, out, reject(http.StatusRequestHeaderFieldsTooLarge,
				"request larger than "+strconv.Itoa(c.MaxHeader)+" bytes")
		}
		return "", 0, out, ErrShort
	}

	var offered bool
	var chosen string
	u := gws.Upgrader{
		OnRequest: func(uri []byte) error {
			if c.Path != "" && string(requestPath(uri)) != c.Path {
				return gws.RejectConnectionError(
					gws.RejectionStatus(http.StatusNotFound),
					gws.RejectionReason("no WebSocket endpoint at this path"),
				)
			}
			return nil
		},
		// ProtocolCustom, not Protocol: exact names and the server's order. gobwas
		// calls it for each Sec-WebSocket-Protocol header until one yields a name.
		ProtocolCustom: func(v []byte) (string, bool) {
			offered = true
			chosen = selectProtocol(v, c.Protocols)
			return chosen, true
		},
		// gobwas upgrades without a subprotocol when none matched; ZWS forbids that.
		OnBeforeUpgrade: func() (gws.HandshakeHeader, error) {
			if chosen != "" {
				return nil, nil
			}
			reason := "no acceptable ZWS 2.0 subprotocol offered"
			if !offered {
				reason = "no Sec-WebSocket-Protocol header (ZWS 2.0 requires one)"
			}
			return nil, gws.RejectConnectionError(
				gws.RejectionStatus(http.StatusBadRequest),
				gws.RejectionReason(reason),
			)
		},
	}

	rw := handshakeIO{r: b[:n], w: out}
	hs, err := u.Upgrade(&rw)
	if err == nil {
		return hs.Protocol, n, rw.w, nil
	}
	status := http.StatusBadRequest
	var rej *gws.ConnectionRejectedError
	if errors.As(err, &rej) && rej.StatusCode() != 0 {
		status = rej.StatusCode()
	}
	reason := err.Error()
	if reason == "" {
		reason = http.StatusText(status)
	}
	resp := bytes.Clone(rw.w[len(out):])
	if len(resp) == 0 {
		// gobwas answers nothing when the request line does not parse.
		resp = rejectResponse(status, reason)
	}
	return "", 0, out, &RejectError{Status: status, Reason: reason, Response: resp}
}

// requestEnd returns the length of the HTTP request at the start of b, up to and
// including the empty line that ends its header, or -1. It splits lines as gobwas/ws
// does (LF, with an optional CR before it), so that gobwas reads exactly these bytes.
func requestEnd(b []byte) int {
	start := 0
	first := true // the request line, even if empty, never ends the header
	for {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return -1
		}
		line := b[start : start+i]
		start += i + 1
		if !first && (len(line) == 0 || (len(line) == 1 && line[0] == '\r')) {
			return start
		}
		first = false
	}
}

// requestPath strips the query and, for an absolute URI, the scheme and authority.
func requestPath(uri []byte) []byte {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if i := bytes.Index(uri, []byte("://")); i >= 0 {
		uri = uri[i+3:]
		if j := bytes.IndexByte(uri, '/'); j >= 0 {
			uri = uri[j:]
		} else {
			uri = []byte("/")
		}
	}
	return uri
}

// selectProtocol returns the most preferred of prefs among the comma-separated tokens
// of v, or "". The returned string is one of prefs, so it outlives v.
func selectProtocol(v []byte, prefs []string) string {
	best := len(prefs)
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, nil
		}
		tok = bytes.Trim(tok, " \t")
		for i := 0; i < best; i++ {
			if string(tok) == prefs[i] {
				best = i
				break
			}
		}
	}
	if best == len(prefs) {
		return ""
	}
	return prefs[best]
}

func reject(status int, reason string) error {
	return &RejectError{Status: status, Reason: reason, Response: rejectResponse(status, reason)}
}

// rejectResponse builds an error response in the form gobwas/ws writes its own.
func rejectResponse(status int, reason string) []byte {
	r := make([]byte, 0, 128+len(reason))
	r = append(r, "HTTP/1.1 "...)
	r = strconv.AppendInt(r, int64(status), 10)
	r = append(r, ' ')
	r = append(r, http.StatusText(status)...)
	r = append(r, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	r = strconv.AppendInt(r, int64(len(reason)), 10)
	r = append(r, "\r\n\r\n"...)
	return append(r, reason...)
}

// handshakeIO is the io.ReadWriter gobwas/ws upgrades over: it reads exactly the
// request bytes and appends what gobwas writes.
type handshakeIO struct {
	r []byte
	w []byte
}

func (x *handshakeIO) Read(p []byte) (int, error) {
	if len(x.r) == 0 {
		return 0, io.EOF
	}
	n := copy(p, x.r)
	x.r = x.r[n:]
	return n, nil
}

func (x *handshakeIO) Write(p []byte) (int, error) {
	x.w = append(x.w, p...)
	return len(p), nil
}
