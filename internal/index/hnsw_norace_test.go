//go:build !race

package index

// raceEnabled shrinks the HNSW test data under the race detector.
const raceEnabled = false
