package kv

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// fallocate allocates the blocks of f's byte range [off, off+n); with
// keepSize the file's size stays as it is. A file system without
// fallocate yields errNoFallocate.
func fallocate(f *os.File, keepSize bool, off, n int64) error {
	mode := uint32(0)
	if keepSize {
		mode = unix.FALLOC_FL_KEEP_SIZE
	}
	err := unix.Fallocate(int(f.Fd()), mode, off, n)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return errNoFallocate
	}
	return err
}
