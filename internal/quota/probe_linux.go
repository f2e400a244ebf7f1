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
	// statfs reads the file system's counts (nil: unix.Statfs).
	statfs func(path string, st *unix.Statfs_t) error
}

// Disk is the space in use on Dir's file system as df counts it (its
// Used and Use%): used is the blocks not free (f_blocks - f_bfree), total
// the blocks in use or available to an unprivileged user (used +
// f_bavail). The blocks reserved for root (f_bfree - f_bavail) are in
// neither: Milvago cannot write them, so they are not room it has, but
// they are not data either. Counting them as used, of f_blocks, read an
// ext4 disk with its 5% reserve as 95% full where df showed 87% (issue
// 11), which an operator comparing the refusal with df could not explain.
// Both notions reach 100% together, when nothing is available.
func (p HostProbe) Disk() (used, total uint64, err error) {
	statfs := p.statfs
	if statfs == nil {
		statfs = unix.Statfs
	}
	var st unix.Statfs_t
	if err := statfs(p.Dir, &st); err != nil {
		return 0, 0, fmt.Errorf("quota: statfs %s: %w", p.Dir, err)
	}
	used, total = dfUsage(st.Blocks, st.Bfree, st.Bavail, uint64(st.Bsize))
	return used, total, nil
}

// dfUsage is df's used and total bytes of a file system of blocks blocks
// of bsize bytes, bfree of them free and bavail available to users.
func dfUsage(blocks, bfree, bavail, bsize uint64) (used, total uint64) {
	usedBlocks := blocks - min(bfree, blocks)
	return usedBlocks * bsize, (usedBlocks + bavail) * bsize
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
