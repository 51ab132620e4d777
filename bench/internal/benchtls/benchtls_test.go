package benchtls

import (
	"crypto/tls"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A server and a client configured from one written directory complete a handshake over a pipe;
// without the directory, a self-signed server and an unverifying client do too.
func TestConfigs(t *testing.T) {
	handshake := func(t *testing.T) {
		srv, err := Config(true)
		if err != nil {
			t.Fatal(err)
		}
		cli, err := Config(false)
		if err != nil {
			t.Fatal(err)
		}
		cli.ServerName = "127.0.0.1"
		l, err := tls.Listen("tcp", "127.0.0.1:0", srv)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		done := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if err == nil {
				err = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}
			done <- err
		}()
		c, err := tls.Dial("tcp", l.Addr().String(), cli)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	t.Run("throwaway", func(t *testing.T) {
		t.Setenv(Env, "")
		handshake(t)
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		t.Setenv(Env, dir)
		handshake(t)
	})
	if !Secure("wss://127.0.0.1:1/zmq") || !Secure("tls://h:1") || Secure("tcp://h:1") {
		t.Fatal("Secure")
	}
}
