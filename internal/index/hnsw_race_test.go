//go:build race

package index

// raceEnabled shrinks the HNSW test data under the race detector, which
// slows the build's inner loops about tenfold.
const raceEnabled = true
