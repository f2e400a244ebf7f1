//go:build linux

package index

import "golang.org/x/sys/unix"

// benchThreadCPUNanos is the calling OS thread's CPU time.
func benchThreadCPUNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}
