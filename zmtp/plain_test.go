package zmtp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/zmtp"
)

func plainPair(user, pass string, auth func(u, p []byte) bool) (client, server *conn) {
	client = newConn(&zmtp.Config{SocketType: "PUSH", Compatible: compat("PULL"), Plain: true,
		PlainUsername: []byte(user), PlainPassword: []byte(pass)})
	server = newConn(&zmtp.Config{SocketType: "PULL", Compatible: compat("PUSH"), Plain: true,
		PlainServer: true, Authenticate: auth})
	return client, server
}

// PLAIN: HELLO, WELCOME, INITIATE, READY; the server learns the user, both learn the socket types,
// and messages flow.
func TestPlainHandshake(t *testing.T) {
	var gotUser, gotPass string
	client, server := plainPair("alice", "secret", func(u, p []byte) bool {
		gotUser, gotPass = string(u), string(p)
		return true
	})
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	link(t, t0, client, server)
	g, _, err := codec.ParseGreeting(server.wrote)
	if err != nil || g.Mechanism != "PLAIN" || !g.AsServer {
		t.Fatalf("server greeting %+v, %v", g, err)
	}
	if client.err != nil || server.err != nil || !client.s.Ready() || !server.s.Ready() {
		t.Fatalf("handshake: client %v, server %v", client.err, server.err)
	}
	if gotUser != "alice" || gotPass != "secret" {
		t.Fatalf("authenticator saw %q / %q", gotUser, gotPass)
	}
	p := server.s.Peer()
	if v, ok := p.Property(zmtp.PropUserID); !ok || string(v) != "alice" || p.SocketType != "PUSH" || p.Mechanism != "PLAIN" {
		t.Fatalf("server's peer %+v", p)
	}
	if client.s.Peer().SocketType != "PULL" {
		t.Fatalf("client's peer %+v", client.s.Peer())
	}
	client.out = msg(client.out, []byte("hi"))
	link(t, t0, client, server)
	if got := server.h.messages(); len(got) != 1 || got[0][0] != "hi" {
		t.Fatalf("server got %q", got)
	}
}

// A refused client gets ERROR "400", libzmq's ZAP status code, and fails with *PeerError; the
// server fails with ErrAuthentication.
func TestPlainRefused(t *testing.T) {
	client, server := plainPair("mallory", "guess", func(u, p []byte) bool { return string(p) == "secret" })
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	link(t, t0, client, server)
	if !errors.Is(server.err, zmtp.ErrAuthentication) {
		t.Fatalf("server: %v", server.err)
	}
	var pe *zmtp.PeerError
	if !errors.As(client.err, &pe) || pe.Reason != "400" || zmtp.AuthStatus(client.err) != 400 ||
		zmtp.AuthStatus(server.err) != 400 {
		t.Fatalf("client: %v", client.err)
	}
	if server.s.Ready() || client.s.Ready() {
		t.Fatal("ready after a refusal")
	}
}

// libzmq 4.3 spells the ERROR of a ZAP refusal "\x5ERROR" (its "\x05ERROR" literal swallows the E):
// a PLAIN client still reads it as the refusal it is.
func TestPlainLibzmqBadError(t *testing.T) {
	client := newConn(&zmtp.Config{SocketType: "PUSH", Plain: true, PlainUsername: []byte("a")})
	client.out = client.s.Start(t0, nil)
	in := codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: "PLAIN", AsServer: true})
	in = append(in, 0x04, 9, 0x5E, 'R', 'R', 'O', 'R', 3, '4', '0', '0')
	err := client.pushBytes(t, t0, in)
	var pe *zmtp.PeerError
	if !errors.As(err, &pe) || pe.Reason != "400" || !errors.Is(err, zmtp.ErrAuthentication) {
		t.Fatalf("got %v", err)
	}
}

// The handshake survives its bytes arriving one at a time, in both directions.
func TestPlainSplit(t *testing.T) {
	client, server := plainPair("u", "p", func(u, p []byte) bool { return true })
	linkBytes(t, t0, client, server)
}

// Malformed HELLOs and commands out of order fail the server's session, never panic.
func TestPlainServerViolations(t *testing.T) {
	hello := func(d []byte) []byte { return codec.AppendCommand(nil, "HELLO", d) }
	for name, in := range map[string][]byte{
		"short":           hello([]byte{5, 'a'}),
		"trailing bytes":  hello([]byte{1, 'a', 1, 'b', 'x'}),
		"no password len": hello([]byte{1, 'a'}),
		"INITIATE first":  codec.AppendCommand(nil, "INITIATE", nil),
		"READY":           codec.AppendReady(nil),
		"HELLO twice":     append(hello([]byte{0, 0}), hello([]byte{0, 0})...),
	} {
		server := newConn(&zmtp.Config{SocketType: "PULL", Plain: true, PlainServer: true,
			Authenticate: func(u, p []byte) bool { return true }})
		server.out = server.s.Start(t0, nil)
		err := server.push(t, t0, append(peerGreeting(3, 1, "PLAIN"), in...))
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Without an authenticator a PLAIN server asks its owner; with no ZAP handler at all (a nil
// answer) it refuses everyone, as libzmq does: closed without an ERROR, ErrNoZAPHandler.
func TestPlainNoAuthenticatorRefuses(t *testing.T) {
	client, server := plainPair("alice", "secret", nil)
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	link(t, t0, client, server)
	req := server.s.AuthRequest()
	if req == nil || req.Mechanism != "PLAIN" || len(req.Credentials) != 2 || string(req.Credentials[0]) != "alice" ||
		string(req.Credentials[1]) != "secret" {
		t.Fatalf("request %+v", req)
	}
	out, err := server.s.Authorized(nil, t0, nil, server.h)
	if !errors.Is(err, zmtp.ErrNoZAPHandler) || errors.Is(err, zmtp.ErrAuthentication) || len(out) != 0 {
		t.Fatalf("no handler: %v, wrote %q", err, out)
	}
	if server.s.AuthRequest() != nil {
		t.Fatal("a failed session still has a request")
	}
}

// FuzzPlainServer fuzzes a PLAIN server from the peer's first byte, seeded with a client's own
// handshake.
func FuzzPlainServer(f *testing.F) {
	client, server := plainPair("alice", "secret", func(u, p []byte) bool { return true })
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	var fromClient []byte
	for i := 0; i < 10; i++ {
		co, so := client.takeOut(), server.takeOut()
		if len(co) == 0 && len(so) == 0 {
			break
		}
		fromClient = append(fromClient, co...)
		_ = server.push(f, t0, co)
		_ = client.push(f, t0, so)
	}
	f.Add(fromClient)
	f.Add(append(bytes.Clone(fromClient), msg(nil, []byte("hi"))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		s := newConn(&zmtp.Config{SocketType: "PULL", Compatible: compat("PUSH"), Plain: true, PlainServer: true,
			MaxCommandSize: 1024, Authenticate: func(u, p []byte) bool { return len(u) > 0 }})
		s.out = s.s.Start(t0, nil)
		_ = s.push(t, t0, data)
		s.h.check(t)
	})
}

// A client cannot pass itself off as another user: whatever it calls User-Id in its metadata, in
// any case, gives way to the name the server authenticated.
func TestPlainUserIDNotForgeable(t *testing.T) {
	client := newConn(&zmtp.Config{SocketType: "PUSH", Compatible: compat("PULL"), Plain: true,
		PlainUsername: []byte("alice"), PlainPassword: []byte("secret"),
		Properties: []codec.Property{{Name: "user-id", Value: []byte("root")}, {Name: "USER-ID", Value: []byte("root")}}})
	server := newConn(&zmtp.Config{SocketType: "PULL", Compatible: compat("PUSH"), Plain: true, PlainServer: true,
		Authenticate: func(u, p []byte) bool { return true }})
	client.out = client.s.Start(t0, nil)
	server.out = server.s.Start(t0, nil)
	link(t, t0, client, server)
	if server.err != nil {
		t.Fatal(server.err)
	}
	p := server.s.Peer()
	for _, name := range []string{"User-Id", "user-id", "USER-ID", "User-ID"} {
		if v, ok := p.Property(name); !ok || string(v) != "alice" {
			t.Fatalf("%s = %q", name, v)
		}
	}
}
