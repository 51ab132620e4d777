//go:build !linux

package reactor

import "time"

// setMaxRT does nothing: libzmq sets ZMQ_TCP_MAXRT only on Linux (TCP_USER_TIMEOUT) and Windows
// (TCP_MAXRT, which zloop leaves out with the rest of Windows' tuning); elsewhere, as here, the
// system's retransmission limits apply.
func setMaxRT(fd uintptr, d time.Duration) error { return nil }

// bindToDevice fails, as libzmq's does without SO_BINDTODEVICE: silently ignoring the option would
// let traffic use an interface the caller excluded.
func bindToDevice(fd uintptr, dev string) error { return ErrOptionUnsupported }

// setRcvLowat: the low-water mark is raised on Linux only, where it was measured; elsewhere the
// loop wakes as data arrives.
func setRcvLowat(fd, n int) error { return ErrOptionUnsupported }
