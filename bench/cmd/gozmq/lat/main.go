// Command lat is the bench contract's lat tool for go-zeromq/zmq4 (see bench/CONTRACT.md).
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/gozmqbench"
)

func main() { contract.Main(contract.ToolLat, new(gozmqbench.Impl)) }
