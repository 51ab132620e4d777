// Command freeport prints a TCP port on 127.0.0.1 that the kernel reports free (it binds port 0,
// reads the port and closes), for scripts that must give a bind endpoint to a tool.
package main

import (
	"fmt"
	"os"

	"github.com/zloop/zloop/bench/internal/contract"
)

func main() {
	port, err := contract.FreePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "freeport:", err)
		os.Exit(1)
	}
	fmt.Println(port)
}
