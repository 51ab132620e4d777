//go:build race

package pool

// raceChecks turns lifetime checking on in race builds, where tests run anyway and the
// cost does not matter.
const raceChecks = true
