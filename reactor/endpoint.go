package reactor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Endpoint is a parsed ZeroMQ endpoint such as tcp://127.0.0.1:5555 or ipc:///tmp/x.sock.
type Endpoint struct {
	Transport string // "tcp", "ipc" or "ws"
	// Addr is what the net package dials or listens on: host:port for tcp, a path for ipc
	// ("@name" is Linux's abstract namespace).
	Addr string
	// Network is the net package's network name ("tcp", "tcp4", "tcp6" or "unix").
	Network string
	// Path is a ws:// endpoint's HTTP path ("/" when none was given).
	Path string
}

// String formats e as a ZeroMQ endpoint.
func (e Endpoint) String() string { return e.Transport + "://" + e.Addr + e.Path }

// parseWS parses the host:port/path part of the ws:// endpoint s: the host and port as tcp's
// (parse is the bind or the connect parser), the path as given ("/" when there is none).
func parseWS(s, rest string, parse func(string) (Endpoint, error)) (Endpoint, error) {
	hostPort, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostPort, path = rest[:i], rest[i:]
	}
	e, err := parse("tcp://" + hostPort)
	if err != nil {
		return Endpoint{Transport: "ws"}, fmt.Errorf("%w: %q", ErrBadEndpoint, s)
	}
	e.Transport, e.Path = "ws", path
	return e, nil
}

// ParseBindEndpoint parses an endpoint for Bind. It accepts libzmq's bind forms: tcp://*:5555 (every
// IPv4 interface), tcp://eth0:5555 (an interface by name), tcp://[::1]:5555, a port of "*" or "!"
// for an ephemeral port, ipc:///path, ipc://@abstract and ipc://* for a fresh temporary path, and
// ws://host:port/path with the same host and port forms as tcp.
func ParseBindEndpoint(s string) (Endpoint, error) {
	e, rest, err := splitTransport(s)
	if err != nil {
		return e, err
	}
	if e.Transport == "ws" {
		return parseWS(s, rest, ParseBindEndpoint)
	}
	switch e.Transport {
	case "ipc":
		if rest == "*" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			rest = filepath.Join(os.TempDir(), "zloop-"+hex.EncodeToString(b[:])+".sock")
		}
		e.Addr, e.Network = rest, "unix"
		return e, nil
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || port == "" {
			return e, fmt.Errorf("%w: %q", ErrBadEndpoint, s)
		}
		if port == "*" || port == "!" {
			port = "0"
		}
		if !validPort(port) {
			return e, fmt.Errorf("%w: bad port in %q", ErrBadEndpoint, s)
		}
		e.Network = "tcp"
		switch {
		case host == "*" || host == "":
			host, e.Network = "0.0.0.0", "tcp4"
		case net.ParseIP(host) != nil:
			if strings.Contains(host, ":") {
				e.Network = "tcp6"
			} else {
				e.Network = "tcp4"
			}
		default:
			if ip := interfaceAddr(host); ip != nil {
				host = ip.String()
				if ip.To4() == nil {
					e.Network = "tcp6"
				} else {
					e.Network = "tcp4"
				}
			}
			// Otherwise a host name: the net package resolves it.
		}
		e.Addr = net.JoinHostPort(host, port)
		return e, nil
	}
	return e, fmt.Errorf("%w: %q", ErrTransport, s)
}

// ParseConnectEndpoint parses an endpoint for Connect: tcp://host:port (host may be a name, IPv4 or
// [IPv6]), ipc://path or ws://host:port/path.
func ParseConnectEndpoint(s string) (Endpoint, error) {
	e, rest, err := splitTransport(s)
	if err != nil {
		return e, err
	}
	if e.Transport == "ws" {
		return parseWS(s, rest, ParseConnectEndpoint)
	}
	switch e.Transport {
	case "ipc":
		if rest == "*" {
			return e, fmt.Errorf("%w: %q", ErrBadEndpoint, s)
		}
		e.Addr, e.Network = rest, "unix"
		return e, nil
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" || host == "*" || !validPort(port) || port == "0" {
			return e, fmt.Errorf("%w: %q", ErrBadEndpoint, s)
		}
		e.Addr, e.Network = net.JoinHostPort(host, port), "tcp"
		return e, nil
	}
	return e, fmt.Errorf("%w: %q", ErrTransport, s)
}

func splitTransport(s string) (Endpoint, string, error) {
	i := strings.Index(s, "://")
	if i <= 0 || i+3 == len(s) {
		return Endpoint{}, "", fmt.Errorf("%w: %q", ErrBadEndpoint, s)
	}
	t, rest := s[:i], s[i+3:]
	switch t {
	case "tcp", "ipc", "ws":
		return Endpoint{Transport: t}, rest, nil
	case "inproc", "pgm", "epgm", "norm", "vmci", "udp", "tipc", "wss":
		return Endpoint{Transport: t}, rest, fmt.Errorf("%w: %q", ErrTransport, s)
	}
	return Endpoint{}, "", fmt.Errorf("%w: unknown transport in %q", ErrBadEndpoint, s)
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// interfaceAddr returns the first IPv4 (else IPv6) address of the interface named name, or nil.
func interfaceAddr(name string) net.IP {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var v6 net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ipn.IP.To4() != nil {
			return ipn.IP
		}
		if v6 == nil {
			v6 = ipn.IP
		}
	}
	return v6
}
