// Command lat is the bench contract's lat tool over a plain stream socket, the limit line (see
// bench/internal/loopbench).
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/loopbench"
)

func main() { contract.Main(contract.ToolLat, new(loopbench.Impl)) }
