// Package ctools tests the C tools of bench/c (impl=libzmq-c) from Go: it builds them with gcc
// against libzmq, checks that they parse every command line exactly as the Go tools do (same
// RESULT line, same exit code), and runs them against the Go implementations. It has no code of
// its own; the tests skip where gcc or libzmq's headers are missing.
package ctools
