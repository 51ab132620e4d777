//go:build !unix

package reactor

// Windows keeps the backlog of the first listen call, and ignores IP_TOS unless its registry says
// otherwise: both options are left to the system there.

func setTOS(fd uintptr, v6 bool, tos int) error { return nil }

func setBacklog(fd uintptr, n int) error { return nil }
