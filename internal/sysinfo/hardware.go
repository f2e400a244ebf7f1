package sysinfo

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// clockTicks is USER_HZ, the unit of /proc/stat.
const clockTicks = 100

// Hardware reads this process's host as Milvus's pkg/util/hardware does:
// CPU cores and the host's CPU usage (percent since the previous call),
// memory (the cgroup limit if lower than the host's) and the process's
// memory use (RSS minus shared pages), disk size and use (GB) of diskPath,
// and the host's cumulative I/O wait (seconds).
func Hardware(ip, diskPath string) HardwareMetrics {
	h := HardwareMetrics{IP: ip, CPUCoreCount: runtime.NumCPU(), CPUCoreUsage: cpuUsage(),
		Memory: memoryTotal(), MemoryUsage: memoryUsed()}
	if diskPath != "" {
		var st syscall.Statfs_t
		if syscall.Statfs(diskPath, &st) == nil {
			total := float64(st.Blocks) * float64(st.Bsize)
			free := float64(st.Bfree) * float64(st.Bsize)
			h.Disk = total / 1e9
			h.DiskUsage = (total - free) / 1e9
		}
	}
	if t, ok := readCPUTimes(); ok && len(t) > 4 {
		h.IOWaitPercentage = float64(t[4]) / clockTicks
	}
	return h
}

// readCPUTimes returns the aggregate "cpu" line of /proc/stat.
func readCPUTimes() ([]uint64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return nil, false
	}
	out := make([]uint64, 0, len(f)-1)
	for _, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

var cpuPrev struct {
	sync.Mutex
	total, idle uint64
}

// cpuUsage is the host's busy percentage since the previous call (since
// boot on the first), as gopsutil's cpu.Percent(0, false).
func cpuUsage() float64 {
	t, ok := readCPUTimes()
	if !ok {
		return 0
	}
	var total uint64
	for i, v := range t {
		if i >= 8 { // guest and guest_nice are counted in user and nice
			break
		}
		total += v
	}
	idle := t[3] + t[4]
	cpuPrev.Lock()
	defer cpuPrev.Unlock()
	dt, di := total-cpuPrev.total, idle-cpuPrev.idle
	cpuPrev.total, cpuPrev.idle = total, idle
	if dt == 0 {
		return 0
	}
	return 100 * float64(dt-di) / float64(dt)
}

func memoryTotal() uint64 {
	total := meminfo("MemTotal")
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (total == 0 || v < total) {
			return v
		}
	}
	return total
}

func meminfo(key string) uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			return 0
		}
		n, _ := strconv.ParseUint(fs[0], 10, 64)
		return n * 1024 // kB
	}
	return 0
}

// memoryUsed is the process's resident memory minus shared pages
// (file-backed mappings), from /proc/self/statm.
func memoryUsed() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0
	}
	rss, _ := strconv.ParseUint(f[1], 10, 64)
	shared, _ := strconv.ParseUint(f[2], 10, 64)
	if shared > rss {
		return 0
	}
	return (rss - shared) * uint64(os.Getpagesize())
}
