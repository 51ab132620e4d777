// Command freeport prints a TCP port on 127.0.0.1 that the kernel reports free (it binds port 0,
// reads the port and closes), for scripts that must give a bind endpoint to a tool.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "freeport:", err)
		os.Exit(1)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	fmt.Println(port)
}
