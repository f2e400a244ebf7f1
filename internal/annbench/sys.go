package annbench

import "time"

var epoch = time.Now()

// nowSeconds is monotonic wall time in seconds.
func nowSeconds() float64 { return time.Since(epoch).Seconds() }

// busyFraction is the share of the machine's CPU time that was busy (all
// processes, all cores) between two cpuTimes readings; -1 if unknown.
func busyFraction(a, b [2]uint64) float64 {
	if b[1] <= a[1] {
		return -1
	}
	return float64(b[0]-a[0]) / float64(b[1]-a[1])
}
