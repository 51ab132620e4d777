package zmtp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

type curveKeys struct{ serverPub, serverSec, clientPub, clientSec zmtp.CurveKey }

func newCurveKeys(t testing.TB) curveKeys {
	var k curveKeys
	var err error
	if k.serverPub, k.serverSec, err = zmtp.CurveKeypair(); err != nil {
		t.Fatal(err)
	}
	if k.clientPub, k.clientSec, err = zmtp.CurveKeypair(); err != nil {
		t.Fatal(err)
	}
	return k
}

func curveConfigs(k curveKeys, auth func([]byte) error) (client, server *zmtp.Config) {
	client = &zmtp.Config{SocketType: "PUSH", Compatible: compat("PULL"), Curve: true,
		CurvePublicKey: k.clientPub, CurveSecretKey: k.clientSec, CurveServerKey: k.serverPub,
		Properties: []codec.Property{{Name: "X-Who", Value: []byte("client")}}}
	server = &zmtp.Config{SocketType: "PULL", Compatible: compat("PUSH"), Curve: true, CurveServer: true,
		CurvePublicKey: k.serverPub, CurveSecretKey: k.serverSec}
	if auth == nil {
		auth = func([]byte) error { return nil }
	}
	{
		// ZAP answered at once (Config.Authorize), with the client's key as the one credential.
		// (Without Authorize the session leaves the request to its owner: AuthRequest.)
		server.Authorize = func(req *zmtp.ZAPRequest) *zmtp.ZAPReply {
			if req.Mechanism != zmtp.MechanismCurve || len(req.Credentials) != 1 {
				return &zmtp.ZAPReply{StatusCode: zmtp.ZAPInternalFail}
			}
			if err := auth(req.Credentials[0]); err != nil {
				return &zmtp.ZAPReply{StatusCode: zmtp.ZAPDenied, StatusText: err.Error()}
			}
			return &zmtp.ZAPReply{StatusCode: zmtp.ZAPOK}
		}
	}
	return client, server
}

func curvePair(t testing.TB, k curveKeys, auth func([]byte) error) (client, server *conn) {
	cc, sc := curveConfigs(k, auth)
	client, server = newConn(cc), newConn(sc)
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	return client, server
}

func curveReady(t testing.TB) (client, server *conn, k curveKeys) {
	t.Helper()
	k = newCurveKeys(t)
	client, server = curvePair(t, k, nil)
	link(t, t0, client, server)
	if client.err != nil || server.err != nil || !client.s.Ready() || !server.s.Ready() {
		t.Fatalf("handshake: client %v, server %v", client.err, server.err)
	}
	return client, server, k
}

// sealMsg appends a message's frames as the reactor sends them on a CURVE connection: each frame
// boxed into a MESSAGE command, in a frame without the COMMAND flag (as libzmq sends them).
func sealMsg(dst []byte, s *zmtp.CurveSealer, parts ...[]byte) []byte {
	return sealMsgFlags(dst, 0, s, parts...)
}

func sealMsgFlags(dst []byte, outer byte, s *zmtp.CurveSealer, parts ...[]byte) []byte {
	for i, p := range parts {
		var f byte
		if i < len(parts)-1 {
			f = codec.FlagMore
		}
		dst = codec.AppendFrame(dst, outer, s.AppendMessage(nil, f, p))
	}
	return dst
}

// A whole CURVE handshake: the server announces as-server, both learn socket types and metadata
// (sent inside INITIATE and READY boxes), the hook sees the client's long-term key, and frames
// travel only as MESSAGE commands whose boxes hide them, in both directions.
func TestCurveHandshake(t *testing.T) {
	k := newCurveKeys(t)
	var seen []byte
	client, server := curvePair(t, k, func(key []byte) error { seen = bytes.Clone(key); return nil })
	link(t, t0, client, server)
	if client.err != nil || server.err != nil || !client.s.Ready() || !server.s.Ready() {
		t.Fatalf("handshake: client %v, server %v", client.err, server.err)
	}
	if !bytes.Equal(seen, k.clientPub[:]) {
		t.Fatalf("authorize saw %x, want the client's public key", seen)
	}
	g, _, err := codec.ParseGreeting(server.wrote)
	if err != nil || g.Mechanism != "CURVE" || !g.AsServer {
		t.Fatalf("server greeting %+v, %v", g, err)
	}
	if p := server.s.Peer(); p.SocketType != "PUSH" || p.Mechanism != "CURVE" {
		t.Fatalf("server's peer %+v", p)
	} else if v, _ := p.Property("X-Who"); string(v) != "client" {
		t.Fatalf("client metadata lost: %q", v)
	}
	if client.s.Peer().SocketType != "PULL" {
		t.Fatalf("client's peer %+v", client.s.Peer())
	}
	secret := []byte("attack at dawn, bring snacks")
	client.out = sealMsg(client.out, client.s.Sealer(), []byte("hdr"), secret)
	// rfc 26 calls MESSAGE a command: one in a command frame is taken as well.
	client.out = sealMsgFlags(client.out, codec.FlagCommand, client.s.Sealer(), []byte("cmd-framed"))
	server.out = sealMsg(server.out, server.s.Sealer(), []byte("back"))
	link(t, t0, client, server)
	if got := server.h.messages(); len(got) != 2 || got[0][0] != "hdr" || got[0][1] != string(secret) || got[1][0] != "cmd-framed" {
		t.Fatalf("server got %q (%v)", got, server.err)
	}
	if got := client.h.messages(); len(got) != 1 || got[0][0] != "back" {
		t.Fatalf("client got %q (%v)", got, client.err)
	}
	if bytes.Contains(client.wrote, secret) || bytes.Contains(client.wrote, []byte("Socket-Type")) ||
		bytes.Contains(server.wrote, []byte("Socket-Type")) {
		t.Fatal("plaintext on the wire")
	}
	server.h.check(t)
	client.h.check(t)
}

// The handshake and the messages after it survive their bytes cut at every position: each
// direction's stream is fed split in two at every byte.
func TestCurveSplitEveryByte(t *testing.T) {
	k := newCurveKeys(t)
	// Record one full exchange, then replay each side's stream into fresh sessions cut anywhere.
	// The transient keys differ per run, so each cut runs a whole new pair: the client's stream
	// is cut, the server answers whole.
	ref, _ := curvePair(t, k, nil)
	n := 0
	for cut := 1; ; cut++ {
		client, server := curvePair(t, k, nil)
		var cs []byte
		for round := 0; round < 10; round++ {
			co, so := client.takeOut(), server.takeOut()
			if client.s.Ready() && len(cs) == 0 {
				co = sealMsg(co, client.s.Sealer(), []byte("a"), pattern(300, 1))
				cs = co
			}
			if len(co) == 0 && len(so) == 0 {
				break
			}
			if len(co) > 0 {
				c := min(cut, len(co))
				if err := server.pushChunks(t, t0, co, c); err != nil {
					t.Fatalf("cut %d: server %v", cut, err)
				}
			}
			if len(so) > 0 {
				c := min(cut, len(so))
				if err := client.pushChunks(t, t0, so, c); err != nil {
					t.Fatalf("cut %d: client %v", cut, err)
				}
			}
		}
		if got := server.h.messages(); len(got) != 1 || len(got[0]) != 2 || got[0][1] != string(pattern(300, 1)) {
			t.Fatalf("cut %d: server got %d messages", cut, len(got))
		}
		n++
		if cut > len(client.wrote)+len(cs) {
			break
		}
	}
	_ = ref
	if n < 400 {
		t.Fatalf("only %d cuts", n)
	}
}

// Byte by byte, both ways, with a heartbeat: PINGs and PONGs are boxed too.
func TestCurveByteByByteWithHeartbeat(t *testing.T) {
	k := newCurveKeys(t)
	cc, sc := curveConfigs(k, nil)
	sc.HeartbeatIvl = 1e9
	client, server := newConn(cc), newConn(sc)
	linkBytes(t, t0, client, server)
	out, err := server.s.Tick(t0.Add(2e9), nil)
	if err != nil || len(out) == 0 {
		t.Fatalf("no PING: %v", err)
	}
	if bytes.Contains(out, []byte("PING")) || !bytes.Contains(out, []byte("MESSAGE")) {
		t.Fatalf("PING not boxed: %q", out)
	}
	if err := client.pushBytes(t, t0, out); err != nil {
		t.Fatal(err)
	}
	pong := client.takeOut()
	if len(pong) == 0 || bytes.Contains(pong, []byte("PONG")) {
		t.Fatalf("PONG missing or not boxed: %q", pong)
	}
	if err := server.pushBytes(t, t0, pong); err != nil {
		t.Fatal(err)
	}
	if len(server.h.evs) != 1 { // ready only: PONG is the session's
		t.Fatalf("server events %v", server.h.evs)
	}
}

// A client with another server key: the server cannot open HELLO and fails with
// ErrCryptographic (libzmq's ZMTP_CRYPTOGRAPHIC); it sends nothing back.
func TestCurveWrongServerKey(t *testing.T) {
	k := newCurveKeys(t)
	other := newCurveKeys(t)
	k.serverPub = other.serverPub
	cc, _ := curveConfigs(k, nil)
	_, sc := curveConfigs(newCurveKeys(t), nil)
	client, server := newConn(cc), newConn(sc)
	client.out, server.out = client.s.Start(t0, nil), server.s.Start(t0, nil)
	link(t, t0, client, server)
	if !errors.Is(server.err, zmtp.ErrCryptographic) || client.s.Ready() {
		t.Fatalf("server %v, client ready %v", server.err, client.s.Ready())
	}
	if bytes.Contains(server.wrote, []byte("WELCOME")) {
		t.Fatal("server answered a HELLO it could not open")
	}
}

// A refusal by ZAP: ERROR "400" to the client, which reports it as a refusal
// (ErrAuthentication), and ErrAuthentication on the server.
func TestCurveAuthorizeRefuses(t *testing.T) {
	client, server := curvePair(t, newCurveKeys(t), func([]byte) error { return errors.New("not on the list") })
	link(t, t0, client, server)
	if !errors.Is(server.err, zmtp.ErrAuthentication) {
		t.Fatalf("server: %v", server.err)
	}
	var pe *zmtp.PeerError
	if !errors.As(client.err, &pe) || pe.Reason != "400" || !errors.Is(client.err, zmtp.ErrAuthentication) {
		t.Fatalf("client: %v", client.err)
	}
}

// handshakeCommands runs a handshake and returns each side's commands (frame bodies) after the
// greeting: the client's HELLO and INITIATE, the server's WELCOME and READY.
func handshakeCommands(t *testing.T, k curveKeys) (clientCmds, serverCmds [][]byte) {
	client, server := curvePair(t, k, nil)
	link(t, t0, client, server)
	if !server.s.Ready() {
		t.Fatal(server.err)
	}
	split := func(b []byte) (cmds [][]byte) {
		b = b[codec.GreetingSize:]
		for len(b) > 0 {
			h, n, err := codec.ParseFrameHeader(b, -1)
			if err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, b[:n+int(h.Size)])
			b = b[n+int(h.Size):]
		}
		return cmds
	}
	return split(client.wrote), split(server.wrote)
}

// Every box of the handshake, tampered with anywhere in its box, fails the side that opens it with
// ErrCryptographic; a replayed INITIATE fails too, on the same connection and on a new one.
func TestCurveTamperedAndReplayed(t *testing.T) {
	k := newCurveKeys(t)
	cc, sc := handshakeCommands(t, k)
	if len(cc) != 2 || len(sc) != 2 {
		t.Fatalf("client sent %d commands, server %d", len(cc), len(sc))
	}
	hello, initiate := cc[0], cc[1]
	greetS := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE", AsServer: true})
	greetC := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})

	// HELLO: flip a byte of its box (the last 80 bytes).
	for i := len(hello) - 80; i < len(hello); i += 7 {
		_, sconf := curveConfigs(k, nil)
		s := newConn(sconf)
		s.out = s.s.Start(t0, nil)
		bad := bytes.Clone(hello)
		bad[i] ^= 0x20
		if err := s.push(t, t0, append(bytes.Clone(greetC), bad...)); !errors.Is(err, zmtp.ErrCryptographic) {
			t.Fatalf("HELLO tampered at %d: %v", i, err)
		}
	}
	// WELCOME tampered reaches a fresh client that sent its own HELLO: its box is for another
	// transient key anyway, and tampered it fails the same way.
	ccfg, _ := curveConfigs(k, nil)
	c := newConn(ccfg)
	c.out = c.s.Start(t0, nil)
	if err := c.push(t, t0, append(bytes.Clone(greetS), sc[0]...)); !errors.Is(err, zmtp.ErrCryptographic) {
		t.Fatalf("WELCOME for another client: %v", err)
	}

	// INITIATE replayed to a new connection (new cookie key): the cookie does not open.
	_, sconf := curveConfigs(k, nil)
	s := newConn(sconf)
	s.out = s.s.Start(t0, nil)
	if err := s.push(t, t0, append(append(bytes.Clone(greetC), hello...), initiate...)); !errors.Is(err, zmtp.ErrCryptographic) {
		t.Fatalf("replayed INITIATE on a new connection: %v", err)
	}

	// INITIATE tampered on a live handshake, at positions in cookie, nonce and box; and INITIATE
	// sent twice on one connection.
	for _, pos := range []int{10, 60, 9 + 96 + 3, 9 + 96 + 8 + 5, -1, -2} {
		client, server := curvePair(t, k, nil)
		var ini []byte
		for i := 0; ini == nil; i++ {
			co := client.takeOut()
			if bytes.Contains(co, []byte("\x08INITIATE")) {
				ini = co
				break
			}
			if i > 10 {
				t.Fatal("no INITIATE")
			}
			_ = server.push(t, t0, co)
			_ = client.push(t, t0, server.takeOut())
		}
		if !bytes.HasPrefix(ini, []byte{codec.FlagCommand | 0x02}) {
			t.Fatalf("INITIATE not alone in its write: %x", ini[:12])
		}
		if pos == -2 {
			if err := server.push(t, t0, append(bytes.Clone(ini), ini...)); err == nil || server.s.Ready() {
				t.Fatalf("INITIATE twice: %v", err)
			}
			continue
		}
		if pos == -1 {
			pos = len(ini) - 1
		} else {
			pos += 9 // INITIATE's frame has a long header
		}
		ini[pos] ^= 1
		if err := server.push(t, t0, ini); !errors.Is(err, zmtp.ErrCryptographic) {
			t.Fatalf("INITIATE tampered at %d: %v", pos, err)
		}
	}
}

// After the handshake: a MESSAGE replayed, or two delivered out of order, or a tampered one,
// closes the connection with ErrCryptographic; a plain frame or a bare command does too.
func TestCurveMessageNonces(t *testing.T) {
	build := func() (server *conn, m1, m2 []byte) {
		client, server, _ := curveReady(t)
		s := client.s.Sealer()
		return server, sealMsg(nil, s, []byte("one")), sealMsg(nil, s, []byte("two"))
	}
	for name, tc := range map[string]func(m1, m2 []byte) []byte{
		"replayed":  func(m1, m2 []byte) []byte { return append(bytes.Clone(m1), m1...) },
		"reordered": func(m1, m2 []byte) []byte { return append(bytes.Clone(m2), m1...) },
		"tampered":  func(m1, m2 []byte) []byte { b := bytes.Clone(m1); b[len(b)-1] ^= 1; return b },
		"nonce":     func(m1, m2 []byte) []byte { b := bytes.Clone(m1); b[2+8+7] ^= 4; return b }, // its nonce's last byte
	} {
		server, m1, m2 := build()
		err := server.push(t, t0, tc(m1, m2))
		if !errors.Is(err, zmtp.ErrCryptographic) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, in := range map[string][]byte{
		"plain frame":   codec.AppendFrame(nil, 0, []byte("hi")),
		"bare PING":     codec.AppendPing(nil, 0, nil),
		"short MESSAGE": codec.AppendCommand(nil, "MESSAGE", make([]byte, 20)),
	} {
		server, _, _ := build()
		if err := server.push(t, t0, in); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// A MESSAGE larger than MaxMsgSize (plus the box's overhead) is refused from its header alone,
// before its body arrives; one just within it passes.
func TestCurveMessageLimit(t *testing.T) {
	k := newCurveKeys(t)
	cc, sc := curveConfigs(k, nil)
	sc.MaxMsgSize = 1000
	client, server := newConn(cc), newConn(sc)
	client.out, server.out = client.s.Start(t0, nil), server.s.Start(t0, nil)
	link(t, t0, client, server)
	ok := sealMsg(nil, client.s.Sealer(), pattern(1000, 2))
	if err := server.push(t, t0, ok); err != nil {
		t.Fatal(err)
	}
	big := sealMsg(nil, client.s.Sealer(), pattern(1001, 3))
	if err := server.push(t, t0, big[:12]); !errors.Is(err, zmtp.ErrTooLarge) {
		t.Fatalf("1001 bytes: %v", err)
	}
}

// Flow control: a frame refused for room is offered again (same bytes) and delivered once; the
// box is not opened twice (that would be a replay).
func TestCurveFlowControl(t *testing.T) {
	client, server, _ := curveReady(t)
	server.h.refuse = 2
	in := sealMsg(nil, client.s.Sealer(), []byte("x"), []byte("y"))
	in = sealMsg(in, client.s.Sealer(), []byte("z"))
	for i := 0; i < 3; i++ {
		if err := server.push(t, t0, in); err != nil {
			t.Fatal(err)
		}
		in = nil
	}
	if got := server.h.messages(); len(got) != 2 || got[0][1] != "y" || got[1][0] != "z" {
		t.Fatalf("got %q", got)
	}
	server.h.check(t)
}

// Over a transport that frames itself (ZWS 2.0), the handshake and MESSAGEs work the same.
func TestCurveFrameLevel(t *testing.T) {
	k := newCurveKeys(t)
	cc, sc := curveConfigs(k, nil)
	client, server := newFConn(*cc), newFConn(*sc)
	flink(t, client, server)
	if client.err != nil || server.err != nil || !client.s.Ready() || !server.s.Ready() {
		t.Fatalf("handshake: %v / %v", client.err, server.err)
	}
	for _, p := range [][]byte{[]byte("one"), pattern(70000, 4)} {
		body := client.s.Sealer().AppendMessage(nil, 0, p)
		client.out = testFramer{}.AppendFrame(client.out, 0, body)
	}
	flink(t, client, server)
	if got := server.h.messages(); len(got) != 2 || got[1][0] != string(pattern(70000, 4)) || server.err != nil {
		t.Fatalf("got %d messages, %v", len(got), server.err)
	}
	if server.feed(t, 0, []byte("plain")); server.err == nil {
		t.Fatal("a frame that is not a MESSAGE accepted on a CURVE connection")
	}
}

// Boxing a frame and opening it allocate nothing in the steady state.
func TestCurveSteadyStateAllocs(t *testing.T) {
	client, server, _ := curveReady(t)
	s := client.s.Sealer()
	body := pattern(1024, 5)
	buf := make([]byte, 0, 2048)
	h := &nopHandler{}
	run := func() {
		frame := codec.AppendFrameHeader(buf[:0], 0, codec.CurveMessageOverhead+len(body))
		frame = s.AppendMessage(frame, 0, body)
		n, _, err := server.s.Read(frame, t0, nil, h)
		if err != nil || n != len(frame) {
			t.Fatalf("read %d of %d: %v", n, len(frame), err)
		}
	}
	run()
	if a := testing.AllocsPerRun(200, run); a != 0 {
		t.Fatalf("%v allocations per message", a)
	}
}

// FuzzCurveServer fuzzes a CURVE server from the peer's first byte, seeded with a real client's
// handshake and a message.
func FuzzCurveServer(f *testing.F) {
	k := newCurveKeys(f)
	client, server := curvePair(f, k, nil)
	link(f, t0, client, server)
	seed := append(bytes.Clone(client.wrote), sealMsg(nil, client.s.Sealer(), []byte("m"))...)
	f.Add(seed)
	f.Add(seed[:len(seed)-1])
	f.Fuzz(func(t *testing.T, in []byte) {
		_, sc := curveConfigs(k, nil)
		s := newConn(sc)
		s.out = s.s.Start(t0, nil)
		_ = s.push(t, t0, in)
		_ = s.push(t, t0, in)
	})
}

// Handshake commands of the wrong size fail the side that gets them with a malformed-command
// error before anything is opened: one byte short, one byte long, empty.
func TestCurveTruncatedAndOversized(t *testing.T) {
	k := newCurveKeys(t)
	cc, sc := handshakeCommands(t, k)
	greetS := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE", AsServer: true})
	greetC := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "CURVE"})
	body := func(frame []byte) []byte {
		h, n, err := codec.ParseFrameHeader(frame, -1)
		if err != nil {
			t.Fatal(err)
		}
		return frame[n : n+int(h.Size)]
	}
	resize := func(b []byte, d int) []byte {
		if d < 0 {
			return bytes.Clone(b[:len(b)+d])
		}
		return append(bytes.Clone(b), make([]byte, d)...)
	}
	for _, d := range []int{-1, +1, -1000} {
		// HELLO to a server (fixed size: any change is refused).
		hello := body(cc[0])
		if d == -1000 {
			d = 7 - len(hello) // the name alone, and one byte
		}
		_, sconf := curveConfigs(k, nil)
		s := newConn(sconf)
		s.out = s.s.Start(t0, nil)
		in := append(bytes.Clone(greetC), codec.AppendFrame(nil, codec.FlagCommand, resize(hello, d))...)
		if err := s.push(t, t0, in); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("HELLO %+d bytes: %v", d, err)
		}
		// WELCOME to a client.
		welcome := body(sc[0])
		if d < -1 {
			d = 9 - len(welcome)
		}
		cconf, _ := curveConfigs(k, nil)
		c := newConn(cconf)
		c.out = c.s.Start(t0, nil)
		in = append(bytes.Clone(greetS), codec.AppendFrame(nil, codec.FlagCommand, resize(welcome, d))...)
		if err := c.push(t, t0, in); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("WELCOME %+d bytes: %v", d, err)
		}
	}
	// A READY shorter than its nonce and tag, to a client that sent INITIATE.
	client, server := curvePair(t, k, nil)
	for i := 0; i < 10 && !bytes.Contains(client.out, []byte("\x08INITIATE")); i++ {
		_ = server.push(t, t0, client.takeOut())
		_ = client.push(t, t0, server.takeOut())
	}
	if err := client.push(t, t0, codec.AppendCommand(nil, "READY", make([]byte, 20))); !errors.Is(err, codec.ErrMalformed) {
		t.Errorf("short READY: %v", err)
	}
}

// FuzzCurveClient fuzzes a CURVE client from the server's first byte, seeded with a real server's
// side of a handshake (whose boxes are for another client's transient key: they must fail cleanly).
func FuzzCurveClient(f *testing.F) {
	k := newCurveKeys(f)
	client, server := curvePair(f, k, nil)
	link(f, t0, client, server)
	seed := append(bytes.Clone(server.wrote), sealMsg(nil, server.s.Sealer(), []byte("m"))...)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, in []byte) {
		cc, _ := curveConfigs(k, nil)
		c := newConn(cc)
		c.out = c.s.Start(t0, nil)
		_ = c.push(t, t0, in)
		if c.s.Ready() {
			t.Fatal("a client completed a handshake whose WELCOME was for another transient key")
		}
	})
}

// roomRecorder is a recorder that answers Room, as the reactor's connection does.
type roomRecorder struct {
	*recorder
	room bool
}

func (r *roomRecorder) Room() bool { return r.room }

// A large MESSAGE reaching a Handler that can tell its room is gathered by the session as it
// arrives: each Read consumes what it is offered instead of waiting for the whole box, and the
// frame is delivered once. Without room it is not started at all.
func TestCurveLargeMessageGathered(t *testing.T) {
	client, server, _ := curveReady(t)
	big := pattern(300<<10, 7)
	in := sealMsg(nil, client.s.Sealer(), big)
	h := &roomRecorder{recorder: server.h}
	n, _, err := server.s.Read(in[:5000], t0, nil, h)
	if err != nil || n != 0 {
		t.Fatalf("without room: consumed %d, %v", n, err)
	}
	h.room = true
	var buf []byte
	for off := 0; off < len(in); {
		end := min(off+7000, len(in))
		buf = append(buf, in[off:end]...)
		off = end
		n, _, err := server.s.Read(buf, t0, nil, h)
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[n:]
		if len(buf) > 16 {
			t.Fatalf("%d bytes left unconsumed: the session waits for the whole box", len(buf))
		}
	}
	if got := server.h.messages(); len(got) != 1 || got[0][0] != string(big) {
		t.Fatalf("got %d messages", len(got))
	}
	server.h.check(t)
}

// roomyNop is a nopHandler that always has room, so that large MESSAGEs are gathered.
type roomyNop struct{ nopHandler }

func (*roomyNop) Room() bool { return true }

// A steady stream of gathered MESSAGEs below maxKeptBuffer (4 MiB) allocates nothing once the
// first has grown the buffers: the held ciphertext is kept as the plaintext is.
func TestCurveGatheredSteadyStateAllocs(t *testing.T) {
	client, server, _ := curveReady(t)
	s := client.s.Sealer()
	body := pattern(2<<20, 9)
	buf := make([]byte, 0, len(body)+64)
	h := &roomyNop{}
	run := func() {
		frame := codec.AppendFrameHeader(buf[:0], 0, codec.CurveMessageOverhead+len(body))
		frame = s.AppendMessage(frame, 0, body)
		for off := 0; off < len(frame); {
			end := min(off+64<<10, len(frame))
			n, _, err := server.s.Read(frame[off:end], t0, nil, h)
			if err != nil || n != end-off {
				t.Fatalf("read %d of %d: %v", n, end-off, err)
			}
			off = end
		}
	}
	run()
	if a := testing.AllocsPerRun(10, run); a != 0 {
		t.Fatalf("%v allocations per 2 MiB message", a)
	}
	if h.bytes != 12*len(body) {
		t.Fatalf("delivered %d bytes, want %d", h.bytes, 12*len(body))
	}
}
