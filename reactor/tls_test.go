package reactor

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testcert"
	"github.com/zloop/zloop/internal/zmtptest"
	"github.com/zloop/zloop/zmtp"
)

var (
	testCertsOnce sync.Once
	testCerts     *testcert.Set
	testCertsErr  error
)

// certs is the package's test CA and certificates, made once per run.
func certs(t testing.TB) *testcert.Set {
	t.Helper()
	testCertsOnce.Do(func() { testCerts, testCertsErr = testcert.NewSet() })
	if testCertsErr != nil {
		t.Fatal(testCertsErr)
	}
	return testCerts
}

// useTestTLS gives a server mutual TLS and a client the certificate it asks for.
func useTestTLS(t testing.TB, server, client *Options) {
	s := certs(t)
	server.TLS = s.ServerConfig(true)
	client.TLS = s.ClientConfig()
}

// checkTLSPeers: each side sees the other's verified leaf certificate.
func checkTLSPeers(t *testing.T, k *link) {
	t.Helper()
	s := certs(t)
	for _, c := range []struct {
		p    *Pipe
		cert tls.Certificate
	}{{k.cp, s.Server}, {k.bp, s.Client}} {
		tp := c.p.TLS()
		if tp == nil {
			t.Fatal("a pipe over TLS without its TLS peer")
		}
		if tp.Subject != c.cert.Leaf.Subject.String() || tp.Fingerprint != sha256.Sum256(c.cert.Leaf.Raw) {
			t.Fatalf("TLS peer %q %x, want %q", tp.Subject, tp.Fingerprint, c.cert.Leaf.Subject)
		}
		if tp.Chains == 0 || (tp.Version != tls.VersionTLS13 && tp.Version != tls.VersionTLS12) {
			t.Fatalf("TLS peer %+v: unverified or an unexpected version", tp)
		}
		md := tp.Metadata()
		if md["TLS-Subject"] != tp.Subject || md["TLS-Fingerprint"] != "sha256:"+tp.FingerprintHex() || md["TLS-Version"] == "" {
			t.Fatalf("metadata %v", md)
		}
	}
	// The seam for ZAP: the connection has the same TLS peer during its handshake.
	k.bp.mu.Lock()
	c := k.bp.conn
	k.bp.mu.Unlock()
	if c == nil {
		t.Fatal("the accepted pipe has no connection")
	}
	want := k.bp.TLS()
	onLoop(t, c.loop, func() {
		if c.tlsPeer() != want {
			t.Error("the connection's TLS peer is not the pipe's")
		}
	})
	if sn := k.bp.TLS().ServerName; sn != "127.0.0.1" && sn != "" {
		t.Fatalf("the server saw SNI %q", sn)
	}
}

// tlsFailure waits for o's handshake failure and checks that it is a TLS one.
func tlsFailure(t *testing.T, o *testOwner) *TLSError {
	t.Helper()
	e := o.waitEvent(t, EventHandshakeFailedProtocol)
	var te *TLSError
	if !errors.As(e.Err, &te) {
		t.Fatalf("%s: %v is not a TLS failure", o.name, e)
	}
	return te
}

// exchange checks that a good client still gets through to l: the server keeps serving.
func exchange(t *testing.T, r *Reactor, l *Listener, bo *testOwner) {
	t.Helper()
	copts := testOptions("PAIR", "PAIR")
	useTestTLS(t, testOptions("PAIR"), copts)
	co := newOwner(t, "good client")
	d := connect(t, r, l.Endpoint(), copts, co)
	cp := co.waitAttached(t)
	bp := bo.waitAttached(t)
	send(t, co, cp, []byte("still serving"))
	if m := recv(t, bo, bp); len(m) != 1 || string(m[0]) != "still serving" {
		t.Fatalf("got %q", m)
	}
	waitClosed(t, "the good client's close", d.Close(0))
}

// Mutual TLS refuses a client without a certificate, with an untrusted or expired one, and a client
// refuses a server whose certificate is not for the name it dialed or not from its CA: on both
// sides with a monitor event carrying the TLS error. The server keeps serving good clients.
func TestTLSHandshakeRefused(t *testing.T) {
	s := certs(t)
	other, err := testcert.NewCA("untrusted CA")
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := other.Issue(testcert.Leaf{CommonName: "intruder", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := s.CA.Issue(testcert.Leaf{CommonName: "expired", Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*tls.Config)
	}{
		{"no client certificate", func(c *tls.Config) { c.Certificates = nil }},
		{"untrusted client certificate", func(c *tls.Config) {
			// Sent whatever CAs the server names (crypto/tls would otherwise send none at all).
			c.Certificates = nil
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &untrusted, nil }
		}},
		{"expired client certificate", func(c *tls.Config) { c.Certificates = []tls.Certificate{expired} }},
		{"wrong server name", func(c *tls.Config) { c.ServerName = "wrong.example" }},
		{"untrusted server", func(c *tls.Config) { c.RootCAs = other.Pool() }},
		{"TLS 1.2 against 1.3 only", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }},
	}
	r := newTestReactor(t, Config{Loops: 2})
	bopts := testOptions("PAIR", "PAIR")
	bopts.TLS = s.ServerConfig(true)
	only13 := bopts.TLS.Clone()
	only13.MinVersion = tls.VersionTLS13
	bo := newOwner(t, "server")
	l := listen(t, r, "tls://127.0.0.1:*", bopts, bo)
	o13 := testOptions("PAIR", "PAIR")
	o13.TLS = only13
	bo13 := newOwner(t, "server 1.3")
	l13 := listen(t, r, "tls://127.0.0.1:*", o13, bo13)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			copts := testOptions("PAIR", "PAIR")
			copts.TLS = s.ClientConfig()
			c.edit(copts.TLS)
			copts.ReconnectIvl = -1
			co := newOwner(t, "client")
			ln, so := l, bo
			if c.name == "TLS 1.2 against 1.3 only" {
				ln, so = l13, bo13
			}
			d := connect(t, r, ln.Endpoint(), copts, co)
			ce, se := tlsFailure(t, co), tlsFailure(t, so)
			t.Logf("client: %v; server: %v", ce, se)
			if !se.Handshake {
				t.Fatalf("the server's failure is not its handshake's: %v", se)
			}
			if c.name == "untrusted client certificate" && !strings.Contains(se.Error(), "unknown authority") {
				t.Fatalf("server: %v", se)
			}
			waitClosed(t, "the client's close", d.Close(0))
		})
	}
	exchange(t, r, l, bo)
	waitFor(t, "no handshake in progress", func() bool {
		r.tlsSlots.mu.Lock()
		defer r.tlsSlots.mu.Unlock()
		return r.tlsSlots.n == 0
	})
}

// Hostile input on tls:// and wss:// ports: plain ZMTP, garbage, a handshake that stops halfway
// (ended by HANDSHAKE_IVL), an oversized record before and after the handshake. Each is closed with
// a TLS error on the monitor; a client that is connected meanwhile is unharmed, nothing is left
// in progress, and the listener serves a new client afterwards.
func TestTLSHostile(t *testing.T) {
	for _, tr := range []string{"tls", "wss"} {
		t.Run(tr, func(t *testing.T) { testTLSHostile(t, tr) })
	}
}

func testTLSHostile(t *testing.T, tr string) {
	s := certs(t)
	r := newTestReactor(t, Config{Loops: 2})
	bopts := testOptions("PAIR", "PAIR")
	bopts.TLS = s.ServerConfig(false)
	bopts.Session.HandshakeTimeout = 200 * time.Millisecond
	copts := testOptions("PAIR", "PAIR")
	copts.TLS = s.ClientConfig()
	k := pair(t, r, tr, bopts, copts)

	clientHello := func() []byte {
		// A real ClientHello's first record, captured from crypto/tls over a pipe.
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go func() { _ = tls.Client(a, &tls.Config{ServerName: "x"}).Handshake() }()
		buf := make([]byte, 4096)
		n, _ := io.ReadAtLeast(b, buf, 5)
		return buf[:n]
	}()
	cases := []struct {
		name string
		run  func(t *testing.T, nc net.Conn)
		says string
	}{
		{"plain ZMTP", func(t *testing.T, nc net.Conn) {
			_, _ = nc.Write(codec.AppendGreeting(nil, codec.Greeting{Major: 3, Minor: 1, Mechanism: codec.MechNull}))
		}, "does not look like a TLS handshake"},
		{"garbage", func(t *testing.T, nc net.Conn) { _, _ = nc.Write(bytes.Repeat([]byte{0x16, 0xff}, 100)) }, "tls:"},
		{"slowloris", func(t *testing.T, nc net.Conn) { _, _ = nc.Write(clientHello[:len(clientHello)/2]) }, "timeout|deadline exceeded"},
		{"huge handshake record", func(t *testing.T, nc net.Conn) {
			_, _ = nc.Write([]byte{0x16, 0x03, 0x01, 0xff, 0xff})
		}, "oversized record"},
		{"huge record after the handshake", func(t *testing.T, nc net.Conn) {
			tc := tls.Client(nc, &tls.Config{RootCAs: s.CA.Pool(), ServerName: "localhost"})
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			_, _ = nc.Write([]byte{0x17, 0x03, 0x03, 0xff, 0xff}) // beyond 2^14 + 256 for TLS 1.3
		}, "oversized record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nc := rawConn(t, k.l.Endpoint())
			c.run(t, nc)
			readToEOF(t, nc)
			var e Event
			for e.Remote != nc.LocalAddr().String() { // this connection's, not a late one of another
				e = k.bo.waitEvent(t, EventHandshakeFailedProtocol)
			}
			var te *TLSError
			if !errors.As(e.Err, &te) || !regexp.MustCompile(c.says).MatchString(te.Error()) {
				t.Fatalf("%v: want a TLS error saying %q", e, c.says)
			}
		})
	}
	// The connected pair is unharmed, the listener has nothing in progress, and it still serves.
	send(t, k.co, k.cp, []byte("unharmed"))
	if m := recv(t, k.bo, k.bp); string(m[0]) != "unharmed" {
		t.Fatalf("got %q", m)
	}
	waitFor(t, "no handshake in progress", func() bool {
		k.l.mu.Lock()
		defer k.l.mu.Unlock()
		return len(k.l.hs) == 0
	})
	waitFor(t, "only the pair's two connections left", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.conns) == 2
	})
}

// At most maxTLSHandshakes accepted connections handshake at once; one more is refused at once,
// with ErrTLSBusy on the monitor, and the slots come back as the stalled handshakes time out.
func TestTLSHandshakeSlots(t *testing.T) {
	old := maxTLSHandshakes
	maxTLSHandshakes = 2
	t.Cleanup(func() { maxTLSHandshakes = old })
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PAIR", "PAIR")
	opts.TLS = certs(t).ServerConfig(false)
	opts.Session.HandshakeTimeout = 300 * time.Millisecond
	o := newOwner(t, "server")
	l := listen(t, r, "tls://127.0.0.1:*", opts, o)
	slow := []net.Conn{rawConn(t, l.Endpoint()), rawConn(t, l.Endpoint())}
	waitFor(t, "two handshakes in progress", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.hs) == 2
	})
	third := rawConn(t, l.Endpoint())
	readToEOF(t, third)
	e := o.waitEvent(t, EventHandshakeFailedProtocol)
	if !errors.Is(e.Err, ErrTLSBusy) {
		t.Fatalf("%v: want ErrTLSBusy", e)
	}
	for _, nc := range slow {
		readToEOF(t, nc) // HANDSHAKE_IVL ends them
	}
	waitFor(t, "the slots back", func() bool {
		r.tlsSlots.mu.Lock()
		defer r.tlsSlots.mu.Unlock()
		return r.tlsSlots.n == 0
	})
	exchange(t, r, l, o)
}

// A client that asks to renegotiate (OpenSSL's s_client, TLS 1.2, its "R" command) is refused with
// the no_renegotiation alert and closed; the monitor says why.
func TestTLSRenegotiationRefused(t *testing.T) {
	openssl := needOpenSSL(t)
	s := certs(t)
	dir := t.TempDir()
	caFile, err := s.CA.WriteCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PAIR", "PAIR")
	opts.TLS = s.ServerConfig(false)
	o := newOwner(t, "server")
	l := listen(t, r, "tls://127.0.0.1:*", opts, o)
	_, addr := netAddr(t, l.Endpoint())
	stdin, out := startOpenSSL(t, openssl, "s_client", "-connect", addr, "-tls1_2", "-CAfile", caFile, "-servername", "localhost")
	// The ZMTP greeting has reached the client once its handshake is through; then renegotiate.
	waitFor(t, "the server's handshake", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.conns) == 1
	})
	if _, err := stdin.Write([]byte("R\n")); err != nil {
		t.Fatal(err)
	}
	e := o.waitEvent(t, EventHandshakeFailedProtocol)
	var te *TLSError
	if !errors.As(e.Err, &te) || !strings.Contains(te.Error(), "renegotiation") {
		t.Fatalf("%v: want a refused renegotiation; openssl said:\n%s", e, out.String())
	}
	exchange(t, r, l, o)
}

// A peer that sends its messages and then close_notify (as stunnel does the moment its side
// closes, keeping the socket open until we close ours) has every message delivered: what came
// before close_notify is parsed, and then the connection closes as at the peer's FIN.
func TestTLSCloseNotifyAfterMessages(t *testing.T) {
	s := certs(t)
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PULL")
	opts.TLS = s.ServerConfig(false)
	o := newOwner(t, "pull")
	l := listen(t, r, "tls://127.0.0.1:*", opts, o)
	nc := rawConn(t, l.Endpoint())
	tc := tls.Client(nc, &tls.Config{RootCAs: s.CA.Pool(), ServerName: "localhost"})
	peer := zmtptest.New(tc, "PUSH")
	if err := peer.Handshake(waitLimit); err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		if err := peer.SendFrames(seqMsg(uint64(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tc.CloseWrite(); err != nil { // close_notify alone, the socket stays open (as stunnel's)
		t.Fatal(err)
	}
	p := o.waitAttached(t)
	for i := range n {
		m := recv(t, o, p)
		if err := checkSeq(m[0], uint64(i), 100); err != nil {
			t.Fatal(err)
		}
	}
	if e := o.waitEvent(t, EventDisconnected); e.Err != nil && errors.As(e.Err, new(*TLSError)) {
		t.Fatalf("close_notify reported as a TLS failure: %v", e)
	}
	readToEOF(t, nc) // and the server closed its end
}

// HANDSHAKE_IVL bounds the TLS and the ZMTP handshake together: once TLS is through, the
// session's deadline is the interval counted from the TLS handshake's start, not a new one; a
// client that then says nothing is closed with the handshake timeout.
func TestTLSHandshakeIvlSpansBoth(t *testing.T) {
	s := certs(t)
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PULL")
	opts.TLS = s.ServerConfig(false)
	const ivl = 300 * time.Millisecond
	opts.Session.HandshakeTimeout = ivl
	o := newOwner(t, "pull")
	l := listen(t, r, "tls://127.0.0.1:*", opts, o)
	nc := rawConn(t, l.Endpoint())
	tc := tls.Client(nc, &tls.Config{RootCAs: s.CA.Pool(), ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	lp := testLoops(t, r)[0]
	var at, tlsStart time.Time
	waitFor(t, "the session's deadline", func() bool {
		l.mu.Lock()
		var c *conn
		for k := range l.conns {
			c = k
		}
		l.mu.Unlock()
		if c != nil {
			onLoop(t, lp, func() {
				if c.loop == lp && c.tls != nil && c.timerIdx >= 0 {
					at, tlsStart = lp.timerTime(c.timerAt), c.tls.start
				}
			})
		}
		return !at.IsZero()
	})
	if want := tlsStart.Add(ivl); at.After(want) {
		t.Fatalf("the ZMTP handshake's deadline is %v after the TLS start, want at most %v", at.Sub(tlsStart), ivl)
	}
	e := o.waitEvent(t, EventHandshakeFailedNoDetail)
	if !errors.Is(e.Err, zmtp.ErrHandshakeTimeout) {
		t.Fatalf("%v: want the handshake timeout", e)
	}
}

// A server that asks a zloop client to renegotiate (OpenSSL's s_server, TLS 1.2, its "R"
// command: a HelloRequest) is refused: crypto/tls answers no_renegotiation, and the client closes
// the connection with the TLS error on its monitor.
func TestTLSServerRenegotiationRefused(t *testing.T) {
	openssl := needOpenSSL(t)
	s := certs(t)
	dir := t.TempDir()
	certFile, keyFile, err := testcert.WriteFiles(dir, "server", s.Server)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	stdin, out := startOpenSSL(t, openssl, "s_server", "-accept", "127.0.0.1:"+strconv.Itoa(port), "-tls1_2", "-cert", certFile, "-key", keyFile)
	waitFor(t, "s_server accepting", func() bool {
		// A probe connection: s_server serves one at a time and goes on to the next.
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PUSH")
	opts.TLS = &tls.Config{RootCAs: s.CA.Pool()}
	opts.ReconnectIvl = -1
	o := newOwner(t, "client")
	connect(t, r, fmt.Sprintf("tls://localhost:%d", port), opts, o)
	// The connection reaches a loop once its TLS handshake is over (s_server's stdout is buffered:
	// what it prints is no signal).
	waitFor(t, "the client's TLS handshake", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.conns) == 1
	})
	if _, err := stdin.Write([]byte("R\n")); err != nil {
		t.Fatal(err)
	}
	e := o.waitEvent(t, EventHandshakeFailedProtocol)
	var te *TLSError
	if !errors.As(e.Err, &te) || !strings.Contains(te.Error(), "no renegotiation") {
		t.Fatalf("%v: want a refused renegotiation; openssl said:\n%s", e, out.String())
	}
}

// needOpenSSL returns the openssl command's path, skipping the test without one (failing it in CI).
func needOpenSSL(t *testing.T) string {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is missing")
		}
		t.Skip("openssl is missing")
	}
	return openssl
}

// startOpenSSL runs openssl (needOpenSSL's) with args until the test ends, and returns its standard
// input and its output (stdout and stderr, for a failure's message).
func startOpenSSL(t *testing.T, openssl string, args ...string) (io.WriteCloser, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(openssl, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return stdin, out
}

// syncBuffer is a bytes.Buffer for a child's output read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A TLS 1.3 server refuses a client's certificate after the client's handshake is over, and an
// OpenSSL server (stunnel) then resets the connection: the client's first write may meet the
// reset before its loop has read the alert. The alert is still what the monitor reports.
func TestTLSRefusalBeforeReset(t *testing.T) {
	s := certs(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		err = tls.Server(nc, s.ServerConfig(true)).Handshake()
		_ = nc.(*net.TCPConn).SetLinger(0) // close with a reset, as OpenSSL does with unread input
		_ = nc.Close()
		served <- err
	}()
	r := newTestReactor(t, Config{Loops: 1})
	opts := testOptions("PUSH")
	opts.TLS = &tls.Config{RootCAs: s.CA.Pool()}
	opts.ReconnectIvl = -1
	o := newOwner(t, "client")
	connect(t, r, "tls://localhost:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), opts, o)
	if err := <-served; err == nil {
		t.Fatal("the server took a client without a certificate")
	}
	te := tlsFailure(t, o)
	if !strings.Contains(te.Error(), "certificate required") {
		t.Fatalf("%v: want the server's alert", te)
	}
}

// A large message toward a peer that does not read is encrypted only as the socket drains: gnet
// never holds much more than tlsHold of ciphertext for it, the rest waits unencrypted in the
// message the connection keeps, and once the peer reads, every byte arrives in order.
func TestTLSLargeMessageBounded(t *testing.T) {
	s := certs(t)
	r := newTestReactor(t, Config{Loops: 1})
	sc := new(Counters)
	opts := pushOptions(sc)
	opts.SndBuf = 64 << 10
	opts.TLS = s.ServerConfig(false)
	o := newOwner(t, "push")
	l := listen(t, r, "tls://127.0.0.1:*", opts, o)
	nc := rawConn(t, l.Endpoint())
	tc := tls.Client(nc, &tls.Config{RootCAs: s.CA.Pool(), ServerName: "localhost"})
	peer := zmtptest.New(tc, "PULL")
	if err := peer.Handshake(waitLimit); err != nil {
		t.Fatal(err)
	}
	p := o.waitAttached(t)
	const size = 8 << 20
	send(t, o, p, seqMsg(1, size), []byte("after"))
	send(t, o, p, []byte("next"))
	waitFor(t, "the body held", func() bool { return sc.Stats().HeldBodies > 0 })
	lp := testLoops(t, r)[0]
	var most int
	onLoop(t, lp, func() {
		for c := range r.conns {
			most = max(most, c.outbound())
		}
	})
	if most > tlsHold+tlsChunk+64<<10 {
		t.Fatalf("gnet holds %d bytes of ciphertext for a stalled peer", most)
	}
	m, err := peer.Recv(waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || string(m[1]) != "after" {
		t.Fatalf("%d frames", len(m))
	}
	if err := checkSeq(m[0], 1, size); err != nil {
		t.Fatal(err)
	}
	if m, err := peer.Recv(waitLimit); err != nil || string(m[0]) != "next" {
		t.Fatalf("%q %v", m, err)
	}
}
