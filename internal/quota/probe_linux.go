package quota

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// HostProbe measures the host (or its cgroup) and dir's file system.
type HostProbe struct {
	Dir string
}

// Memory is the cgroup v2 memory in use and its limit when the process
// runs under one, else the host's (MemTotal - MemAvailable, MemTotal), as
// Milvus's hardware.GetUsedMemoryCount does.
func (p HostProbe) Memory() (used, total uint64, err error) {
	if u, t, err := cgroupMemory(); err == nil {
		return u, t, nil
	}
	return hostMemory()
}

func cgroupMemory() (used, total uint64, err error) {
	maxB, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0, 0, err
	}
	s := strings.TrimSpace(string(maxB))
	if s == "max" {
		return 0, 0, errors.New("no cgroup memory limit")
	}
	if total, err = strconv.ParseUint(s, 10, 64); err != nil {
		return 0, 0, err
	}
	cur, err := os.ReadFile("/sys/fs/cgroup/memory.current")
	if err != nil {
		return 0, 0, err
	}
	if used, err = strconv.ParseUint(strings.TrimSpace(string(cur)), 10, 64); err != nil {
		return 0, 0, err
	}
	// Page cache the kernel can reclaim is not memory in use.
	if st, err := os.ReadFile("/sys/fs/cgroup/memory.stat"); err == nil {
		if f := statField(st, "inactive_file"); f > 0 && f < used {
			used -= f
		}
	}
	return used, total, nil
}

func statField(b []byte, name string) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == name {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func hostMemory() (used, total uint64, err error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	var avail uint64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = n << 10
		case "MemAvailable:":
			avail = n << 10
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("quota: no MemTotal in /proc/meminfo")
	}
	return total - min(avail, total), total, nil
}

// Disk is the space in use on Dir's file system, counting the blocks
// reserved for root as used (they are not available to Milvago as a user).
func (p HostProbe) Disk() (used, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p.Dir, &st); err != nil {
		return 0, 0, fmt.Errorf("quota: statfs %s: %w", p.Dir, err)
	}
	bs := uint64(st.Bsize)
	total = st.Blocks * bs
	return total - st.Bavail*bs, total, nil
}

// DataBytes is the size of the files under Dir.
func (p HostProbe) DataBytes() (int64, error) {
	var n int64
	err := filepath.WalkDir(p.Dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}
