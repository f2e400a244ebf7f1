package kv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/milvago/milvago/internal/errs"
)

// DiskGuard configures the embedded server's protection against a full
// disk. etcd cannot survive one: a failed bbolt commit or WAL save is fatal
// (the process exits), and etcd never turns read-only. So the store
// refuses a write before etcd attempts it once the disk's free space is
// under MinFreeBytes, and keeps a reserve file of ReserveBytes that it
// deletes at the first refusal, so that the writes etcd already has under
// way (and its own: lease expiries, compactions, the batched bbolt commit)
// still find room even when the disk was filled at once. Writes resume by
// themselves once the disk has MinFreeBytes+ReserveBytes free again: the
// reserve is recreated first.
type DiskGuard struct {
	// Disabled turns the guard off (no reserve file, no check).
	Disabled bool
	// MinFreeBytes: writes are refused below this much free space. 0 means
	// 64 MiB (the WAL segment etcd preallocates after each cut: it must
	// fit, or the next cut fails and etcd exits), at most a sixteenth of
	// the file system.
	MinFreeBytes int64
	// ReserveBytes is the size of the reserve file. 0 means 64 MiB, at most
	// a sixteenth of the file system.
	ReserveBytes int64
	// Check is how often the guard looks at the disk besides every write
	// (to free the reserve when etcd's own writes fill it, and to recreate
	// it). 0 means 1 s.
	Check time.Duration
}

// reserveName is the reserve file, in the embedded server's data directory.
const reserveName = "milvago-reserve"

// metaFullReason is the reason of a meta write refused on a full disk, in
// the words of Milvus's disk protection (quota center).
const metaFullReason = "disk quota exceeded, please allocate more resources: the meta store's disk is full"

// ErrDiskFull is returned (wrapped) by writes the disk guard refuses. It
// is errs.ErrServiceQuotaExceeded, as Milvus refuses writes over its disk
// quota.
var ErrDiskFull = errs.QuotaExceeded(metaFullReason)

type reserveKey struct{}

// WithReserve marks ctx's writes as allowed while the disk guard refuses
// writes: for the few tiny writes that reads depend on (the TSO's window).
// They use the room the deleted reserve gave back.
func WithReserve(ctx context.Context) context.Context {
	return context.WithValue(ctx, reserveKey{}, true)
}

// diskGuard is a DiskGuard at work on one directory.
type diskGuard struct {
	dir, reserve      string
	minFree, size     int64
	logger            *slog.Logger
	armed             atomic.Bool // the reserve file is in place: writes may pass
	mu                sync.Mutex  // serialises creating and deleting the reserve
	refused, statErrs atomic.Int64
}

// newDiskGuard sizes the guard for dir's file system and puts the reserve
// in place if it fits (a reserve left by an earlier run is kept). A guard
// whose reserve does not fit refuses writes until it does.
func newDiskGuard(cfg DiskGuard, dir string, logger *slog.Logger) (*diskGuard, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("disk guard: statfs %s: %w", dir, err)
	}
	total := int64(st.Blocks) * int64(st.Bsize)
	def := min(int64(64<<20), total/16)
	g := &diskGuard{dir: dir, reserve: filepath.Join(dir, reserveName), minFree: cfg.MinFreeBytes, size: cfg.ReserveBytes, logger: logger}
	if g.minFree <= 0 {
		g.minFree = def
	}
	if g.size <= 0 {
		g.size = def
	}
	if fi, err := os.Stat(g.reserve); err == nil && fi.Size() >= g.size {
		g.armed.Store(true)
	} else {
		g.rearm()
	}
	if !g.armed.Load() {
		logger.Warn("meta store's disk is full: writes refused until it has room",
			"dir", dir, "free_bytes", g.free(), "min_free_bytes", g.minFree, "reserve_bytes", g.size)
	}
	return g, nil
}

// free returns the bytes free to this process on the guarded disk, or -1
// when statfs fails.
func (g *diskGuard) free() int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(g.dir, &st); err != nil {
		if g.statErrs.Add(1) == 1 {
			g.logger.Warn("disk guard: statfs", "dir", g.dir, "err", err)
		}
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// allow is the check on the write path: nil while the reserve is in
// place and the disk has MinFreeBytes free. Otherwise it deletes the
// reserve (the first refusal frees it for etcd's writes under way) and
// refuses. A statfs error lets the write through: the guard only ever
// refuses on evidence.
func (g *diskGuard) allow(ctx context.Context) error {
	if g == nil || ctx.Value(reserveKey{}) != nil {
		return nil
	}
	free := g.free()
	if g.armed.Load() && (free >= g.minFree || free < 0) {
		return nil
	}
	g.release(free)
	if g.refused.Add(1) == 1 {
		g.logger.Warn("meta store's disk is full: refusing writes", "free_bytes", free, "min_free_bytes", g.minFree)
	}
	return ErrDiskFull
}

// release deletes the reserve file if it is in place.
func (g *diskGuard) release(free int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.armed.Load() {
		return
	}
	g.armed.Store(false)
	if err := os.Remove(g.reserve); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.logger.Error("disk guard: delete the reserve file", "path", g.reserve, "err", err)
		return
	}
	g.logger.Warn("meta store's disk is nearly full: reserve file deleted, writes refused until the disk has room",
		"free_bytes", free, "min_free_bytes", g.minFree, "reserve_bytes", g.size)
}

// rearm recreates the reserve when the disk has room for it and
// MinFreeBytes beyond: writes are allowed again.
func (g *diskGuard) rearm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.armed.Load() {
		return
	}
	free := g.free()
	if free < g.minFree+g.size {
		return
	}
	if err := allocate(g.reserve, g.size); err != nil {
		os.Remove(g.reserve)
		g.logger.Warn("disk guard: create the reserve file", "path", g.reserve, "err", err)
		return
	}
	g.armed.Store(true)
	if n := g.refused.Swap(0); n > 0 {
		g.logger.Warn("meta store's disk has room again: reserve file recreated, writes accepted",
			"refused_writes", n, "free_bytes", free-g.size)
	}
}

// run frees the reserve when the disk fills without a write to notice it
// (etcd's own writes, another process), and recreates it once there is
// room, every check until ctx ends.
func (g *diskGuard) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !g.armed.Load() {
			g.rearm()
			continue
		}
		if free := g.free(); free >= 0 && free < g.minFree {
			g.release(free)
		}
	}
}

// allocate creates path with size bytes of blocks really allocated
// (fallocate, or zeros where the file system lacks it) and synced.
func allocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = writeZeros(f, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeZeros(w io.Writer, size int64) error {
	buf := make([]byte, 1<<20)
	for size > 0 {
		n := min(size, int64(len(buf)))
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		size -= n
	}
	return nil
}
