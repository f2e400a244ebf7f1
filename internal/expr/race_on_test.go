//go:build race

package expr

// raceEnabled shrinks the slowest randomized tests under -race.
const raceEnabled = true
