//go:build !linux

package annbench

import "time"

var start = time.Now()

// On other systems CPU times fall back to wall time and RSS is unknown.
func rssBytes() int64     { return 0 }
func processCPU() float64 { return time.Since(start).Seconds() }
func threadCPU() float64  { return time.Since(start).Seconds() }
func loadAvg() float64    { return 0 }

func cpuTimes() [2]uint64 { return [2]uint64{} }
