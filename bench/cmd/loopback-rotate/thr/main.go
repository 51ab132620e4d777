// Command thr is the bench contract's thr tool over a plain stream socket whose receiver reads, and
// whose sender under --fill writes, HWM+1 distinct buffers in turn (loopbench.Rotate): the limit
// line with a message queue's memory.
package main

import (
	"github.com/zloop/zloop/bench/internal/contract"
	"github.com/zloop/zloop/bench/internal/loopbench"
)

func main() { contract.Main(contract.ToolThr, &loopbench.Impl{Send: loopbench.Rotate}) }
