package sockets

// tls:// (ZMTP 3.1 over TLS) and wss:// (ZWS 2.0 over TLS): zloop to zloop, and against libzmq 4.3
// behind stunnel4, the way libzmq deployments add TLS: zloop's tls:// client to stunnel (server
// mode) to a libzmq tcp:// bind, and a libzmq tcp:// client through stunnel (client mode) to a
// zloop tls:// bind; the same for wss:// with libzmq's ws:// transport behind stunnel. Mutual TLS
// throughout: stunnel checks zloop's client certificate and zloop stunnel's.

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/stunnel"
	"github.com/zloop/zloop/internal/testcert"
	"github.com/zloop/zloop/internal/testpeer"
	"github.com/zloop/zloop/reactor"
)

var (
	tlsCertsOnce sync.Once
	tlsCerts     *testcert.Set
	tlsCertsErr  error
)

func testCerts(t testing.TB) *testcert.Set {
	t.Helper()
	tlsCertsOnce.Do(func() { tlsCerts, tlsCertsErr = testcert.NewSet() })
	if tlsCertsErr != nil {
		t.Fatal(tlsCertsErr)
	}
	return tlsCerts
}

// tlsServer and tlsClient are the options of a mutual-TLS server and its client.
func tlsServer(t testing.TB) Option { return WithTLS(testCerts(t).ServerConfig(true)) }
func tlsClient(t testing.TB) Option { return WithTLS(testCerts(t).ClientConfig()) }

// connectTLS connects s (with tlsClient) to a tls:// or wss:// endpoint bound at 127.0.0.1, by the
// name the test certificate carries, localhost.
func connectTLS(t testing.TB, s *Socket, ep string) {
	t.Helper()
	if err := s.Connect(strings.Replace(ep, "127.0.0.1", "localhost", 1)); err != nil {
		t.Fatal(err)
	}
}

// largeMessages: every ws length class, multipart, and bodies past 1 MiB.
func largeMessages() [][][]byte {
	return append(wsMessages(), [][]byte{frameOf(1<<20+7, 'L')}, [][]byte{[]byte("head"), frameOf(3<<20, 'M'), frameOf(65536, 'N')})
}

func TestTLSZloopToZloop(t *testing.T) {
	for _, tr := range []string{"tls://127.0.0.1:*", "wss://127.0.0.1:*/zmq"} {
		t.Run(tr[:strings.Index(tr, ":")], func(t *testing.T) {
			r := newReactor(t)
			ctx := testCtx(t)
			pull := newSocket(t, r, Pull, tlsServer(t))
			ep, err := pull.Bind(tr)
			if err != nil {
				t.Fatal(err)
			}
			push := newSocket(t, r, Push, tlsClient(t))
			connectTLS(t, push, ep)
			msgs := largeMessages()
			for _, m := range msgs {
				if err := push.Send(ctx, m...); err != nil {
					t.Fatal(err)
				}
			}
			for i, want := range msgs {
				got, err := pull.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !sameMsg(got, want) {
					t.Fatalf("message %d wrong", i)
				}
			}
			if s := push.Stats(); s.SenderWrites != 0 {
				t.Fatalf("%d direct writes over TLS: every record goes out from the loop", s.SenderWrites)
			}
			if s := pull.Stats(); s.DirectReads == 0 {
				t.Fatal("no large body was decrypted straight into its message")
			}
		})
	}
}

// needTLSPeers skips (fails in CI) without libzmq or stunnel.
func needTLSPeers(t *testing.T) {
	t.Helper()
	for _, err := range []error{testpeer.Available(), stunnel.Available()} {
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// tlsFiles writes the test certificates for stunnel.
type tlsFiles struct{ ca, srvCert, srvKey, cliCert, cliKey string }

func writeTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	s := testCerts(t)
	dir := t.TempDir()
	var f tlsFiles
	var err error
	if f.ca, err = s.CA.WriteCA(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	if f.srvCert, f.srvKey, err = testcert.WriteFiles(dir, "server", s.Server); err != nil {
		t.Fatal(err)
	}
	if f.cliCert, f.cliKey, err = testcert.WriteFiles(dir, "client", s.Client); err != nil {
		t.Fatal(err)
	}
	return f
}

func startTunnel(t *testing.T, cfg stunnel.Config) *stunnel.Tunnel {
	t.Helper()
	tn, err := stunnel.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stunnel log:\n%s", tn.Log())
		}
		_ = tn.Close()
	})
	return tn
}

// linkThroughStunnel connects the zloop socket z and the libzmq peer l over scheme ("tls" or
// "wss"), with stunnel terminating TLS on libzmq's side; zloopBinds chooses who binds.
func linkThroughStunnel(t *testing.T, z *Socket, l *testpeer.Peer, scheme string, zloopBinds bool) {
	t.Helper()
	f := writeTLSFiles(t)
	path, plain := "", "tcp"
	if scheme == "wss" {
		path, plain = "/zmq", "ws"
	}
	if zloopBinds {
		ep, err := z.Bind(scheme + "://127.0.0.1:*" + path)
		if err != nil {
			t.Fatal(err)
		}
		hostPort := strings.TrimPrefix(ep, scheme+"://")
		hostPort = strings.TrimSuffix(hostPort, path)
		tn := startTunnel(t, stunnel.Config{Client: true, Connect: hostPort, CertFile: f.cliCert, KeyFile: f.cliKey, CAFile: f.ca, CheckHost: "localhost"})
		l.Connect(plain + "://" + tn.Addr() + path)
		return
	}
	ep := l.Bind(plain + "://127.0.0.1:*" + path)
	hostPort := strings.TrimSuffix(strings.TrimPrefix(ep, plain+"://"), path)
	tn := startTunnel(t, stunnel.Config{Connect: hostPort, CertFile: f.srvCert, KeyFile: f.srvKey, CAFile: f.ca})
	port := tn.Addr()[strings.LastIndexByte(tn.Addr(), ':'):]
	if err := z.Connect(scheme + "://localhost" + port + path); err != nil {
		t.Fatal(err)
	}
}

func TestInteropTLS(t *testing.T) { testInteropTLS(t, "tls") }
func TestInteropWSS(t *testing.T) { testInteropTLS(t, "wss") }

func testInteropTLS(t *testing.T, scheme string) {
	needTLSPeers(t)
	type pair struct{ zloop, libzmq Type }
	for _, pr := range []pair{{Push, Pull}, {Pull, Push}, {Req, Rep}, {Rep, Req}} {
		for _, zloopBinds := range []bool{true, false} {
			t.Run(fmt.Sprintf("zloop %v to libzmq %v, zloop binds %v", pr.zloop, pr.libzmq, zloopBinds), func(t *testing.T) {
				r := newReactor(t)
				opt := tlsClient(t)
				if zloopBinds {
					opt = tlsServer(t)
				}
				z := newSocket(t, r, pr.zloop, WithLinger(time.Second), opt)
				l := testpeer.Start(t, pr.libzmq.String())
				linkThroughStunnel(t, z, l, scheme, zloopBinds)
				exchangeMsgs(t, z, l, pr.zloop, largeMessages())
			})
		}
	}
	for _, zloopBinds := range []bool{true, false} {
		t.Run(fmt.Sprintf("zloop PUB to libzmq SUB, zloop binds %v", zloopBinds), func(t *testing.T) {
			r := newReactor(t)
			opt := tlsClient(t)
			if zloopBinds {
				opt = tlsServer(t)
			}
			z := newSocket(t, r, Pub, opt)
			l := testpeer.Start(t, "SUB")
			l.SetBytes("SUBSCRIBE", []byte("t"))
			linkThroughStunnel(t, z, l, scheme, zloopBinds)
			// The subscription arrives some time after the connection: publish until one gets through.
			waitFor(t, "a message through the subscription", func() bool {
				mustSend(t, z, []byte("nope"))
				mustSend(t, z, []byte("t"), frameOf(70000, 'p'))
				m, err := l.Recv(100 * time.Millisecond)
				return err == nil && sameMsg(m, [][]byte{[]byte("t"), frameOf(70000, 'p')})
			})
		})
		t.Run(fmt.Sprintf("zloop DEALER to libzmq ROUTER, zloop binds %v", zloopBinds), func(t *testing.T) {
			r := newReactor(t)
			opt := tlsClient(t)
			if zloopBinds {
				opt = tlsServer(t)
			}
			z := newSocket(t, r, Dealer, opt, WithRoutingID([]byte("zd")))
			l := testpeer.Start(t, "ROUTER")
			linkThroughStunnel(t, z, l, scheme, zloopBinds)
			mustSend(t, z, []byte("q"), frameOf(1<<20, 'd'))
			m := libRecv(t, l)
			if !sameMsg(m, [][]byte{[]byte("zd"), []byte("q"), frameOf(1<<20, 'd')}) {
				t.Fatalf("libzmq ROUTER got %d frames", len(m))
			}
			l.Send([]byte("zd"), []byte("a"), frameOf(126, 'r'))
			if got := mustRecv(t, z); !sameMsg(got, [][]byte{[]byte("a"), frameOf(126, 'r')}) {
				t.Fatalf("zloop DEALER got %d frames", len(got))
			}
		})
	}
}

// Mutual TLS with stunnel on the other side: a zloop client without a certificate is refused by
// stunnel, and a libzmq client behind a stunnel without one is refused by zloop; both with a
// handshake failure on zloop's monitor carrying the TLS error, and zloop's server keeps serving.
func TestInteropTLSRefused(t *testing.T) {
	needTLSPeers(t)
	f := writeTLSFiles(t)
	t.Run("zloop client without a certificate", func(t *testing.T) {
		r := newReactor(t)
		cfg := testCerts(t).ClientConfig()
		cfg.Certificates = nil
		z := newSocket(t, r, Push, WithTLS(cfg), WithReconnectIvl(-1, 0))
		events := z.Monitor(64)
		l := testpeer.Start(t, "PULL")
		ep := l.Bind("tcp://127.0.0.1:*")
		tn := startTunnel(t, stunnel.Config{Connect: strings.TrimPrefix(ep, "tcp://"), CertFile: f.srvCert, KeyFile: f.srvKey, CAFile: f.ca})
		if err := z.Connect("tls://localhost" + tn.Addr()[strings.LastIndexByte(tn.Addr(), ':'):]); err != nil {
			t.Fatal(err)
		}
		waitTLSFailure(t, events)
	})
	t.Run("libzmq client without a certificate", func(t *testing.T) {
		r := newReactor(t)
		z := newSocket(t, r, Pull, tlsServer(t))
		events := z.Monitor(64)
		ep, err := z.Bind("tls://127.0.0.1:*")
		if err != nil {
			t.Fatal(err)
		}
		bad := startTunnel(t, stunnel.Config{Client: true, Connect: strings.TrimPrefix(ep, "tls://"), CAFile: f.ca, CheckHost: "localhost"})
		l := testpeer.Start(t, "PUSH")
		l.Connect("tcp://" + bad.Addr())
		waitTLSFailure(t, events)
		// A good client still gets through.
		good := startTunnel(t, stunnel.Config{Client: true, Connect: strings.TrimPrefix(ep, "tls://"), CertFile: f.cliCert, KeyFile: f.cliKey, CAFile: f.ca, CheckHost: "localhost"})
		l2 := testpeer.Start(t, "PUSH")
		l2.Connect("tcp://" + good.Addr())
		l2.Send([]byte("served"))
		if m := mustRecv(t, z); !sameMsg(m, [][]byte{[]byte("served")}) {
			t.Fatalf("got %q", m)
		}
	})
}

func waitTLSFailure(t *testing.T, events <-chan reactor.Event) {
	t.Helper()
	deadline := time.After(interopWait)
	for {
		select {
		case e := <-events:
			var te *reactor.TLSError
			if e.Type == reactor.EventHandshakeFailedProtocol && errors.As(e.Err, &te) {
				t.Logf("refused: %v", e)
				return
			}
			t.Logf("event %v", e)
		case <-deadline:
			t.Fatal("no TLS handshake failure on the monitor")
		}
	}
}

// PLAIN runs inside TLS like over tcp and ws (ZWS2.0/PLAIN over wss): the right password gets
// through, a wrong one fails the handshake as an authentication failure.
func TestTLSWithPlain(t *testing.T) {
	for _, tr := range []string{"tls://127.0.0.1:*", "wss://127.0.0.1:*/zmq"} {
		t.Run(tr[:strings.Index(tr, ":")], func(t *testing.T) {
			r := newReactor(t)
			auth := func(u, p string) bool { return u == "u" && p == "right" }
			pull := newSocket(t, r, Pull, tlsServer(t), WithPlainServer(true, auth))
			events := pull.Monitor(64)
			ep, err := pull.Bind(tr)
			if err != nil {
				t.Fatal(err)
			}
			bad := newSocket(t, r, Push, tlsClient(t), WithPlainClient("u", "wrong"), WithReconnectIvl(-1, 0))
			if err := bad.Connect(ep); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(interopWait)
			for failed := false; !failed; {
				select {
				case e := <-events:
					failed = e.Type == reactor.EventHandshakeFailedAuth
				case <-deadline:
					t.Fatal("no HANDSHAKE_FAILED_AUTH")
				}
			}
			push := newSocket(t, r, Push, tlsClient(t), WithPlainClient("u", "right"))
			if err := push.Connect(ep); err != nil {
				t.Fatal(err)
			}
			mustSend(t, push, []byte("plain in tls"))
			if m := mustRecv(t, pull); !sameMsg(m, [][]byte{[]byte("plain in tls")}) {
				t.Fatalf("got %q", m)
			}
		})
	}
}

// TestTLSPeerInZAPAndMetadata: the client certificate TLS verified reaches a Go ZAP handler
// (which can admit by it) and every received message (TLS-Subject, TLS-Fingerprint), beside the
// User-Id the handler gave.
func TestTLSPeerInZAPAndMetadata(t *testing.T) {
	certs := testCerts(t)
	leaf, err := x509.ParseCertificate(certs.Client.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	wantFP := fmt.Sprintf("sha256:%x", sha256.Sum256(leaf.Raw))
	for _, tr := range []string{"tls://127.0.0.1:*", "wss://127.0.0.1:*/zmq"} {
		t.Run(tr[:strings.Index(tr, ":")], func(t *testing.T) {
			r := newReactor(t)
			ctx := testCtx(t)
			seen := make(chan string, 1)
			handler := func(req ZAPRequest) ZAPReply {
				cert, err := x509.ParseCertificate(req.PeerCertificate)
				if err != nil {
					seen <- ""
					return ZAPReply{StatusCode: ZAPDenied}
				}
				seen <- cert.Subject.CommonName
				return ZAPReply{StatusCode: ZAPOK, UserID: "cert:" + cert.Subject.CommonName}
			}
			pull := newSocket(t, r, Pull, tlsServer(t), WithZAPDomain("tls"), WithZAPHandler(handler))
			ep, err := pull.Bind(tr)
			if err != nil {
				t.Fatal(err)
			}
			push := newSocket(t, r, Push, tlsClient(t))
			connectTLS(t, push, ep)
			if err := push.Send(ctx, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			m, err := pull.RecvMsg(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			if cn := <-seen; cn != "zloop client" {
				t.Fatalf("ZAP handler saw certificate %q, want the client's", cn)
			}
			want := map[string]string{
				"TLS-Subject":     leaf.Subject.String(),
				"TLS-Fingerprint": wantFP,
				"User-Id":         "cert:zloop client",
				"Socket-Type":     "PUSH",
			}
			for name, v := range want {
				if got, ok := m.Gets(name); !ok || got != v {
					t.Errorf("Gets(%q) = %q, %v; want %q", name, got, ok, v)
				}
			}
			if v, ok := m.Gets("TLS-Version"); !ok || !strings.HasPrefix(v, "TLS 1.") {
				t.Errorf("TLS-Version = %q, %v", v, ok)
			}
		})
	}
}
