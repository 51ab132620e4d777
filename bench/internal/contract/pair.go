package contract

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
)

// FreePort returns a TCP port on 127.0.0.1 that the kernel reported free (it binds port 0, reads
// the port and closes it), for a bind endpoint given to a tool.
func FreePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeTCP is FreePort as a tcp:// endpoint.
func FreeTCP() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", port), nil
}

// RunPair runs the bind side (server, its arguments after the tool name) and the connect side
// (client) of one tool in this process, concurrently and each with its own Impl, as two processes
// would. It returns both results, and an error when either side's arguments do not parse, either
// run fails or either status is not ok. Any goroutine may call it.
func RunPair(ctx context.Context, tool, server string, serverImpl Impl, client string, clientImpl Impl) (sr, cr Result, err error) {
	sa, err := Parse(tool, strings.Fields(server))
	if err != nil {
		return sr, cr, err
	}
	ca, err := Parse(tool, strings.Fields(client))
	if err != nil {
		return sr, cr, err
	}
	var serr, cerr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sr, serr = Run(ctx, &sa, serverImpl) }()
	go func() { defer wg.Done(); cr, cerr = Run(ctx, &ca, clientImpl) }()
	wg.Wait()
	if serr != nil || cerr != nil || sr.Status != StatusOK || cr.Status != StatusOK {
		return sr, cr, fmt.Errorf("server: %v, client: %v\n%s\n%s", serr, cerr, sr.String(), cr.String())
	}
	return sr, cr, nil
}
