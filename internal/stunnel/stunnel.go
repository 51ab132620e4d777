// Package stunnel runs Debian's stunnel4 as a real TLS terminator in front of (server mode) or
// behind (client mode) a plain-TCP peer, the way libzmq deployments add TLS: for the interop tests
// of tls:// and wss:// against libzmq, and for the libzmq side of the TLS benchmarks. It writes
// the configuration into a directory of its own and runs stunnel in the foreground as a child.
package stunnel

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrMissing: no stunnel4 (or stunnel) on PATH.
var ErrMissing = errors.New("stunnel: stunnel4 is not installed (Debian package stunnel4)")

// Path finds the stunnel binary.
func Path() (string, error) {
	for _, name := range []string{"stunnel4", "stunnel"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrMissing
}

// Available reports why stunnel cannot run here, or nil.
func Available() error {
	_, err := Path()
	return err
}

// Config is one tunnel.
type Config struct {
	// Client: stunnel accepts plaintext and connects with TLS (libzmq's client behind it); else
	// it accepts TLS and connects in plaintext (libzmq's server behind it).
	Client bool
	// Connect is the host:port stunnel connects to.
	Connect string
	// Accept is the host:port stunnel listens on; empty: a free port on 127.0.0.1.
	Accept string
	// CertFile and KeyFile: stunnel's certificate (a server's always; a client's for mutual TLS).
	CertFile, KeyFile string
	// CAFile, when set, makes stunnel verify the peer's chain against it: a server then requires a
	// client certificate, a client verifies the server (and its name, CheckHost).
	CAFile string
	// CheckHost is the name a client verifies the server's certificate for, and SNI sends.
	CheckHost string
	// Dir holds the configuration and the log (a fresh temporary directory when empty).
	Dir string
}

// Tunnel is a running stunnel. Its methods may be called from any goroutine.
type Tunnel struct {
	addr string
	cmd  *exec.Cmd
	dir  string
	own  bool
	log  string

	once sync.Once
	err  error
	done chan struct{}
}

// Start runs a tunnel and returns once it accepts connections (within 10 s).
func Start(cfg Config) (*Tunnel, error) {
	bin, err := Path()
	if err != nil {
		return nil, err
	}
	t := &Tunnel{dir: cfg.Dir, done: make(chan struct{})}
	if t.dir == "" {
		if t.dir, err = os.MkdirTemp("", "zloop-stunnel-"); err != nil {
			return nil, err
		}
		t.own = true
	}
	t.addr = cfg.Accept
	if t.addr == "" {
		port, err := freePort()
		if err != nil {
			t.cleanup()
			return nil, err
		}
		t.addr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	t.log = filepath.Join(t.dir, "stunnel.log")
	var b strings.Builder
	fmt.Fprintf(&b, "foreground = yes\npid =\ndebug = 5\noutput = %s\n\n[zloop]\n", t.log)
	fmt.Fprintf(&b, "accept = %s\nconnect = %s\n", t.addr, cfg.Connect)
	if cfg.Client {
		b.WriteString("client = yes\n")
		if cfg.CheckHost != "" {
			fmt.Fprintf(&b, "sni = %s\ncheckHost = %s\n", cfg.CheckHost, cfg.CheckHost)
		}
	}
	if cfg.CertFile != "" {
		fmt.Fprintf(&b, "cert = %s\nkey = %s\n", cfg.CertFile, cfg.KeyFile)
	}
	if cfg.CAFile != "" {
		fmt.Fprintf(&b, "CAfile = %s\nverifyChain = yes\n", cfg.CAFile)
	}
	conf := filepath.Join(t.dir, "stunnel.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		t.cleanup()
		return nil, err
	}
	t.cmd = exec.Command(bin, conf)
	if err := t.cmd.Start(); err != nil {
		t.cleanup()
		return nil, err
	}
	go func() {
		t.err = t.cmd.Wait()
		close(t.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if listening(t.addr) {
			return t, nil
		}
		select {
		case <-t.done:
			log := t.Log()
			t.cleanup()
			return nil, fmt.Errorf("stunnel: exited at start (%v): %s", t.err, log)
		default:
		}
		if time.Now().After(deadline) {
			log := t.Log()
			_ = t.Close()
			return nil, fmt.Errorf("stunnel: not accepting on %s: %s", t.addr, log)
		}
		time.Sleep(10 * time.Millisecond) // waiting for another process's listen: no event to wait on
	}
}

// Addr is the host:port stunnel accepts on.
func (t *Tunnel) Addr() string { return t.addr }

// Log is what stunnel logged so far.
func (t *Tunnel) Log() string {
	b, _ := os.ReadFile(t.log)
	return string(b)
}

// Close stops stunnel and waits for it.
func (t *Tunnel) Close() error {
	t.once.Do(func() {
		_ = t.cmd.Process.Kill()
		<-t.done
		t.cleanup()
	})
	return nil
}

func (t *Tunnel) cleanup() {
	if t.own {
		_ = os.RemoveAll(t.dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// listening reports whether something listens on addr: from /proc/net/tcp where there is one, so
// that no probe connection reaches the peer behind a client-mode stunnel; else by connecting.
func listening(addr string) bool {
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}
	want := fmt.Sprintf(":%04X", p)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" { // 0A: LISTEN
			return true
		}
	}
	return false
}
