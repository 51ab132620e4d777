//go:build linux

package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/zloop/zloop/codec"
)

// conn is one swarm connection; only its loop's goroutine touches it.
type conn struct {
	fd      int   // -1 once closed
	idx     int32 // its index in its loop, the epoll event's data
	src     [4]byte
	st      stream
	in      []byte // a partial item carried over to the next read; lives as long as the connection
	out     []byte // bytes the kernel has not taken yet
	wantOut bool   // EPOLLOUT is in the interest set
	linked  bool   // the TCP connection is made
	up      bool   // the server's READY arrived
	kicked  bool   // dealer: the first K requests went out
}

// shared is the state every loop of one swarm reads.
type shared struct {
	a          *Args
	clock      func() int64 // monotonic nanoseconds
	hello      []byte
	connecting atomic.Int64 // attempts started and not yet up, over all loops
	go_        atomic.Bool  // dealer: start sending
	measuring  atomic.Bool  // dealer: keep RTT samples
	stop       atomic.Bool

	mu  sync.Mutex
	err error // the first failure
}

func (s *shared) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *shared) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// loop is one epoll set and the connections it drives, on a locked OS thread. Its run goroutine
// alone touches the fields down to events; Run reads the atomics at any time, and rtts once run
// returned.
type loop struct {
	sh     *shared
	ep     int
	conns  []conn
	next   int    // the next connection to start
	buf    []byte // every read's buffer: its bytes live until read returns (a partial item is copied to conn.in)
	events []unix.EpollEvent

	up     atomic.Int64 // connections whose handshake completed
	msgs   atomic.Int64 // deliveries (sub) or round trips (dealer) so far
	closed atomic.Int64 // connections that failed or that the server closed
	pings  atomic.Int64 // the server's PINGs answered with a PONG (heartbeats)
	rtts   []int64      // dealer round trips completed while measuring; read after the loop ends
}

func newLoop(sh *shared, first, count int) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &loop{sh: sh, ep: ep, conns: make([]conn, count), buf: make([]byte, 256<<10), events: make([]unix.EpollEvent, 1024)}
	for i := range l.conns {
		src := sourceOf(sh.a.Source, sh.a.PerSource, first+i)
		l.conns[i].fd, l.conns[i].idx = -1, int32(i)
		copy(l.conns[i].src[:], src)
	}
	return l, nil
}

// run drives the loop until stop; it closes every connection on the way out.
func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		for i := range l.conns {
			if l.conns[i].fd >= 0 {
				_ = unix.Close(l.conns[i].fd)
			}
		}
		_ = unix.Close(l.ep)
	}()
	for !l.sh.stop.Load() {
		l.startSome()
		if l.sh.a.Mode == ModeDealer && l.sh.go_.Load() {
			l.kick()
		}
		n, err := unix.EpollWait(l.ep, l.events, 10)
		if err != nil && !errors.Is(err, unix.EINTR) {
			l.sh.fail(fmt.Errorf("epoll_wait: %w", err))
			return
		}
		for _, ev := range l.events[:max(n, 0)] {
			l.handle(&l.conns[ev.Fd], ev.Events)
		}
	}
}

// startSome starts connection attempts while fewer than --connecting are under way (over all
// loops): a burst of SYNs past the server's backlog would measure the kernel's retransmission
// timer instead of the server.
func (l *loop) startSome() {
	for l.next < len(l.conns) && l.sh.connecting.Load() < int64(l.sh.a.Connecting) {
		i := l.next
		l.next++
		l.sh.connecting.Add(1)
		if err := l.dial(i); err != nil {
			l.sh.connecting.Add(-1)
			l.closed.Add(1)
			l.sh.fail(err)
		}
	}
}

func (l *loop) dial(i int) error {
	c := &l.conns[i]
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	// The port is chosen at connect, per 4-tuple, so that one source address serves more
	// connections than its share of the ephemeral range would allow a bind to port 0.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: c.src}); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("bind %v: %w", c.src, err)
	}
	sa := &unix.SockaddrInet4{Port: l.sh.a.Server.Port}
	copy(sa.Addr[:], l.sh.a.Server.IP.To4())
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		_ = unix.Close(fd)
		return fmt.Errorf("connect from %v: %w", c.src, err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(i)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	c.fd, c.wantOut = fd, true
	c.out = append(c.out[:0], l.sh.hello...)
	return nil
}

// kick sends the first K requests on every connection that is up and has not had them.
func (l *loop) kick() {
	now := l.sh.clock()
	for i := range l.conns {
		c := &l.conns[i]
		if c.up && !c.kicked && c.fd >= 0 {
			c.kicked = true
			for range l.sh.a.Inflight {
				c.out = appendRequest(c.out, l.sh.a.Size, now)
			}
			l.flush(c)
		}
	}
}

func (l *loop) handle(c *conn, events uint32) {
	if c.fd < 0 {
		return
	}
	if !c.linked && events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && soerr != 0 {
			err = unix.Errno(soerr)
		}
		if err != nil {
			l.drop(c, fmt.Errorf("connect from %v: %w", c.src, err))
			return
		}
		c.linked = true
	}
	if events&unix.EPOLLOUT != 0 {
		l.flush(c)
		if c.fd < 0 {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		l.read(c)
	}
}

func (l *loop) read(c *conn) {
	n, err := unix.Read(c.fd, l.buf)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return
	}
	if err != nil {
		l.drop(c, fmt.Errorf("read: %w", err))
		return
	}
	if n == 0 {
		l.drop(c, errors.New("the server closed a connection"))
		return
	}
	data := l.buf[:n]
	if len(c.in) > 0 {
		c.in = append(c.in, data...)
		data = c.in
	}
	var now int64
	var msgs, pings int64
	for len(data) > 0 {
		ev, body, k, err := c.st.next(data)
		if err != nil {
			l.drop(c, err)
			return
		}
		if k == 0 {
			break
		}
		data = data[k:]
		switch ev {
		case evReady:
			c.up = true
			l.sh.connecting.Add(-1)
			l.up.Add(1)
			switch l.sh.a.Mode {
			case ModeIdle:
				c.out = nil // the hello's copy is not needed any more; idle memory stays small
			case ModeSub:
				c.out = append(c.out, subscribeAll...)
			}
		case evPing:
			// ZMTP 3.1: a PING is answered with a PONG that carries its context back.
			pings++
			c.out = codec.AppendPong(c.out, body)
		case evMsg:
			msgs++
			if l.sh.a.Mode == ModeDealer {
				if now == 0 {
					now = l.sh.clock()
				}
				if len(body) < 8 {
					l.drop(c, fmt.Errorf("%w: a reply of %d bytes", errStream, len(body)))
					return
				}
				if l.sh.measuring.Load() {
					l.rtts = append(l.rtts, now-int64(binary.LittleEndian.Uint64(body)))
				}
				c.out = appendRequest(c.out, l.sh.a.Size, now)
			}
		}
	}
	// data may alias c.in; append copies with memmove, so the overlap is fine.
	c.in = append(c.in[:0], data...)
	if msgs > 0 {
		l.msgs.Add(msgs)
	}
	if pings > 0 {
		l.pings.Add(pings)
	}
	if len(c.out) > 0 && !c.wantOut {
		l.flush(c)
	}
}

// flush writes what the kernel takes of c.out and watches EPOLLOUT while anything is left.
func (l *loop) flush(c *conn) {
	if !c.linked {
		return
	}
	for len(c.out) > 0 {
		n, err := unix.Write(c.fd, c.out)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			l.drop(c, fmt.Errorf("write: %w", err))
			return
		}
		c.out = append(c.out[:0], c.out[n:]...)
	}
	want := len(c.out) > 0
	if want != c.wantOut {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: c.idx}
		if want {
			ev.Events |= unix.EPOLLOUT
		}
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			l.drop(c, fmt.Errorf("epoll_ctl: %w", err))
			return
		}
		c.wantOut = want
	}
}

// drop closes c after a failure; the run then reports status=error.
func (l *loop) drop(c *conn, err error) {
	_ = unix.Close(c.fd)
	c.fd = -1
	if !c.up {
		l.sh.connecting.Add(-1)
	}
	l.closed.Add(1)
	l.sh.fail(err)
}
