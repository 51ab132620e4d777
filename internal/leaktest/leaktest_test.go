package leaktest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { Main(m, nil) }

// The options must still catch a goroutine that is not gnet's.
func TestOptionsStillFindLeaks(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	if err := goleak.Find(Options()...); err == nil {
		t.Error("a leaked goroutine was not found")
	}
	close(stop)
	<-done
}
