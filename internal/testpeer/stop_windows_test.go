package testpeer

import (
	"errors"
	"os"
)

// stopProcess would freeze p; Windows has no SIGSTOP (and no /usr/bin/python3 peer to freeze).
func stopProcess(*os.Process) error { return errors.New("testpeer: no SIGSTOP on Windows") }
