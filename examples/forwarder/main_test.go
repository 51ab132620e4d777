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

// The program's whole run: the subscriptions cross the forwarder upstream, and each subscriber
// gets only its topics, in publishing order, through it; "sports." goes to nobody.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// subscriber to "weather.", through the forwarder:
	//   weather.paris: 21C
	//   weather.oslo: -3C
	//   weather.paris: 22C
	// subscriber to "news.", through the forwarder:
	//   news.tech: zloop speaks ZMTP 3.1
	//   news.world: all quiet
}
