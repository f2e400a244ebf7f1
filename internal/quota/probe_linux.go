package quota

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// HostProbe measures dir's file system.
type HostProbe struct {
	Dir string
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
