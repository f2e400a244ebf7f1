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

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap/zapcore"
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
//
// Another process that keeps writing takes the reserve's room as soon as
// it is freed. So the room etcd's in-flight writes need is also held
// inside etcd's own files, where no other process can take it: the WAL
// preallocates its segments (etcd's own), and the guard keeps blocks
// allocated past the end of the bbolt backend (backendHeadroom). If the
// WAL still fails to preallocate its next segment (etcd's file pipeline
// then fails the segment after, for good), every write is refused until
// a restart: etcd would exit at that cut.
type DiskGuard struct {
	// Disabled turns the guard off (no reserve file, no check).
	Disabled bool
	// MinFreeBytes: writes are refused below this much free space. It is
	// never below a WAL segment (64 MB: etcd preallocates the next one
	// after each cut, and exits at the cut after one that did not fit)
	// plus 8 MiB for a snapshot and etcd's other small files, which is
	// also the default.
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

// snapRoom is the room etcd needs besides its WAL and backend: a snapshot
// file (member/snap/*.snap, written every 10000 entries) and the like.
const snapRoom = 8 << 20

// minFloor is the least MinFreeBytes: the WAL's next segment and snapRoom.
var minFloor = wal.SegmentSizeBytes + snapRoom

// backendHeadroomFor is how much the guard keeps allocated past the end
// of the bbolt backend on a file system of total bytes: room for the
// commits under way when the disk fills, that no other process can take.
func backendHeadroomFor(total int64) int64 {
	return min(max(total/32, 8<<20), 32<<20)
}

// metaFullReason is the reason of a meta write refused on a full disk, in
// the words of Milvus's disk protection (quota center).
const metaFullReason = "disk quota exceeded, please allocate more resources: the meta store's disk is full"

// ErrDiskFull is returned (wrapped) by writes the disk guard refuses. It
// is errs.ErrServiceQuotaExceeded, as Milvus refuses writes over its disk
// quota.
var ErrDiskFull = errs.QuotaExceeded(metaFullReason)

// errWALLost refuses every write once etcd's WAL failed to preallocate
// its next segment: the cut after the next would fail, and etcd exit. It
// is ErrDiskFull's code and errs.ErrServiceQuotaExceeded.
var errWALLost = errs.QuotaExceeded(metaFullReason + "; etcd's WAL could not preallocate its next segment: restart once the disk has room")

// ErrDiskTooSmall is returned (wrapped) by StartEmbedded when the guarded
// disk cannot hold what etcd needs: its WAL's segment in use and next one,
// the guard's floor and reserve, and the backend's headroom.
var ErrDiskTooSmall = errors.New("disk too small for the meta store")

// ErrNoRoom is returned (wrapped) by StartEmbedded when the guarded disk,
// large enough, is too full to start etcd safely: a new store needs room
// for its WAL, an existing one for the WAL segment etcd preallocates at
// start (without it, etcd's start-up can fail for good: "failed to read
// WAL, cannot be repaired").
var ErrNoRoom = errors.New("no room on the disk to start the meta store")

// walPreallocFailed is the message etcd's WAL file pipeline logs when it
// cannot preallocate the next segment; the pipeline has then stopped for
// good (go.etcd.io/etcd/server/v3/storage/wal/file_pipeline.go).
const walPreallocFailed = "failed to preallocate space when creating a new WAL"

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
	backend           string // etcd's bbolt file, kept headroom bytes past its end
	minFree, size     int64
	headroom          int64
	logger            *slog.Logger
	armed             atomic.Bool // the reserve file is in place: writes may pass
	walLost           atomic.Bool // the WAL's file pipeline failed: refuse until restart
	mu                sync.Mutex  // serialises creating and deleting the reserve
	refused, statErrs atomic.Int64
	headroomErrs      atomic.Int64
	// headroomFor is the backend file as keepHeadroom last allocated past
	// it. Only StartEmbedded and then run's goroutine use it.
	headroomFor os.FileInfo
	snap        snapGuard // etcd's disk snapshots (embed_snap.go)
}

// newDiskGuard sizes the guard for dir's file system and puts the reserve
// in place if it fits (a reserve left by an earlier run is kept). A guard
// whose reserve does not fit refuses writes until it does. A file system
// too small for the meta store at all is ErrDiskTooSmall, and so is a new
// store's disk without room for its WAL.
// snapCount is etcd's SnapshotCount, what the guard counts down to etcd's
// next disk snapshot with.
func newDiskGuard(cfg DiskGuard, dir string, snapCount uint64, logger *slog.Logger) (*diskGuard, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("disk guard: statfs %s: %w", dir, err)
	}
	total := int64(st.Blocks) * int64(st.Bsize)
	g := &diskGuard{dir: dir, reserve: filepath.Join(dir, reserveName), backend: filepath.Join(dir, "member", "snap", "db"),
		minFree: cfg.MinFreeBytes, size: cfg.ReserveBytes, headroom: backendHeadroomFor(total), logger: logger,
		snap: newSnapGuard(snapCount, cfg.Check)}
	if g.minFree < minFloor {
		if g.minFree > 0 {
			logger.Warn("disk guard: free-space floor raised to etcd's next WAL segment and a snapshot",
				"dir", dir, "min_free_bytes", g.minFree, "floor_bytes", minFloor)
		}
		g.minFree = minFloor
	}
	if g.size <= 0 {
		g.size = min(int64(64<<20), total/16)
	}
	walRoom := 2 * wal.SegmentSizeBytes // the segment in use and the next, preallocated
	if need := walRoom + minFloor + g.size + g.headroom; total < need {
		return nil, fmt.Errorf("disk guard: the file system of %s holds %d MiB, the meta store needs at least %d MiB "+
			"(etcd's WAL segment and the next %d MiB, free-space floor %d MiB, reserve %d MiB, backend headroom %d MiB): %w",
			dir, total>>20, need>>20, walRoom>>20, minFloor>>20, g.size>>20, g.headroom>>20, ErrDiskTooSmall)
	}
	free, reserved := g.free(), int64(0)
	if fi, err := os.Stat(g.reserve); err == nil {
		reserved = fi.Size()
	}
	_, err := os.Stat(filepath.Join(dir, "member", "wal"))
	switch {
	case free < 0:
	case errors.Is(err, os.ErrNotExist) && free+reserved < walRoom+g.headroom:
		return nil, fmt.Errorf("disk guard: %s has %d MiB free, a new meta store needs %d MiB for etcd's WAL and backend: %w",
			dir, free>>20, (walRoom+g.headroom)>>20, ErrNoRoom)
	case err == nil && free+reserved < minFloor:
		return nil, fmt.Errorf("disk guard: %s has %d MiB free (with the reserve), the meta store needs %d MiB to start "+
			"(etcd preallocates its WAL's next segment at start): free some space: %w", dir, (free+reserved)>>20, minFloor>>20, ErrNoRoom)
	}
	if fi, err := os.Stat(g.reserve); err == nil && fi.Size() >= g.size {
		g.armed.Store(true)
		// A disk that filled while the store was down: etcd's start-up
		// writes (its backend's commits, the WAL's next segment) get the
		// reserve's room at once.
		if free := g.free(); free >= 0 && free < g.minFree {
			g.release(free)
		}
	} else {
		g.rearm()
	}
	if !g.armed.Load() {
		logger.Warn("meta store's disk is full: writes refused until it has room",
			"dir", dir, "free_bytes", g.free(), "min_free_bytes", g.minFree, "reserve_bytes", g.size)
	}
	return g, nil
}

// etcdLogged is told every message etcd logs at info or above, in the
// goroutine that logs it: a failed WAL preallocation makes the guard
// refuse every write until a restart; a disk snapshot about to be written
// on a full disk is held until there is room (embed_snap.go).
func (g *diskGuard) etcdLogged(e zapcore.Entry, fields []zapcore.Field) {
	if g == nil {
		return
	}
	switch e.Message {
	case msgTriggeringSnapshot:
		g.snapshotStarting()
		return
	case msgSavedSnapshot:
		g.snapshotSaved(fields)
		return
	}
	if e.Message != walPreallocFailed || g.walLost.Swap(true) {
		return
	}
	g.logger.Error("meta store's disk is full: etcd's WAL could not preallocate its next segment, "+
		"and would exit at the cut after: every write refused until a restart with room on the disk",
		"dir", g.dir, "free_bytes", g.free(), "segment_bytes", wal.SegmentSizeBytes)
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
	if g == nil {
		return nil
	}
	if g.walLost.Load() {
		g.refused.Add(1)
		return errWALLost
	}
	if g.snap.held.Load() {
		g.refused.Add(1)
		return errSnapshotHeld
	}
	free := g.free()
	if g.armed.Load() {
		if free >= g.minFree || free < 0 {
			return nil
		}
		// Only an armed guard releases: a write refused while the guard
		// rearms must not delete the reserve just recreated.
		g.release(free)
	}
	if ctx.Value(reserveKey{}) != nil {
		// A reserved write is one more entry towards etcd's next disk
		// snapshot, which a full disk cannot take: it passes while the
		// snapshot is far enough away.
		if g.snapshotFar() {
			return nil
		}
		if g.snap.refused.Add(1) == 1 {
			g.logger.Warn("meta store's disk is full and etcd's next snapshot is near: refusing the reserved writes too (timestamps)",
				"free_bytes", free, "applied_index", g.snap.appliedIndex(), "snapshot_index", g.snap.index.Load(),
				"snapshot_count", g.snap.count, "margin", g.snap.margin)
		}
		g.refused.Add(1)
		return errSnapshotDue
	}
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
	if err := g.keepHeadroom(); err != nil {
		g.logger.Warn("disk guard: allocate the backend's headroom", "path", g.backend, "err", err)
		return
	}
	if err := allocate(g.reserve, g.size); err != nil {
		os.Remove(g.reserve)
		g.logger.Warn("disk guard: create the reserve file", "path", g.reserve, "err", err)
		return
	}
	g.armed.Store(true)
	g.snap.refused.Store(0)
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
		if g.walLost.Load() {
			continue // nothing to recreate: writes wait for a restart
		}
		if !g.armed.Load() {
			g.rearm()
			continue
		}
		free := g.free()
		if free >= 0 && free < g.minFree {
			g.release(free)
			continue
		}
		// The backend grew into its headroom: allocate it again while the
		// disk has room.
		if err := g.keepHeadroom(); err != nil && g.headroomErrs.Add(1) == 1 {
			g.logger.Warn("disk guard: allocate the backend's headroom", "path", g.backend, "err", err)
		}
	}
}

// keepHeadroom allocates the bbolt backend's blocks up to headroom bytes
// past its end, without changing its size (bbolt grows the file by
// truncating it larger, which allocates nothing): the backend's next
// commits write into blocks it already holds, which no other process can
// take. bbolt writes every page below its high-water mark and grows the
// file at most 16 MiB (its AllocSize) past it, so the range starts 32 MiB
// before the end. A backend etcd has not created yet needs none, nor one
// the same size as at the last allocation (the same file: a defragmented
// backend is a new one): every check of an idle server opened and
// allocated it again.
func (g *diskGuard) keepHeadroom() error {
	fi, err := os.Stat(g.backend)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if held := g.headroomFor; err == nil && held != nil && os.SameFile(held, fi) && held.Size() == fi.Size() {
		return nil
	}
	f, err := os.OpenFile(g.backend, os.O_WRONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return err
	}
	from := max(fi.Size()-32<<20, 0)
	err = fallocate(f, true, from, fi.Size()+g.headroom-from)
	if errors.Is(err, errNoFallocate) {
		return nil // a file system without it: the reserve alone guards
	}
	if err == nil {
		g.headroomFor = fi
	}
	return err
}

// errNoFallocate: the file system (or the OS) cannot allocate blocks ahead.
var errNoFallocate = errors.New("kv: fallocate not supported")

// allocate creates path with size bytes of blocks really allocated
// (fallocate, or zeros where the file system lacks it) and synced.
func allocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = fallocate(f, false, 0, size)
	if errors.Is(err, errNoFallocate) {
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
