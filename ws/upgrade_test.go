package ws

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gws "github.com/gobwas/ws"
)

// libzmqRequest is the request libzmq 4.3's ws_engine sends, byte for byte in form
// (its protocol list has no space after the comma), with the RFC 6455 sample key.
func libzmqRequest(path, protocols string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\n" +
		"Host: 127.0.0.1:5555\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Protocol: " + protocols + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n")
}

// dialerRequest returns the request gobwas/ws's Dialer writes (a real client's).
func dialerRequest(t testing.TB, rawURL string, protocols ...string) []byte {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	rw := struct {
		io.Reader
		io.Writer
	}{strings.NewReader(""), &w}
	if _, _, err := (gws.Dialer{Protocols: protocols}).Upgrade(rw, u); err == nil {
		t.Fatal("Dialer.Upgrade succeeded without a response")
	}
	return w.Bytes()
}

// acceptKey is RFC 6455's Sec-WebSocket-Accept, computed independently of gobwas.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

func requestKey(t testing.TB, req []byte) string {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	if err != nil {
		t.Fatal(err)
	}
	return r.Header.Get("Sec-WebSocket-Key")
}

// parseResponse parses an HTTP response with net/http and checks it is the whole
// of b.
func parseResponse(t testing.TB, b []byte) *http.Response {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("%d bytes after the response %q", len(rest), b)
	}
	resp.Header.Set("X-Body", string(body))
	return resp
}

func checkUpgraded(t testing.TB, req, out []byte, proto, wantProto string) {
	t.Helper()
	if proto != wantProto {
		t.Fatalf("chose %q, want %q", proto, wantProto)
	}
	resp := parseResponse(t, out)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// libzmq's client parses this line character by character.
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 101 Switching Protocols\r\n")) {
		t.Fatalf("status line of %q", out)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(requestKey(t, req)); got != want {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	if got := resp.Header.Values("Sec-WebSocket-Protocol"); len(got) != 1 || got[0] != wantProto {
		t.Fatalf("Sec-WebSocket-Protocol %q, want %q", got, wantProto)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
		t.Fatalf("Upgrade/Connection headers of %q", out)
	}
}

func TestAcceptLibzmqRequest(t *testing.T) {
	req := libzmqRequest("/zmq", "ZWS2.0/NULL,ZWS2.0")
	out := []byte("previous output")
	proto, n, out, err := Accept(req, &ServerConfig{Path: "/zmq", Protocols: []string{ProtoNull, ProtoBare}}, out)
	if err != nil || n != len(req) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if !bytes.HasPrefix(out, []byte("previous output")) {
		t.Fatalf("out lost its prefix: %q", out)
	}
	checkUpgraded(t, req, out[len("previous output"):], proto, ProtoNull)
	if got := parseResponse(t, out[len("previous output"):]).Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept key %q differs from RFC 6455's example", got)
	}
}

// The request cut at every byte: ErrShort until it is complete, then the same
// result; the bytes after it (the client's first frames) are never touched.
func TestAcceptSplit(t *testing.T) {
	for _, req := range [][]byte{
		libzmqRequest("/zmq", "ZWS2.0/NULL,ZWS2.0"),
		dialerRequest(t, "ws://example.com:8080/zmq?x=1", ProtoPlain, ProtoNull),
	} {
		cfg := &ServerConfig{Path: "/zmq", Protocols: []string{ProtoNull, ProtoPlain}}
		frame := AppendFrame(nil, FlagCommand, []byte("\x05READY"), &testMask)
		input := append(bytes.Clone(req), frame...)
		var first []byte
		for i := 0; i <= len(input); i++ {
			b := bytes.Clone(input[:i])
			proto, n, out, err := Accept(b, cfg, nil)
			if !bytes.Equal(b, input[:i]) {
				t.Fatalf("cut %d: Accept modified its input", i)
			}
			if i < len(req) {
				if err != ErrShort || n != 0 || proto != "" || len(out) != 0 {
					t.Fatalf("cut %d of %d: proto=%q n=%d out=%q err=%v, want ErrShort", i, len(req), proto, n, out, err)
				}
				continue
			}
			if err != nil || n != len(req) {
				t.Fatalf("cut %d: n=%d err=%v, want n=%d", i, n, err, len(req))
			}
			checkUpgraded(t, req, out, proto, ProtoNull)
			// Same response apart from nothing: the key is the client's.
			if first == nil {
				first = out
			} else if !bytes.Equal(first, out) {
				t.Fatalf("cut %d: response %q differs from %q", i, out, first)
			}
			if !bytes.Equal(b[n:], frame[:i-len(req)]) {
				t.Fatalf("cut %d: bytes after the request changed", i)
			}
		}
	}
}

func TestAcceptProtocolChoice(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		prefs   []string
		want    string
	}{
		{name: "server preference wins", headers: []string{"ZWS2.0, ZWS2.0/NULL"}, prefs: []string{ProtoNull, ProtoBare}, want: ProtoNull},
		{name: "bare only", headers: []string{"ZWS2.0"}, prefs: []string{ProtoNull, ProtoBare}, want: ProtoBare},
		{name: "PLAIN, which gobwas's Protocol gets wrong", headers: []string{"ZWS2.0/PLAIN"}, prefs: []string{ProtoPlain}, want: ProtoPlain},
		{name: "CURVE among others", headers: []string{"chat,ZWS2.0/CURVE ,\tZWS2.0/NULL"}, prefs: []string{ProtoCurve}, want: ProtoCurve},
		{name: "second header", headers: []string{"chat", "ZWS2.0/PLAIN"}, prefs: []string{ProtoPlain}, want: ProtoPlain},
		{name: "first acceptable header wins", headers: []string{"ZWS2.0", "ZWS2.0/NULL"}, prefs: []string{ProtoNull, ProtoBare}, want: ProtoBare},
		{name: "default protocols", headers: []string{"ZWS2.0/NULL"}, want: ProtoNull},
		{name: "case-sensitive", headers: []string{"zws2.0/null"}, prefs: []string{ProtoNull}},
		{name: "no prefix match", headers: []string{"ZWS2.0/NULLX"}, prefs: []string{ProtoNull}},
		{name: "empty tokens", headers: []string{", ,"}, prefs: []string{ProtoNull}},
	}
	for _, c := range cases {
		req := "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		for _, h := range c.headers {
			req += "Sec-WebSocket-Protocol: " + h + "\r\n"
		}
		req += "\r\n"
		proto, n, out, err := Accept([]byte(req), &ServerConfig{Protocols: c.prefs}, nil)
		if c.want == "" {
			var rej *RejectError
			if !errors.As(err, &rej) || rej.Status != http.StatusBadRequest || proto != "" {
				t.Fatalf("%s: proto=%q err=%v, want a 400 rejection", c.name, proto, err)
			}
			continue
		}
		if err != nil || n != len(req) {
			t.Fatalf("%s: n=%d err=%v", c.name, n, err)
		}
		checkUpgraded(t, []byte(req), out, proto, c.want)
	}
}

func TestAcceptRejects(t *testing.T) {
	valid := string(libzmqRequest("/zmq", "ZWS2.0/NULL"))
	without := func(header string) string {
		var b strings.Builder
		for _, line := range strings.SplitAfter(valid, "\r\n") {
			if !strings.HasPrefix(line, header+":") {
				b.WriteString(line)
			}
		}
		return b.String()
	}
	replace := func(old, new string) string { return strings.Replace(valid, old, new, 1) }
	big := replace("Host:", "X-Pad: "+strings.Repeat("a", DefaultMaxHeader)+"\r\nHost:")
	cases := []struct {
		name   string
		req    string
		cfg    ServerConfig
		status int
		reason string
	}{
		{name: "too large", req: big, status: 431, reason: "larger than 8192"},
		{name: "too large for a small cap", req: valid, cfg: ServerConfig{MaxHeader: 100}, status: 431},
		{name: "missing subprotocol", req: without("Sec-WebSocket-Protocol"), status: 400, reason: "no Sec-WebSocket-Protocol header"},
		{name: "unknown subprotocol", req: replace("ZWS2.0/NULL", "ZWS1.0"), status: 400, reason: "no acceptable"},
		{name: "subprotocol not enabled", req: valid, cfg: ServerConfig{Protocols: []string{ProtoCurve}}, status: 400, reason: "no acceptable"},
		{name: "wrong path", req: valid, cfg: ServerConfig{Path: "/other"}, status: 404},
		{name: "path prefix only", req: replace("/zmq", "/zmq/x"), cfg: ServerConfig{Path: "/zmq"}, status: 404},
		{name: "no Upgrade header", req: without("Upgrade"), status: 400},
		{name: "not a websocket upgrade", req: replace("Upgrade: websocket", "Upgrade: h2c"), status: 400},
		{name: "no Connection: upgrade", req: replace("Connection: Upgrade", "Connection: close"), status: 400},
		{name: "no key", req: without("Sec-WebSocket-Key"), status: 400},
		{name: "no Host", req: without("Host"), status: 400},
		{name: "version 12", req: replace("Version: 13", "Version: 12"), status: 426},
		{name: "HTTP/1.0", req: replace("HTTP/1.1", "HTTP/1.0"), status: 505},
		{name: "POST", req: replace("GET", "POST"), status: 400, reason: "not an HTTP GET"},
		{name: "ZMTP greeting", req: "\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f", status: 400, reason: "not an HTTP GET"},
		{name: "one wrong byte", req: "X", status: 400},
		{name: "bad request line", req: "GET /\r\nHost: h\r\n\r\n", status: 400},
		{name: "header without colon", req: replace("Host: 127.0.0.1:5555", "Host 127.0.0.1"), status: 400},
	}
	for _, c := range cases {
		out := []byte("kept")
		proto, n, got, err := Accept([]byte(c.req), &c.cfg, out)
		var rej *RejectError
		if !errors.As(err, &rej) || !errors.Is(err, ErrHandshake) {
			t.Fatalf("%s: err = %v (%T), want a *RejectError matching ErrHandshake", c.name, err, err)
		}
		if proto != "" || n != 0 || string(got) != "kept" {
			t.Fatalf("%s: proto=%q n=%d out=%q on rejection", c.name, proto, n, got)
		}
		if rej.Status != c.status || !strings.Contains(rej.Reason, c.reason) {
			t.Fatalf("%s: status %d reason %q, want %d containing %q", c.name, rej.Status, rej.Reason, c.status, c.reason)
		}
		resp := parseResponse(t, rej.Response)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: response status %d, want %d: %q", c.name, resp.StatusCode, c.status, rej.Response)
		}
		if !strings.HasPrefix(rej.Error(), "zmq: ws: handshake rejected with HTTP ") {
			t.Fatalf("%s: error text %q", c.name, rej.Error())
		}
	}
	// Until the cap is reached an oversized request looks incomplete.
	for _, i := range []int{0, 1, 100, DefaultMaxHeader - 1} {
		if _, _, _, err := Accept([]byte(big[:i]), nil, nil); err != ErrShort {
			t.Fatalf("prefix %d of an oversized request: %v, want ErrShort", i, err)
		}
	}
	if _, _, _, err := Accept([]byte(big[:DefaultMaxHeader]), nil, nil); !errors.Is(err, ErrHandshake) {
		t.Fatalf("%d bytes without an end: %v, want a rejection", DefaultMaxHeader, err)
	}
	// A request of exactly MaxHeader bytes is fine.
	if _, n, _, err := Accept([]byte(valid), &ServerConfig{MaxHeader: len(valid)}, nil); err != nil || n != len(valid) {
		t.Fatalf("request of exactly MaxHeader bytes: n=%d err=%v", n, err)
	}
}

// Bare LF line ends are accepted, as gobwas/ws reads them, and n still stops exactly
// at the end of the request.
func TestAcceptLFOnly(t *testing.T) {
	req := strings.ReplaceAll(string(libzmqRequest("/", "ZWS2.0/NULL")), "\r\n", "\n")
	in := req + "\x82"
	proto, n, _, err := Accept([]byte(in), nil, nil)
	if err != nil || n != len(req) || proto != ProtoNull {
		t.Fatalf("proto=%q n=%d err=%v, want n=%d", proto, n, err, len(req))
	}
}
