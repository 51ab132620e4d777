//go:build !race

package pool

const raceChecks = false
