package reactor

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// emfileChild names the environment variable that makes TestAcceptAtDescriptorLimit run its body:
// the body lowers RLIMIT_NOFILE, which must not touch the parent test process, so the parent
// re-executes the test binary with the variable set and checks that the child passed.
const emfileChild = "ZLOOP_REACTOR_EMFILE_CHILD"

// At the descriptor limit, a listener reports every connection it accepted and then had to drop,
// backs off, and accepts the waiting peers once descriptors free. Two ways to hit the limit:
// accept itself fails (no descriptor for the new socket: ACCEPT_FAILED, the peer stays in the
// backlog), or accept takes the last descriptor and the loop's duplicate of it fails (ACCEPTED,
// then ACCEPT_FAILED with the peer's address and EMFILE, and the peer sees its connection closed).
func TestAcceptAtDescriptorLimit(t *testing.T) {
	if os.Getenv(emfileChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptAtDescriptorLimit$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), emfileChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// A few hundred descriptors: enough for the reactor, the runtime and the test, few to fill.
	lim.Cur = min(lim.Max, 512)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}

	r := newTestReactor(t, Config{Loops: 1})
	o := newOwner(t, "bound")
	l := listen(t, r, "tcp://127.0.0.1:*", testOptions("ROUTER"), o)
	o.waitEvent(t, EventListening)
	_, addr := netAddr(t, l.Endpoint())
	ap, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// The peers' sockets are made before the descriptors run out; they connect later.
	dupFailPeer, acceptFailPeer := rawSocket(t), rawSocket(t)

	var fill []int
	defer func() {
		for _, fd := range fill {
			_ = syscall.Close(fd)
		}
	}()
	exhaust := func() {
		for {
			fd, err := syscall.Dup(2)
			if errors.Is(err, syscall.EMFILE) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fill = append(fill, fd)
		}
	}
	release := func(n int) {
		for ; n > 0 && len(fill) > 0; n-- {
			_ = syscall.Close(fill[len(fill)-1])
			fill = fill[:len(fill)-1]
		}
	}

	// One descriptor free: accept takes it, the loop's duplicate fails.
	exhaust()
	release(1)
	remote := connectRaw(t, dupFailPeer, ap)
	e := o.waitEvent(t, EventAccepted)
	if e.Remote != remote {
		t.Fatalf("accepted %q, want %q", e.Remote, remote)
	}
	e = o.waitEvent(t, EventAcceptFailed)
	if e.Remote != remote || !errors.Is(e.Err, syscall.EMFILE) {
		t.Fatalf("after ACCEPTED: %v, want ACCEPT_FAILED of %s with EMFILE; events:%s", e, remote, o.eventLog())
	}
	// The peer sees its connection end.
	if n, err := readWithin(dupFailPeer, 10*time.Second); n != 0 || err != nil {
		t.Fatalf("the dropped peer read %d bytes, %v; want end of stream", n, err)
	}

	// No descriptor free: accept itself fails, and the peer waits in the backlog.
	exhaust()
	remote = connectRaw(t, acceptFailPeer, ap)
	e = o.waitEvent(t, EventAcceptFailed)
	if e.Remote != "" || !errors.Is(e.Err, syscall.EMFILE) {
		t.Fatalf("at the limit: %v, want ACCEPT_FAILED with EMFILE and no peer; events:%s", e, o.eventLog())
	}

	// Descriptors free: the waiting peer is accepted, and new peers complete their handshake.
	release(len(fill))
	for {
		e = o.waitEvent(t, EventAccepted)
		if e.Remote == remote {
			break
		}
	}
	peer := rawDial(t, l.Endpoint(), "DEALER")
	p := o.waitAttached(t)
	send(t, o, p, []byte("back"))
	if m, err := peer.Recv(waitLimit); err != nil || len(m) != 1 || string(m[0]) != "back" {
		t.Fatalf("after the limit: got %q, %v", m, err)
	}
	_ = syscall.Close(acceptFailPeer)
}

// rawSocket is a blocking TCP socket, closed when the test ends.
func rawSocket(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	return fd
}

// connectRaw connects fd to a (the kernel completes the handshake into the listener's backlog
// whether or not it is accepted) and returns fd's own address as the listener sees it.
func connectRaw(t *testing.T, fd int, a *net.TCPAddr) string {
	t.Helper()
	sa := &syscall.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil {
		t.Fatal(err)
	}
	la, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	in := la.(*syscall.SockaddrInet4)
	return net.JoinHostPort(net.IP(in.Addr[:]).String(), strconv.Itoa(in.Port))
}

// readWithin reads once from the blocking socket fd, giving up after d.
func readWithin(fd int, d time.Duration) (int, error) {
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return 0, err
	}
	var b [64]byte
	return syscall.Read(fd, b[:])
}

// A listener that keeps failing waits longer each time, up to maxAcceptBackoff: it does not spin at
// the descriptor limit, and still notices within a second that descriptors are free.
func TestAcceptBackoff(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for range 12 {
		d = nextBackoff(d)
		got = append(got, d)
	}
	if got[0] != 5*time.Millisecond || got[len(got)-1] != maxAcceptBackoff {
		t.Fatalf("backoff %v: want from 5ms up to %v", got, maxAcceptBackoff)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] || got[i] > maxAcceptBackoff {
			t.Fatalf("backoff %v: not growing up to %v", got, maxAcceptBackoff)
		}
	}
}
