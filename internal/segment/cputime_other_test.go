//go:build !unix

package segment

func processCPUNanos() int64 { return 0 }
