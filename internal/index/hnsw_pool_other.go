//go:build !amd64 || purego

package index

// poolCountLE returns how many of v are <= x.
func poolCountLE(v []float32, x float32) int { return poolCountLEGo(v, x) }
