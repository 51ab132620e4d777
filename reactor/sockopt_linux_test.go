package reactor

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// getsockopt reads an int option of the socket under c.
func getsockopt(t *testing.T, c syscall.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// tcpConns returns both ends of a new loopback TCP connection.
func tcpConns(t *testing.T) (dialed, accepted *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); a.Close() })
	return d.(*net.TCPConn), a.(*net.TCPConn)
}

// The TCP options of an established connection reach the kernel with libzmq's meanings: keepalive
// on with its count, idle time and interval (in whole seconds), the retransmission timeout rounded
// up to a millisecond, TOS again on an accepted socket; keepalive off; kernel buffers.
func TestTuneTCP(t *testing.T) {
	dialed, accepted := tcpConns(t)
	o := &Options{TCPKeepAlive: 1, TCPKeepAliveCnt: 3, TCPKeepAliveIdle: 7 * time.Second,
		TCPKeepAliveIntvl: 2 * time.Second, TCPMaxRT: 1500*time.Millisecond + 1, TOS: 0x28}
	if err := tuneTCP(accepted, o, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"SO_KEEPALIVE", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{"TCP_KEEPCNT", syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 3},
		{"TCP_KEEPIDLE", syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 7},
		{"TCP_KEEPINTVL", syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 2},
		{"TCP_USER_TIMEOUT", syscall.IPPROTO_TCP, tcpUserTimeout, 1501},
		{"IP_TOS", syscall.IPPROTO_IP, syscall.IP_TOS, 0x28},
	} {
		if got := getsockopt(t, accepted, c.level, c.opt); got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	if err := tuneTCP(dialed, &Options{TCPKeepAlive: 0}, false); err != nil {
		t.Fatal(err)
	}
	if got := getsockopt(t, dialed, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); got != 0 {
		t.Errorf("SO_KEEPALIVE = %d with TCPKeepAlive 0", got)
	}
	if err := setBuffers(dialed, &Options{SndBuf: 64 << 10, RcvBuf: 32 << 10}); err != nil {
		t.Fatal(err)
	}
	if got := getsockopt(t, dialed, syscall.SOL_SOCKET, syscall.SO_SNDBUF); got < 64<<10 {
		t.Errorf("SO_SNDBUF = %d", got)
	}
	if got := getsockopt(t, dialed, syscall.SOL_SOCKET, syscall.SO_RCVBUF); got < 32<<10 {
		t.Errorf("SO_RCVBUF = %d", got)
	}
	for d, want := range map[time.Duration]int{0: 0, 1: 1, time.Millisecond: 1, time.Millisecond + 1: 2} {
		if got := msCeil(d); got != want {
			t.Errorf("msCeil(%v) = %d, want %d", d, got, want)
		}
	}
}

// Every option a pipe may carry, on a bound and a dialed tcp:// and ws:// endpoint: TOS and the
// device are set on the listening socket before it binds, and messages still flow. A device that
// does not exist fails the bind.
func TestSocketOptionsOnEndpoints(t *testing.T) {
	full := func(typ string) *Options {
		o := testOptions(typ)
		o.TOS, o.BindToDevice, o.Backlog = 0x28, "lo", 16
		o.SndBuf, o.RcvBuf = 64<<10, 64<<10
		o.TCPKeepAlive, o.TCPKeepAliveCnt, o.TCPKeepAliveIdle, o.TCPKeepAliveIntvl = 1, 3, 30*time.Second, 5*time.Second
		o.TCPMaxRT = 10 * time.Second
		return o
	}
	for _, tr := range []string{"tcp", "ws", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			k := pair(t, r, tr, full("PULL"), full("PUSH"))
			send(t, k.co, k.cp, []byte("tuned"))
			if m := recv(t, k.bo, k.bp); string(m[0]) != "tuned" {
				t.Fatalf("got %q", m)
			}
			if tr != "ipc" {
				if got := getsockopt(t, k.l.ln.(syscall.Conn), syscall.IPPROTO_IP, syscall.IP_TOS); got != 0x28 {
					t.Fatalf("the listening socket's IP_TOS = %#x", got)
				}
			}
		})
	}
	r := newTestReactor(t, Config{Loops: 1})
	o := newOwner(t, "pull")
	bad := testOptions("PULL")
	bad.BindToDevice = "nosuchdev0"
	if _, err := r.Listen("tcp://127.0.0.1:*", bad, o); err == nil {
		t.Fatal("bound to a device that does not exist")
	}
	if e := o.waitEvent(t, EventBindFailed); !errors.Is(e.Err, syscall.ENODEV) {
		t.Fatalf("%v", e)
	}
}

// An ipc:// connection's send buffer is ipcSndBuf unless SNDBUF is set (the kernel doubles what it
// is given, and caps it at net.core.wmem_max first); both ends get it, either may send.
func TestIPCSendBuffer(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/net/core/wmem_max")
	if err != nil {
		t.Fatal(err)
	}
	wmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	a, b, err := unixPair(t)
	if err != nil {
		t.Fatal(err)
	}
	defaultBuf := getsockopt(t, a, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	for _, c := range []struct {
		name string
		opts Options
		want int
	}{
		{"default", Options{}, 2 * min(ipcSndBuf, wmemMax)},
		{"SNDBUF set", Options{SndBuf: 64 << 10}, 2 * min(64<<10, wmemMax)},
	} {
		for _, conn := range []*net.UnixConn{a, b} {
			if err := setBuffers(conn, &c.opts); err != nil {
				t.Fatal(err)
			}
			if got := getsockopt(t, conn, syscall.SOL_SOCKET, syscall.SO_SNDBUF); got != c.want {
				t.Errorf("%s: SO_SNDBUF = %d, want %d (it was %d before)", c.name, got, c.want, defaultBuf)
			}
		}
	}
}

// unixPair returns both ends of a unix stream connection, closed at the test's end.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn, error) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	a, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := ln.AcceptUnix()
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { _ = b.Close() })
	return a, b, nil
}
