package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

func TestSetVerifies(t *testing.T) {
	s, err := NewSet()
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: s.CA.Pool(), DNSName: "localhost"}
	if _, err := s.Server.Leaf.Verify(opts); err != nil {
		t.Fatalf("server certificate: %v", err)
	}
	opts = x509.VerifyOptions{Roots: s.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := s.Client.Leaf.Verify(opts); err != nil {
		t.Fatalf("client certificate: %v", err)
	}
	if _, err := s.Server.Leaf.Verify(x509.VerifyOptions{Roots: s.CA.Pool(), DNSName: "example.com"}); err == nil {
		t.Fatal("the server certificate verified for a name it lacks")
	}
	other, err := NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Server.Leaf.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "localhost"}); err == nil {
		t.Fatal("the server certificate verified under another CA")
	}
	old, err := s.CA.Issue(Leaf{CommonName: "old", Client: true, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Leaf.Verify(x509.VerifyOptions{Roots: s.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Fatal("an expired certificate verified")
	}
	cp, kp, err := PEM(s.Server)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(cp, kp); err != nil {
		t.Fatalf("PEM does not load back: %v", err)
	}
}
