//go:build !unix

package distance

func processCPUNanos() int64 { return 0 }
