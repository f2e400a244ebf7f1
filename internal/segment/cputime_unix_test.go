//go:build unix

package segment

import "syscall"

// processCPUNanos is the process's user+system CPU time. Benchmarks report
// it per op as well as wall time: the development machine is shared, and
// CPU time is what a loaded machine does not inflate.
func processCPUNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
