// Package background names the goroutines that outlive every reactor: gnet's worker pool (ants)
// starts them when the package is initialised and keeps them for the life of the process. It has
// no imports, so that both the reactor (which exports the list) and the test leak checks use it.
package background

// Goroutines are the functions those goroutines run, as a leak checker matches them.
var Goroutines = []string{
	"github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers",
	"github.com/panjf2000/ants/v2.(*poolCommon).ticktock",
	"github.com/panjf2000/ants/v2.(*goWorker).run.func1",
}
