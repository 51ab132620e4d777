// Command thr is the bench contract's thr tool over a plain stream socket whose sender copies each
// payload and has another thread write the copies (loopbench.Handoff): the limit of a library
// whose I/O thread writes what its caller queued, next to the limit line.
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/loopbench"
)

func main() { contract.Main(contract.ToolThr, &loopbench.Impl{Send: loopbench.Handoff}) }
