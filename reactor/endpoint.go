package reactor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Endpoint is a parsed ZeroMQ endpoint such as tcp://127.0.0.1:5555 or ipc:///tmp/x.sock.
type Endpoint struct {
	Transport string // "tcp", "ipc", "ws", "tls" or "wss"
	// Addr is what the net package dials or listens on: host:port for tcp, a path for ipc
	// ("@name" is Linux's abstract namespace).
	Addr string
	// Network is the net package's network name ("tcp", "tcp4", "tcp6" or "unix").
	Network string
	// Path is a ws:// endpoint's HTTP path ("/" when none was given).
	Path string
}

// secure reports a transport over TLS (tls://, wss://).
func (e Endpoint) secure() bool { return e.Transport == "tls" || e.Transport == "wss" }

// websocket reports a ZWS 2.0 transport (ws://, wss://).
func (e Endpoint) websocket() bool { return e.Transport == "ws" || e.Transport == "wss" }

// String formats e as a ZeroMQ endpoint.
func (e Endpoint) String() string { return e.Transport + "://" + e.Addr + e.Path }

// parseWS parses the host:port/path part of the ws:// endpoint s: the host and port as tcp's
// (parse is the bind or the connect parser), the path as given ("/" when there is none).
func parseWS(s, rest string, parse func(s, hostPort string) (Endpoint, error)) (Endpoint, error) {
	hostPort, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostPort, path = rest[:i], rest[i:]
	}
	if hostPort == "" {
		return Endpoint{Transport: "ws"}, badEndpoint(s, "lacks a host and port")
	}
	e, err := parse(s, hostPort)
	if err != nil {
		return Endpoint{Transport: "ws"}, err
	}
	e.Transport, e.Path = "ws", path
	return e, nil
}

// badEndpoint says what is wrong with the endpoint s.
func badEndpoint(s, what string) error {
	return fmt.Errorf("%w: %q %s", ErrBadEndpoint, s, what)
}

// splitPort splits the host:port of endpoint s, saying what is missing.
func splitPort(s, hostPort string) (host, port string, err error) {
	if !strings.Contains(hostPort, ":") {
		return "", "", badEndpoint(s, "lacks a port")
	}
	host, port, err = net.SplitHostPort(hostPort)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) && ae.Err == "too many colons in address" {
			return "", "", badEndpoint(s, "is ambiguous: an IPv6 address needs brackets, as in tcp://[::1]:5555")
		}
		var what string
		if errors.As(err, &ae) {
			what = ae.Err
		} else {
			what = err.Error()
		}
		return "", "", badEndpoint(s, "has no valid host:port: "+what)
	}
	if port == "" {
		return "", "", badEndpoint(s, "lacks a port")
	}
	return host, port, nil
}

func badPort(s, port string) error {
	return badEndpoint(s, fmt.Sprintf("has a bad port: port %q is not a number from 0 to 65535", port))
}

// ParseBindEndpoint parses an endpoint for Bind. It accepts libzmq's bind forms: tcp://*:5555 (every
// IPv4 interface), tcp://eth0:5555 (an interface by name), tcp://[::1]:5555, a port of "*" or "!"
// for an ephemeral port, ipc:///path, ipc://@abstract and ipc://* for a fresh temporary path, and
// ws://host:port/path with the same host and port forms as tcp. A malformed endpoint is refused
// with an error wrapping ErrBadEndpoint that says what is wrong; a transport zloop lacks, with one
// wrapping ErrTransport.
func ParseBindEndpoint(s string) (Endpoint, error) { return parseBind(s, false) }

// parseBind is ParseBindEndpoint with ZMQ_IPV6 (see Options.IPv6).
func parseBind(s string, ipv6 bool) (Endpoint, error) {
	e, rest, err := splitTransport(s)
	if err != nil {
		return e, err
	}
	switch e.Transport {
	case "ws", "wss":
		w, err := parseWS(s, rest, func(s, hostPort string) (Endpoint, error) { return parseBindTCP(s, hostPort, ipv6) })
		w.Transport = e.Transport
		return w, err
	case "tls":
		t, err := parseBindTCP(s, rest, ipv6)
		t.Transport = "tls"
		return t, err
	case "ipc":
		if rest == "*" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			rest = filepath.Join(os.TempDir(), "zloop-"+hex.EncodeToString(b[:])+".sock")
		}
		e.Addr, e.Network = rest, "unix"
		return e, nil
	}
	return parseBindTCP(s, rest, ipv6)
}

// parseBindTCP parses the host:port of the tcp:// or ws:// bind endpoint s.
func parseBindTCP(s, hostPort string, ipv6 bool) (Endpoint, error) {
	e := Endpoint{Transport: "tcp"}
	host, port, err := splitPort(s, hostPort)
	if err != nil {
		return e, err
	}
	if port == "*" || port == "!" {
		port = "0"
	}
	if !validPort(port) {
		return e, badPort(s, port)
	}
	e.Network = "tcp4"
	switch {
	case (host == "*" || host == "") && ipv6:
		host, e.Network = "::", "tcp" // dual-stack, as libzmq's in6addr_any with IPV6_V6ONLY off
	case host == "*" || host == "":
		host = "0.0.0.0"
	case net.ParseIP(host) != nil:
		// An IPv6 literal binds with or without ZMQ_IPV6 (libzmq refuses it without): asking
		// for one is unambiguous.
		if strings.Contains(host, ":") {
			e.Network = "tcp6"
		}
	default:
		if ip := interfaceAddr(host, ipv6); ip != nil {
			host = ip.String()
			if ip.To4() == nil {
				e.Network = "tcp6"
			}
		} else if ipv6 {
			e.Network = "tcp" // a host name: the net package resolves it, to IPv4 only without ipv6
		}
	}
	e.Addr = net.JoinHostPort(host, port)
	return e, nil
}

// ParseConnectEndpoint parses an endpoint for Connect: tcp://host:port (host may be a name, IPv4 or
// [IPv6]), ipc://path or ws://host:port/path. Errors are as ParseBindEndpoint's.
func ParseConnectEndpoint(s string) (Endpoint, error) { return parseConnect(s, false) }

// parseConnect is ParseConnectEndpoint with ZMQ_IPV6 (see Options.IPv6).
func parseConnect(s string, ipv6 bool) (Endpoint, error) {
	e, rest, err := splitTransport(s)
	if err != nil {
		return e, err
	}
	switch e.Transport {
	case "ws", "wss":
		w, err := parseWS(s, rest, func(s, hostPort string) (Endpoint, error) { return parseConnectTCP(s, hostPort, ipv6) })
		w.Transport = e.Transport
		return w, err
	case "tls":
		t, err := parseConnectTCP(s, rest, ipv6)
		t.Transport = "tls"
		return t, err
	case "ipc":
		if rest == "*" {
			return e, badEndpoint(s, `is not one Connect can use: Connect needs an ipc path, not "*"`)
		}
		e.Addr, e.Network = rest, "unix"
		return e, nil
	}
	return parseConnectTCP(s, rest, ipv6)
}

// parseConnectTCP parses the host:port of the tcp:// or ws:// connect endpoint s.
func parseConnectTCP(s, hostPort string, ipv6 bool) (Endpoint, error) {
	e := Endpoint{Transport: "tcp"}
	host, port, err := splitPort(s, hostPort)
	switch {
	case err != nil:
		return e, err
	case host == "":
		return e, badEndpoint(s, "lacks a host")
	case host == "*":
		return e, badEndpoint(s, `is not one Connect can use: Connect needs a host, not "*"`)
	case port == "*" || port == "!" || port == "0":
		return e, badEndpoint(s, fmt.Sprintf("is not one Connect can use: Connect needs a port from 1 to 65535, not %q", port))
	case !validPort(port):
		return e, badPort(s, port)
	}
	e.Addr, e.Network = net.JoinHostPort(host, port), "tcp"
	if ip := net.ParseIP(host); ip == nil && !ipv6 {
		e.Network = "tcp4" // libzmq resolves host names to IPv4 only without ZMQ_IPV6
	}
	return e, nil
}

// splitTransport splits s at "://" and checks the transport and that an address follows.
func splitTransport(s string) (Endpoint, string, error) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return Endpoint{}, "", badEndpoint(s, "lacks a transport (tcp://, ipc://, ws://, tls://, wss://, inproc://)")
	}
	t, rest := s[:i], s[i+3:]
	switch t {
	case "tcp", "ipc", "ws", "tls", "wss":
		if rest == "" {
			if t == "ipc" {
				return Endpoint{Transport: t}, "", badEndpoint(s, "lacks a path")
			}
			return Endpoint{Transport: t}, "", badEndpoint(s, "lacks an address")
		}
		return Endpoint{Transport: t}, rest, nil
	case "inproc":
		// Listen and Connect take inproc:// before parsing: it has no network address.
		return Endpoint{Transport: t}, rest, fmt.Errorf("%w: %q: inproc has no network address", ErrTransport, s)
	case "pgm", "epgm", "norm", "vmci", "udp", "tipc":
		return Endpoint{Transport: t}, rest, fmt.Errorf("%w: %q: zloop has no %s transport", ErrTransport, s, t)
	}
	return Endpoint{}, "", badEndpoint(s, fmt.Sprintf("names an unknown transport %q", t))
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

// interfaceAddr returns the first IPv4 (else IPv6) address of the interface named name, or nil;
// with ipv6 the first IPv6 one (else IPv4), as libzmq picks with ZMQ_IPV6.
func interfaceAddr(name string, ipv6 bool) net.IP {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var v4, v6 net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ipn.IP.To4() != nil {
			if v4 == nil {
				v4 = ipn.IP
			}
		} else if v6 == nil {
			v6 = ipn.IP
		}
	}
	if ipv6 && v6 != nil || v4 == nil {
		return v6
	}
	return v4
}
