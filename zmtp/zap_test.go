package zmtp_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

// zapPlainPair is a PLAIN pair whose server asks its owner (no Authenticate).
func zapPlainPair(domain string) (client, server *conn) {
	client = newConn(&zmtp.Config{SocketType: "PUSH", Compatible: compat("PULL"), Plain: true,
		PlainUsername: []byte("alice"), PlainPassword: []byte("secret"),
		Properties: []codec.Property{{Name: "X-Who", Value: []byte("client")}, {Name: "User-Id", Value: []byte("forged")}}})
	server = newConn(&zmtp.Config{SocketType: "PULL", Compatible: compat("PUSH"), Plain: true, PlainServer: true,
		ZAPDomain: domain, Identity: []byte("srv"), HandshakeTimeout: time.Second})
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	return client, server
}

// authorize answers the server's pending request like an owner would, and passes on what it wrote.
func (c *conn) authorize(t testing.TB, r *zmtp.ZAPReply) error {
	t.Helper()
	out, err := c.s.Authorized(r, t0, c.out, c.h)
	c.out = out
	if err != nil {
		c.err = err
		return err
	}
	// Resume: offer what the session left unconsumed.
	return c.push(t, t0, nil)
}

// The PLAIN server's ZAP step, its input split at every byte: the request appears after HELLO with
// the rfc 27 fields, nothing more is consumed until the reply, WELCOME goes out only then, and the
// handler's User-Id and metadata replace what the client claimed.
func TestZAPPlainPendingSplit(t *testing.T) {
	client, server := zapPlainPair("global")
	for i := 0; i < 10; i++ {
		co, so := client.takeOut(), server.takeOut()
		if len(co) == 0 && len(so) == 0 {
			break
		}
		if err := server.pushBytes(t, t0, co); err != nil {
			t.Fatal(err)
		}
		if err := client.pushBytes(t, t0, so); err != nil {
			t.Fatal(err)
		}
	}
	req := server.s.AuthRequest()
	if req == nil {
		t.Fatal("no request after HELLO")
	}
	if req.Version != "1.0" || string(req.RequestID) != "1" || req.Domain != "global" || string(req.Identity) != "srv" ||
		req.Mechanism != "PLAIN" || len(req.Credentials) != 2 || string(req.Credentials[0]) != "alice" ||
		string(req.Credentials[1]) != "secret" {
		t.Fatalf("request %+v", req)
	}
	if len(server.out) != 0 {
		t.Fatalf("the server wrote %q before the answer", server.out)
	}
	// A hostile client that goes on sending anyway: nothing is consumed while the request waits.
	early := codec.AppendCommand(nil, "INITIATE", nil)
	if err := server.pushBytes(t, t0, early); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(server.buf, early) {
		t.Fatalf("consumed while pending: left %d of %d bytes", len(server.buf), len(early))
	}
	if server.s.AuthRequest() != req {
		t.Fatal("the request changed while pending")
	}
	server.buf = nil // the early INITIATE was the test's; the client's own comes after WELCOME
	if err := server.authorize(t, &zmtp.ZAPReply{StatusCode: 200, UserID: "alice@zap",
		Metadata: map[string]string{"X-Role": "admin", "x-who": "zap"}}); err != nil {
		t.Fatal(err)
	}
	link(t, t0, client, server)
	if client.err != nil || server.err != nil || !server.s.Ready() || !client.s.Ready() {
		t.Fatalf("client %v, server %v", client.err, server.err)
	}
	p := server.s.Peer()
	for name, want := range map[string]string{"User-Id": "alice@zap", "X-Role": "admin", "X-Who": "zap"} {
		if v, ok := p.Property(name); !ok || string(v) != want {
			t.Errorf("%s = %q, %v; want %q", name, v, ok, want)
		}
	}
	if !p.Authorized || p.UserID != "alice@zap" {
		t.Errorf("peer %+v", p)
	}
	if server.s.AuthRequest() != nil {
		t.Error("a request after the answer")
	}
}

// Each status code as libzmq's zap_client applies it: 300 sends nothing and leaves the connection
// silent until the handshake timer ends it, 400 and 500 send ERROR with the code, and the
// refusal carries the code (HANDSHAKE_FAILED_AUTH); the client reads the code too.
func TestZAPStatusCodes(t *testing.T) {
	for _, code := range []int{300, 400, 500} {
		client, server := zapPlainPair("")
		link(t, t0, client, server)
		err := server.authorize(t, &zmtp.ZAPReply{StatusCode: code, StatusText: "no"})
		var ae *zmtp.AuthError
		if !errors.As(err, &ae) || ae.Status != code || !errors.Is(err, zmtp.ErrAuthentication) || zmtp.AuthStatus(err) != code {
			t.Fatalf("%d: server %v", code, err)
		}
		wrote := server.takeOut()
		if code == 300 {
			if len(wrote) != 0 || !ae.Temporary || !server.s.Silenced() || server.s.Err() != nil {
				t.Fatalf("300 wrote %q, temporary %v, silenced %v, session %v", wrote, ae.Temporary, server.s.Silenced(), server.s.Err())
			}
			junk := codec.AppendCommand(nil, "INITIATE", nil)
			if n, _, err := server.s.Read(junk, t0, nil, server.h); n != 0 || err != nil {
				t.Fatalf("silenced: consumed %d, %v", n, err)
			}
			if _, err := server.s.Tick(t0.Add(time.Second), nil); !errors.Is(err, zmtp.ErrHandshakeTimeout) || server.s.Silenced() {
				t.Fatalf("silenced until the handshake timer: %v", err)
			}
			continue
		}
		// PLAIN's ERROR as libzmq 4.3 spells it, which its PLAIN client needs.
		want := codec.AppendFrame(nil, codec.FlagCommand, append([]byte{0x5E, 'R', 'R', 'O', 'R', 3}, byte('0'+code/100), '0', '0'))
		if !bytes.Equal(wrote, want) {
			t.Fatalf("%d: wrote %q, want %q", code, wrote, want)
		}
		cerr := client.push(t, t0, wrote)
		if !errors.Is(cerr, zmtp.ErrAuthentication) || zmtp.AuthStatus(cerr) != code {
			t.Fatalf("%d: client %v", code, cerr)
		}
	}
	for name, r := range map[string]*zmtp.ZAPReply{
		"status 201":      {StatusCode: 201},
		"status 0":        {},
		"version 2.0":     {Version: "2.0", StatusCode: 200},
		"request id 7":    {RequestID: []byte("7"), StatusCode: 200},
		"request id \"\"": {RequestID: []byte{}, StatusCode: 200},
	} {
		client, server := zapPlainPair("")
		link(t, t0, client, server)
		if err := server.authorize(t, r); !errors.Is(err, zmtp.ErrZAPReply) {
			t.Errorf("%s: %v, want ErrZAPReply", name, err)
		}
		if len(server.takeOut()) != 0 {
			t.Errorf("%s: wrote something", name)
		}
	}
	// A reply without a request.
	s := zmtp.NewSession(&zmtp.Config{SocketType: "PULL"})
	if _, err := s.Authorized(&zmtp.ZAPReply{StatusCode: 200}, t0, nil, &recorder{}); !errors.Is(err, zmtp.ErrUnexpectedReply) {
		t.Fatalf("unasked: %v", err)
	}
}

// HANDSHAKE_IVL bounds the wait for the answer.
func TestZAPTimeoutWhilePending(t *testing.T) {
	client, server := zapPlainPair("")
	link(t, t0, client, server)
	if server.s.AuthRequest() == nil {
		t.Fatal("not pending")
	}
	if d := server.s.NextDeadline(); !d.Equal(t0.Add(time.Second)) {
		t.Fatalf("deadline %v", d)
	}
	if _, err := server.s.Tick(t0.Add(999*time.Millisecond), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := server.s.Tick(t0.Add(time.Second), nil); !errors.Is(err, zmtp.ErrHandshakeTimeout) {
		t.Fatalf("tick: %v", err)
	}
	if _, err := server.s.Authorized(&zmtp.ZAPReply{StatusCode: 200}, t0, nil, server.h); !errors.Is(err, zmtp.ErrHandshakeTimeout) {
		t.Fatalf("a late answer: %v", err)
	}
}

// NULL asks ZAP only with a domain, before its READY; without a handler it admits the client
// unless the domain is enforced.
func TestZAPNull(t *testing.T) {
	pair := func(cfg zmtp.Config) (client, server *conn) {
		cfg.SocketType = "PULL"
		return linked(t, &zmtp.Config{SocketType: "PUSH"}, &cfg)
	}
	client, server := pair(zmtp.Config{})
	if !server.s.Ready() || server.s.AuthRequest() != nil || server.s.Peer().Authorized {
		t.Fatal("NULL without a domain asked ZAP")
	}
	client, server = pair(zmtp.Config{ZAPDomain: "d"})
	req := server.s.AuthRequest()
	if req == nil || req.Mechanism != "NULL" || req.Domain != "d" || len(req.Credentials) != 0 || client.s.Ready() {
		t.Fatalf("request %+v, client ready %v", req, client.s.Ready())
	}
	if err := server.authorize(t, &zmtp.ZAPReply{StatusCode: 200, UserID: "anon"}); err != nil {
		t.Fatal(err)
	}
	link(t, t0, client, server)
	if !client.s.Ready() || !server.s.Ready() || server.s.Peer().UserID != "anon" {
		t.Fatalf("client %v, server %v", client.err, server.err)
	}
	for _, enforce := range []bool{false, true} {
		client, server = pair(zmtp.Config{ZAPDomain: "d", ZAPEnforceDomain: enforce})
		err := server.authorize(t, nil)
		link(t, t0, client, server)
		switch {
		case enforce && !errors.Is(err, zmtp.ErrNoZAPHandler):
			t.Fatalf("enforced, no handler: %v", err)
		case !enforce && (err != nil || !server.s.Ready() || !client.s.Ready()):
			t.Fatalf("not enforced, no handler: %v", err)
		case !enforce && server.s.Peer().Authorized:
			t.Fatal("authorized without a handler")
		}
	}
}

// Over a transport that frames itself (ZWS), FrameStart refuses every frame while the request
// waits, without failing, and the same frame is taken after the answer.
func TestZAPFrameLevel(t *testing.T) {
	s := zmtp.NewSession(&zmtp.Config{SocketType: "PULL", NoGreeting: true, ZAPDomain: "d", Framer: rawFramer{}})
	h := &recorder{}
	if out := s.Start(t0, nil); len(out) != 0 || s.AuthRequest() == nil {
		t.Fatalf("start wrote %q, request %v", out, s.AuthRequest())
	}
	ready := codec.AppendMetadataCommandBody(nil, codec.CmdReady, codec.Property{Name: "Socket-Type", Value: []byte("PUSH")})
	if ok, err := s.FrameStart(codec.FlagCommand, len(ready), t0, h); ok || err != nil {
		t.Fatalf("pending: ok %v, %v", ok, err)
	}
	out, err := s.Authorized(&zmtp.ZAPReply{StatusCode: 200}, t0, nil, h)
	if err != nil || len(out) == 0 {
		t.Fatalf("answer: %v, wrote %q", err, out)
	}
	if ok, err := s.FrameStart(codec.FlagCommand, len(ready), t0, h); !ok || err != nil {
		t.Fatalf("after: ok %v, %v", ok, err)
	}
	if _, err := s.FrameBody(ready, true, t0, nil, h); err != nil || !s.Ready() {
		t.Fatalf("READY: %v", err)
	}
}

// rawFramer frames a body as it is, with its flags in front.
type rawFramer struct{}

func (rawFramer) AppendFrame(dst []byte, flags byte, body []byte) []byte {
	return append(append(dst, flags), body...)
}

// A synchronous Authorize answers at once; a nil answer leaves the request to the owner.
func TestZAPAuthorizeSync(t *testing.T) {
	var seen []*zmtp.ZAPRequest
	cfg := &zmtp.Config{SocketType: "PULL", ZAPDomain: "d", Authorize: func(r *zmtp.ZAPRequest) *zmtp.ZAPReply {
		seen = append(seen, r)
		return &zmtp.ZAPReply{StatusCode: 400}
	}}
	server := newConn(cfg)
	server.out = server.s.Start(t0, nil)
	err := server.push(t, t0, handshake("PUSH"))
	if zmtp.AuthStatus(err) != 400 || len(seen) != 1 || !bytes.Contains(server.out, []byte("400")) {
		t.Fatalf("refused at once: %v, %d asks, wrote %q", err, len(seen), server.out)
	}
	cfg.Authorize = func(*zmtp.ZAPRequest) *zmtp.ZAPReply { return nil }
	server = newConn(cfg)
	server.out = server.s.Start(t0, nil)
	if err := server.push(t, t0, handshake("PUSH")); err != nil || server.s.AuthRequest() == nil {
		t.Fatalf("deferred: %v", err)
	}
}

func zapReplyFrames(r zmtp.ZAPReply) [][]byte { return r.AppendFrames(nil) }

// The rfc 27 codec: a reply round-trips; every frame missing, one too many, a bad version, status
// or metadata (cut at every byte) is a *ZAPError, as libzmq's zap_client treats them.
func TestZAPReplyCodec(t *testing.T) {
	r := zmtp.ZAPReply{Version: "1.0", RequestID: []byte("42"), StatusCode: 200, StatusText: "OK", UserID: "bob",
		Metadata: map[string]string{"X-A": "1", "X-B": ""}}
	frames := zapReplyFrames(r)
	got, err := zmtp.ParseZAPReply(frames)
	if err != nil || string(got.RequestID) != "42" || got.StatusCode != 200 || got.StatusText != "OK" || got.UserID != "bob" ||
		len(got.Metadata) != 2 || got.Metadata["X-A"] != "1" || got.Metadata["X-B"] != "" {
		t.Fatalf("round trip %+v, %v", got, err)
	}
	for n := 0; n < len(frames); n++ {
		if _, err := zmtp.ParseZAPReply(frames[:n]); !errors.Is(err, zmtp.ErrZAPReply) {
			t.Errorf("%d frames: %v", n, err)
		}
	}
	if _, err := zmtp.ParseZAPReply(append(frames[:6:6], []byte("x"))); !errors.Is(err, zmtp.ErrZAPReply) {
		t.Errorf("7 frames: %v", err)
	}
	for _, bad := range []struct {
		i int
		v string
	}{{0, "1.1"}, {0, ""}, {2, "201"}, {2, "20"}, {2, "600"}, {2, "100"}, {2, "2000"}} {
		f := zapReplyFrames(r)
		f[bad.i] = []byte(bad.v)
		if _, err := zmtp.ParseZAPReply(f); !errors.Is(err, zmtp.ErrZAPReply) {
			t.Errorf("frame %d = %q: %v", bad.i, bad.v, err)
		}
	}
	meta := frames[5]
	for cut := 1; cut < len(meta); cut++ {
		f := zapReplyFrames(r)
		f[5] = meta[:cut]
		_, err := zmtp.ParseZAPReply(f)
		whole := cut == 1+len("X-A")+4+len("1") // the first property alone is a whole block
		if whole != (err == nil) {
			t.Errorf("metadata cut at %d: %v", cut, err)
		}
	}
	req := zmtp.ZAPRequest{Version: "1.0", RequestID: []byte("1"), Domain: "d", Address: "127.0.0.1", Identity: []byte("id"),
		Mechanism: "PLAIN", Credentials: [][]byte{[]byte("u"), []byte("p")}}
	rf := req.AppendFrames(nil)
	back, err := zmtp.ParseZAPRequest(rf)
	if err != nil || back.Domain != "d" || back.Address != "127.0.0.1" || string(back.Identity) != "id" || back.Mechanism != "PLAIN" ||
		len(back.Credentials) != 2 || string(back.Credentials[1]) != "p" {
		t.Fatalf("request round trip %+v, %v", back, err)
	}
	for n := 0; n < 6; n++ {
		if _, err := zmtp.ParseZAPRequest(rf[:n]); !errors.Is(err, zmtp.ErrZAPReply) {
			t.Errorf("request of %d frames: %v", n, err)
		}
	}
}

// framesOf cuts b into ZMTP frames, as a reply arrives from a handler socket; the rest of a
// frame that does not fit is dropped.
func framesOf(b []byte) [][]byte {
	var frames [][]byte
	for len(b) > 0 {
		h, n, err := codec.ParseFrameHeader(b, 1<<16)
		if err != nil || uint64(len(b)-n) < h.Size {
			break
		}
		frames = append(frames, b[n:n+int(h.Size)])
		b = b[n+int(h.Size):]
	}
	return frames
}

// FuzzZAPReply feeds hostile replies, as a handler socket could send them, to the codec and to a
// session waiting for its answer: never a panic; a reply the codec accepts is applied, anything
// else is an error.
func FuzzZAPReply(f *testing.F) {
	for _, r := range []zmtp.ZAPReply{
		{Version: "1.0", RequestID: []byte("1"), StatusCode: 200, UserID: "u", Metadata: map[string]string{"X-K": "v"}},
		{Version: "1.0", RequestID: []byte("1"), StatusCode: 400, StatusText: "no"},
		{Version: "1.0", RequestID: []byte("2"), StatusCode: 300},
	} {
		var b []byte
		for _, fr := range r.AppendFrames(nil) {
			b = codec.AppendFrame(b, codec.FlagMore, fr)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		frames := framesOf(b)
		r, err := zmtp.ParseZAPReply(frames)
		if err != nil {
			if !errors.Is(err, zmtp.ErrZAPReply) {
				t.Fatalf("error %v is not ErrZAPReply", err)
			}
			return
		}
		switch r.StatusCode {
		case 200, 300, 400, 500:
		default:
			t.Fatalf("accepted status %d", r.StatusCode)
		}
		client, server := zapPlainPair("")
		link(t, t0, client, server)
		err = server.authorize(t, &r)
		idOK := string(r.RequestID) == "1"
		switch {
		case !idOK && !errors.Is(err, zmtp.ErrZAPReply):
			t.Fatalf("request id %q: %v", r.RequestID, err)
		case idOK && r.StatusCode == 200 && err != nil:
			t.Fatalf("200: %v", err)
		case idOK && r.StatusCode != 200 && zmtp.AuthStatus(err) != r.StatusCode:
			t.Fatalf("%d: %v", r.StatusCode, err)
		}
	})
}

// Peers that send the same READY share one property map (a server with thousands of alike peers
// keeps one), which nothing writes: a ZAP handler's User-Id and metadata go into a copy for the
// peer it admitted, and the other peers' maps do not see them.
func TestPeerPropertiesShared(t *testing.T) {
	pair := func(cfg zmtp.Config) (client, server *conn) {
		cfg.SocketType = "ROUTER"
		return linked(t, &zmtp.Config{SocketType: "DEALER", Properties: []codec.Property{{Name: "X-Shared", Value: []byte("v")}}}, &cfg)
	}
	_, a := pair(zmtp.Config{})
	_, b := pair(zmtp.Config{})
	pa, pb := a.s.Peer(), b.s.Peer()
	if pa == nil || pb == nil {
		t.Fatalf("handshakes: %v, %v", a.err, b.err)
	}
	if reflect.ValueOf(pa.Properties).UnsafePointer() != reflect.ValueOf(pb.Properties).UnsafePointer() {
		t.Error("two peers with the same READY keep a property map each")
	}
	if v, ok := pa.Property("x-shared"); !ok || string(v) != "v" || pa.SocketType != "DEALER" {
		t.Fatalf("properties %q, socket type %q", pa.Properties, pa.SocketType)
	}

	_, z := pair(zmtp.Config{ZAPDomain: "d"})
	if err := z.authorize(t, &zmtp.ZAPReply{StatusCode: 200, UserID: "anon", Metadata: map[string]string{"X-Granted": "yes"}}); err != nil {
		t.Fatal(err)
	}
	pz := z.s.Peer()
	if pz == nil {
		t.Fatalf("ZAP handshake: %v", z.err)
	}
	if v, ok := pz.Property("User-Id"); !ok || string(v) != "anon" {
		t.Fatalf("the admitted peer's properties %q lack its User-Id", pz.Properties)
	}
	if v, ok := pz.Property("X-Shared"); !ok || string(v) != "v" {
		t.Fatalf("the admitted peer's properties %q lost its own", pz.Properties)
	}
	for _, name := range []string{"User-Id", "X-Granted"} {
		if _, ok := pa.Property(name); ok {
			t.Fatalf("%s leaked into the shared map: %q", name, pa.Properties)
		}
	}
}
