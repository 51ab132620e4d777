// Command lat is the bench contract's lat tool for libzmq (see bench/CONTRACT.md).
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/libzmqbench"
)

func main() { contract.Main(contract.ToolLat, new(libzmqbench.Impl)) }
