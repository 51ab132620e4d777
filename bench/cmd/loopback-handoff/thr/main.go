// Command thr is the bench contract's thr tool over a plain stream socket whose sender first copies
// each payload (loopbench.Handoff): the limit of a library that does, next to the limit line.
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/loopbench"
)

func main() { contract.Main(contract.ToolThr, &loopbench.Impl{Send: loopbench.Handoff}) }
