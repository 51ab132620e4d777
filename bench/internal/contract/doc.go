// Package contract implements the thr/lat command contract of bench/CONTRACT.md once,
// so that every implementation under bench/cmd is a thin adapter: argument parsing, the
// measurement loops, the --check sequence numbers, percentiles, runtime.MemStats figures, the
// process deadline, the single RESULT line and the exit codes all live here.
//
// An implementation provides an Impl (open a socket of a kind, shut the library down) whose
// Socket sends a payload, receives one, or echoes one. The loops that time them are shared, so
// that two implementations differ only in the library calls inside those three methods.
package contract
