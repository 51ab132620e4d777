package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/leaktest"
	"github.com/zloop/zloop/reactor"
)

func TestMain(m *testing.M) { leaktest.Main(m, func() { _ = reactor.CloseDefault() }) }

// The program's whole run: every client gets its own answer back through the broker, and the
// DEALER spreads the six requests evenly over the three workers.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, 3, 6); err != nil {
		fmt.Println(err)
	}
	// Output:
	// client 1 got "HELLO FROM CLIENT 1"
	// client 2 got "HELLO FROM CLIENT 2"
	// client 3 got "HELLO FROM CLIENT 3"
	// client 4 got "HELLO FROM CLIENT 4"
	// client 5 got "HELLO FROM CLIENT 5"
	// client 6 got "HELLO FROM CLIENT 6"
	// worker-1 served 2 requests
	// worker-2 served 2 requests
	// worker-3 served 2 requests
}
