package sockets

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/zloop/zloop/reactor"
)

// The TCP and IP options are read back from the kernel: the tests find the process's own
// descriptors of the connection (under /proc/self/fd) and ask getsockopt.

// sockFD is a descriptor of this process and the socket it was found to be ("socket:[inode]").
type sockFD struct {
	fd   int
	link string
}

// tcpFDs returns the descriptors of this process that are a TCP socket on port: listening on it,
// accepted on it, or connected to it. A connection may have two for a while (gnet duplicates the
// one Go made, then closes it): checkAll skips one that is gone.
func tcpFDs(t *testing.T, port int) (listening, accepted, dialed []sockFD) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	portOf := func(sa syscall.Sockaddr) int {
		switch a := sa.(type) {
		case *syscall.SockaddrInet4:
			return a.Port
		case *syscall.SockaddrInet6:
			return a.Port
		}
		return -1
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:") {
			continue
		}
		if typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE); err != nil || typ != syscall.SOCK_STREAM {
			continue
		}
		local, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		peer, perr := syscall.Getpeername(fd)
		switch {
		case portOf(local) == port && perr != nil:
			listening = append(listening, sockFD{fd, link})
		case portOf(local) == port:
			accepted = append(accepted, sockFD{fd, link})
		case perr == nil && portOf(peer) == port:
			dialed = append(dialed, sockFD{fd, link})
		}
	}
	return listening, accepted, dialed
}

// linked binds a PULL and connects a PUSH with the options given, and passes one message.
func linked(t *testing.T, opts ...Option) (port int) {
	t.Helper()
	r := newReactor(t)
	pull := newSocket(t, r, Pull, opts...)
	ep, err := pull.Bind("tcp://127.0.0.1:*")
	if err != nil {
		t.Fatal(err)
	}
	push := newSocket(t, r, Push, opts...)
	if err := push.Connect(ep); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := push.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := pull.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	return portOf(t, ep)
}

// sockopt reads an int option of sf, and reports false when sf's descriptor no longer is that
// socket (closed, or its number reused).
func sockopt(t *testing.T, sf sockFD, level, opt int) (int, bool) {
	t.Helper()
	v, err := syscall.GetsockoptInt(sf.fd, level, opt)
	if link, lerr := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", sf.fd)); lerr != nil || link != sf.link {
		return 0, false
	}
	if err != nil {
		t.Fatalf("getsockopt(%d, %d, %d): %v", sf.fd, level, opt, err)
	}
	return v, true
}

// checkAll fails t unless opt reads want on every descriptor of fds still open, of which there
// must be some.
func checkAll(t *testing.T, what string, fds []sockFD, level, opt, want int) {
	t.Helper()
	read := 0
	for _, sf := range fds {
		got, ok := sockopt(t, sf, level, opt)
		if !ok {
			continue
		}
		read++
		if got != want {
			t.Errorf("%s (fd %d): %d, want %d", what, sf.fd, got, want)
		}
	}
	if read == 0 {
		t.Fatalf("%s: no descriptor found", what)
	}
}

const (
	tcpUserTimeout = 0x12 // TCP_USER_TIMEOUT
)

// TestTCPKeepAliveOptions: ZMQ_TCP_KEEPALIVE and its count, idle time and interval reach both
// ends' sockets; by default (-1) the system's setting (off) is left alone.
func TestTCPKeepAliveOptions(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		port := linked(t)
		_, acc, dial := tcpFDs(t, port)
		checkAll(t, "accepted SO_KEEPALIVE", acc, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0)
		checkAll(t, "dialed SO_KEEPALIVE", dial, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0)
	})
	t.Run("on", func(t *testing.T) {
		port := linked(t, WithTCPKeepAlive(1), WithTCPKeepAliveCnt(3), WithTCPKeepAliveIdle(7*time.Second),
			WithTCPKeepAliveIntvl(2*time.Second))
		_, acc, dial := tcpFDs(t, port)
		for _, side := range []struct {
			name string
			fds  []sockFD
		}{{"accepted", acc}, {"dialed", dial}} {
			checkAll(t, side.name+" SO_KEEPALIVE", side.fds, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
			checkAll(t, side.name+" TCP_KEEPCNT", side.fds, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 3)
			checkAll(t, side.name+" TCP_KEEPIDLE", side.fds, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 7)
			checkAll(t, side.name+" TCP_KEEPINTVL", side.fds, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 2)
		}
	})
	t.Run("on with the system's timing", func(t *testing.T) {
		sysIdle := procInt(t, "/proc/sys/net/ipv4/tcp_keepalive_time")
		port := linked(t, WithTCPKeepAlive(1))
		_, acc, dial := tcpFDs(t, port)
		checkAll(t, "accepted SO_KEEPALIVE", acc, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
		checkAll(t, "dialed TCP_KEEPIDLE", dial, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, sysIdle)
	})
	t.Run("off", func(t *testing.T) {
		port := linked(t, WithTCPKeepAlive(0), WithTCPKeepAliveIdle(7*time.Second))
		_, acc, dial := tcpFDs(t, port)
		checkAll(t, "accepted SO_KEEPALIVE", acc, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0)
		checkAll(t, "dialed SO_KEEPALIVE", dial, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0)
	})
}

func procInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTOSOption: ZMQ_TOS is set on the listener, the accepted and the dialed socket.
func TestTOSOption(t *testing.T) {
	port := linked(t, WithTOS(0x28))
	ls, acc, dial := tcpFDs(t, port)
	checkAll(t, "listening IP_TOS", ls, syscall.IPPROTO_IP, syscall.IP_TOS, 0x28)
	checkAll(t, "accepted IP_TOS", acc, syscall.IPPROTO_IP, syscall.IP_TOS, 0x28)
	checkAll(t, "dialed IP_TOS", dial, syscall.IPPROTO_IP, syscall.IP_TOS, 0x28)
}

// TestTCPMaxRTOption: ZMQ_TCP_MAXRT is TCP_USER_TIMEOUT in milliseconds on both ends; unset, it
// stays the system's 0.
func TestTCPMaxRTOption(t *testing.T) {
	port := linked(t, WithTCPMaxRT(1500*time.Millisecond))
	_, acc, dial := tcpFDs(t, port)
	checkAll(t, "accepted TCP_USER_TIMEOUT", acc, syscall.IPPROTO_TCP, tcpUserTimeout, 1500)
	checkAll(t, "dialed TCP_USER_TIMEOUT", dial, syscall.IPPROTO_TCP, tcpUserTimeout, 1500)
	port = linked(t)
	_, acc, _ = tcpFDs(t, port)
	checkAll(t, "default TCP_USER_TIMEOUT", acc, syscall.IPPROTO_TCP, tcpUserTimeout, 0)
}

func getsockoptString(fd, level, opt int) (string, error) {
	var buf [64]byte
	n := uint32(len(buf))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return "", e
	}
	return strings.TrimRight(string(buf[:n]), "\x00"), nil
}

// TestBindToDeviceOption: ZMQ_BINDTODEVICE pins the listener and both connections to the
// interface; an interface that does not exist fails Bind.
func TestBindToDeviceOption(t *testing.T) {
	port := linked(t, WithBindToDevice("lo"))
	ls, acc, dial := tcpFDs(t, port)
	for _, fds := range [][]sockFD{ls, acc, dial} {
		read := 0
		for _, sf := range fds {
			dev, err := getsockoptString(sf.fd, syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE)
			if link, lerr := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", sf.fd)); lerr != nil || link != sf.link {
				continue // gone meanwhile
			}
			if err != nil || dev != "lo" {
				t.Fatalf("fd %d: SO_BINDTODEVICE %q %v, want lo", sf.fd, dev, err)
			}
			read++
		}
		if read == 0 {
			t.Fatal("descriptor missing")
		}
	}
	s := newSocket(t, newReactor(t), Pull, WithBindToDevice("nosuchdev0"))
	_, err := s.Bind("tcp://127.0.0.1:*")
	var oe *reactor.OpError
	if !errors.As(err, &oe) || !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("Bind on a missing device: %v, want an OpError wrapping ENODEV", err)
	}
}

// listenBacklog reads the backlog of the listener of a tcp:// or ipc:// endpoint as ss shows it
// (the Send-Q of a listener).
func listenBacklog(t *testing.T, ep string) int {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ss (iproute2) is needed to read a listener's backlog")
		}
		t.Skip("no ss to read a listener's backlog")
	}
	var args []string
	col := 2
	if path, ok := strings.CutPrefix(ep, "ipc://"); ok {
		args, col = []string{"-Hlx", "src", path}, 3 // a Netid column comes first
	} else {
		args = []string{"-Hltn", fmt.Sprintf("sport = :%d", portOf(t, ep))}
	}
	out, err := exec.Command("ss", args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) <= col {
		t.Fatalf("ss shows no listener for %s: %q", ep, out)
	}
	n, err := strconv.Atoi(f[col])
	if err != nil {
		t.Fatalf("ss: %q", out)
	}
	return n
}

// TestBacklogOption: ZMQ_BACKLOG is the accept queue of tcp:// and ipc:// listeners: libzmq's 100
// by default, not Go's somaxconn.
func TestBacklogOption(t *testing.T) {
	r := newReactor(t)
	for _, c := range []struct {
		ep   string
		opts []Option
		want int
	}{
		{"tcp://127.0.0.1:*", nil, 100},
		{"tcp://127.0.0.1:*", []Option{WithBacklog(7)}, 7},
		{"ipc://*", []Option{WithBacklog(9)}, 9},
	} {
		s := newSocket(t, r, Pull, c.opts...)
		ep, err := s.Bind(c.ep)
		if err != nil {
			t.Fatal(err)
		}
		if got := listenBacklog(t, ep); got != c.want {
			t.Errorf("%s: backlog %d, want %d", ep, got, c.want)
		}
	}
}
