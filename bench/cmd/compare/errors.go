package main

import "errors"

// errConfig is wrapped by every error about flags the runner cannot use (exit status 2).
var errConfig = errors.New("zmq: bench: compare: bad flags")
