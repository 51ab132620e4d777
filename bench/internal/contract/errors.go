package contract

import "errors"

// Sentinel errors. Run maps them to the contract's statuses and exit codes; test for them with
// errors.Is.
var (
	// ErrUsage: the command line does not follow the contract (exit code 1).
	ErrUsage = errors.New("zmq: bench: usage")
	// ErrCheck: a received message has the wrong size, sequence number or frame count
	// (status check_failed, exit code 2). Adapters wrap it for messages of more than one frame.
	ErrCheck = errors.New("zmq: bench: data check failed")
	// ErrBadResult: a line given to ParseResult is not a RESULT line.
	ErrBadResult = errors.New("zmq: bench: not a RESULT line")
)
