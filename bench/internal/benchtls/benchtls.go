// Package benchtls is the TLS configuration of the bench tools for tls:// and wss:// endpoints
// (CONTRACT.md, "TLS"): throwaway certificates, never secrets. With ZLOOP_BENCH_TLS_DIR set, the
// server loads server.crt and server.key from that directory and the client trusts ca.crt in it
// (compare writes such a directory, and stunnel in front of libzmq uses the same files); without
// it, a server makes a self-signed certificate at start and a client verifies nothing.
package benchtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/zloop/zloop/internal/testcert"
)

// Env names the directory with ca.crt, server.crt and server.key.
const Env = "ZLOOP_BENCH_TLS_DIR"

// ErrCA: the directory's ca.crt holds no certificate.
var ErrCA = errors.New("benchtls: no certificate in ca.crt")

// Secure reports whether endpoint runs over TLS (tls://, wss://).
func Secure(endpoint string) bool {
	return strings.HasPrefix(endpoint, "tls://") || strings.HasPrefix(endpoint, "wss://")
}

// Config returns a server's or a client's configuration.
func Config(server bool) (*tls.Config, error) {
	dir := os.Getenv(Env)
	if dir == "" {
		if !server {
			return &tls.Config{InsecureSkipVerify: true}, nil // a benchmark of throughput, not of trust
		}
		s, err := testcert.NewSet()
		if err != nil {
			return nil, err
		}
		return s.ServerConfig(false), nil
	}
	if server {
		c, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
		if err != nil {
			return nil, err
		}
		return &tls.Config{Certificates: []tls.Certificate{c}}, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, ErrCA
	}
	return &tls.Config{RootCAs: pool}, nil
}

// WriteDir writes a fresh CA (ca.crt) and a server certificate for localhost and 127.0.0.1
// (server.crt, server.key) into dir.
func WriteDir(dir string) error {
	s, err := testcert.NewSet()
	if err != nil {
		return err
	}
	if _, err := s.CA.WriteCA(dir, "ca"); err != nil {
		return err
	}
	_, _, err = testcert.WriteFiles(dir, "server", s.Server)
	return err
}
