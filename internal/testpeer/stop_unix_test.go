//go:build !windows

package testpeer

import (
	"os"
	"syscall"
)

// stopProcess freezes p without ending it, so that it hangs.
func stopProcess(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
