package reactor

import (
	"net"
	"syscall"
	"time"
)

// TCP tuning: libzmq's tcp.cpp (tune_tcp_socket, tune_tcp_keepalives, tune_tcp_maxrt,
// set_ip_type_of_service, bind_to_device), applied to tcp:// and ws:// connections. TOS and the
// device are set before bind or connect (control), the rest once a connection exists (tuneTCP),
// on accepted and dialed connections alike, as libzmq does.

// control returns the net.Dialer / net.ListenConfig Control that sets TOS and the device on a new
// tcp socket before it binds or connects, or nil when there is nothing to set.
func (o *Options) control() func(network, address string, c syscall.RawConn) error {
	if o.TOS == 0 && o.BindToDevice == "" {
		return nil
	}
	return func(network, _ string, c syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return nil // unix sockets have neither
		}
		var err error
		cerr := c.Control(func(fd uintptr) {
			if o.BindToDevice != "" {
				if err = bindToDevice(fd, o.BindToDevice); err != nil {
					return
				}
			}
			if o.TOS != 0 {
				err = setTOS(fd, network == "tcp6", o.TOS)
			}
		})
		if cerr != nil {
			return cerr
		}
		return err
	}
}

// tuneTCP applies the options that concern an established TCP connection: keepalives, the
// retransmission timeout, and TOS on an accepted one (set on the listener, but libzmq sets it
// again on each accepted socket, which not every system inherits).
func tuneTCP(nc net.Conn, o *Options, accepted bool) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	switch o.TCPKeepAlive {
	case 0:
		if err := tc.SetKeepAlive(false); err != nil {
			return err
		}
	case 1:
		cfg := net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
		if o.TCPKeepAliveIdle > 0 {
			cfg.Idle = o.TCPKeepAliveIdle
		}
		if o.TCPKeepAliveIntvl > 0 {
			cfg.Interval = o.TCPKeepAliveIntvl
		}
		if o.TCPKeepAliveCnt > 0 {
			cfg.Count = o.TCPKeepAliveCnt
		}
		if err := tc.SetKeepAliveConfig(cfg); err != nil {
			return err
		}
	}
	if o.TCPMaxRT <= 0 && (o.TOS == 0 || !accepted) {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	v6 := false
	if a, ok := tc.LocalAddr().(*net.TCPAddr); ok {
		v6 = a.IP.To4() == nil
	}
	cerr := rc.Control(func(fd uintptr) {
		if o.TCPMaxRT > 0 {
			if err = setMaxRT(fd, o.TCPMaxRT); err != nil {
				return
			}
		}
		if o.TOS != 0 && accepted {
			err = setTOS(fd, v6, o.TOS)
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// msCeil converts d to whole milliseconds, rounding up so that a positive d stays positive.
func msCeil(d time.Duration) int {
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// listenBacklog sets the accept queue of ln to n connections when n > 0 (see setBacklog).
func listenBacklog(ln net.Listener, n int) error {
	if n <= 0 {
		return nil
	}
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	cerr := rc.Control(func(fd uintptr) { err = setBacklog(fd, n) })
	if cerr != nil {
		return cerr
	}
	return err
}
