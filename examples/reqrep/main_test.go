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

// The program's whole run: the late answer to the second request is dropped (it carries the id
// of the abandoned request), and the retry gets the right one.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// request 1 (add 1 2) = 3
	// request 2 (add 20 22): no reply in time, asking again
	// request 2 (add 20 22) = 42
	// request 3 (add 100 23) = 123
}
