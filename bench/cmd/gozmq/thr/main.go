// Command thr is the bench contract's thr tool for go-zeromq/zmq4 (see bench/CONTRACT.md).
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/gozmqbench"
)

func main() { contract.Main(contract.ToolThr, new(gozmqbench.Impl)) }
