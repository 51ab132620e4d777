// Command lat is the bench contract's lat tool for zloop (see bench/CONTRACT.md).
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/zloopbench"
)

func main() { contract.Main(contract.ToolLat, new(zloopbench.Impl)) }
