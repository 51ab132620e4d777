package reactor

import (
	"crypto/sha256"
	"crypto/tls"
	"sync"
	"testing"

	"github.com/zloop/zloop/internal/testcert"
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
	if sn := k.bp.TLS().ServerName; sn != "127.0.0.1" && sn != "" {
		t.Fatalf("the server saw SNI %q", sn)
	}
}
