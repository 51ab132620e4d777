//go:build race

package sockets

// raceEnabled: the race detector slows bulk copies about twentyfold, so bulk tests offer less.
const raceEnabled = true
