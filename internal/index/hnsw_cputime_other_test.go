//go:build !linux

package index

// benchThreadCPUNanos is 0 where thread CPU time is not read; the metric
// is then meaningless and ns/op is the number to use.
func benchThreadCPUNanos() int64 { return 0 }
