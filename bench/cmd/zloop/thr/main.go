// Command thr is the bench contract's thr tool for zloop (see bench/CONTRACT.md).
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/zloopbench"
)

func main() { contract.Main(contract.ToolThr, new(zloopbench.Impl)) }
