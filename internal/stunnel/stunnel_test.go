package stunnel

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"testing"

	"github.com/zloop/zloop/internal/leaktest"
	"github.com/zloop/zloop/internal/testcert"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

func need(t *testing.T) {
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// echo serves l, echoing each connection, until l closes.
func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// A server-mode tunnel with mutual TLS in front of a plain echo server, and a client-mode tunnel
// behind which the plaintext goes out as TLS to a Go TLS echo server: bytes come back unchanged,
// and a client without a certificate is refused.
func TestTunnels(t *testing.T) {
	need(t)
	s, err := testcert.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, err := s.CA.WriteCA(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey, err := testcert.WriteFiles(dir, "server", s.Server)
	if err != nil {
		t.Fatal(err)
	}
	cliCert, cliKey, err := testcert.WriteFiles(dir, "client", s.Client)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go echo(plain)
	srv, err := Start(Config{Connect: plain.Addr().String(), CertFile: srvCert, KeyFile: srvKey, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	roundTrip := func(c net.Conn) error {
		defer c.Close()
		if _, err := c.Write([]byte("hello")); err != nil {
			return err
		}
		b := make([]byte, 5)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		if string(b) != "hello" {
			t.Fatalf("echoed %q", b)
		}
		return nil
	}
	c, err := tls.Dial("tcp", srv.Addr(), s.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	noCert := s.ClientConfig()
	noCert.Certificates = nil
	if c, err := tls.Dial("tcp", srv.Addr(), noCert); err == nil {
		if roundTrip(c) == nil {
			t.Fatal("a client without a certificate got through")
		}
	}

	secure, err := tls.Listen("tcp", "127.0.0.1:0", s.ServerConfig(true))
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	go echo(secure)
	cli, err := Start(Config{Client: true, Connect: secure.Addr().String(), CertFile: cliCert, KeyFile: cliKey, CAFile: ca, CheckHost: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	pc, err := net.Dial("tcp", cli.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(pc); err != nil {
		t.Fatalf("%v; stunnel: %s", err, cli.Log())
	}
}
