package kv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/milvago/milvago/internal/errs"
)

// etcd writes a disk snapshot every SnapshotCount applied entries: a new
// file member/snap/<term>-<index>.snap of a few KB (a fresh name each
// time, created and truncated, so no blocks allocated ahead can hold its
// room), and it panics in its apply goroutine, and so the process exits,
// when it cannot. Another process that keeps writing takes any room the
// guard frees, so on a full disk the snapshot must not be written at all:
//
//   - Client writes are refused on a full disk already. The writes allowed
//     on the reserve (the TSO's window) are refused too once etcd's applied
//     index is within snapMargin entries of the next snapshot
//     (errSnapshotDue): the entries etcd makes by itself (lease expiries,
//     compactions) and the writes that passed the guard just before the
//     disk filled have that margin left.
//   - Should the snapshot still come due on a full disk, the guard holds
//     etcd's apply goroutine at its "triggering snapshot" log line (the
//     logger etcd is given calls the guard in that goroutine, before the
//     snapshot is written) until the disk has room again, and refuses
//     every write meanwhile (errSnapshotHeld). Catching etcd's panic
//     instead is unsafe: etcd would go on with the WAL released for a
//     snapshot that is not on disk.
//
// The one window left: a disk that fills from the guard's MinFreeBytes to
// nothing between the guard's look at it and etcd's write of the file a
// few milliseconds later.

// The messages etcd logs around a disk snapshot
// (go.etcd.io/etcd/server/v3/etcdserver/server.go, EtcdServer.snapshot);
// the second has the snapshot's index in field "snapshot-index".
const (
	msgTriggeringSnapshot = "triggering snapshot"
	msgSavedSnapshot      = "saved snapshot to disk"
)

// defaultSnapshotCount is etcd's default SnapshotCount.
const defaultSnapshotCount = 10000

// snapMarginFor is how many entries before etcd's next disk snapshot the
// guard stops the reserved writes on a full disk: a quarter of count, at
// most 500.
func snapMarginFor(count uint64) uint64 { return min(count/4, 500) }

// errSnapshotDue refuses a write allowed on the reserve (a timestamp
// window) on a full disk once etcd's next disk snapshot is near.
var errSnapshotDue = errs.QuotaExceeded(metaFullReason + "; etcd's next snapshot is due and cannot be written: " +
	"timestamps wait for room on the disk")

// errSnapshotHeld refuses every write while the guard holds etcd's disk
// snapshot for lack of room.
var errSnapshotHeld = errs.QuotaExceeded(metaFullReason + "; etcd's snapshot is held until the disk has room")

// snapGuard is the guard's state about etcd's disk snapshots.
type snapGuard struct {
	count, margin uint64
	check         time.Duration // how often a held snapshot looks at the disk
	index         atomic.Uint64 // etcd's last disk snapshot's index
	// applied returns etcd's applied index; nil before the server runs.
	applied atomic.Pointer[func() uint64]
	held    atomic.Bool  // etcd's apply goroutine is held at a snapshot
	holds   atomic.Int64 // how many snapshots were held, for tests and logs
	refused atomic.Int64 // reserved writes refused since the disk filled
}

func newSnapGuard(count uint64, check time.Duration) snapGuard {
	if count == 0 {
		count = defaultSnapshotCount
	}
	if check <= 0 {
		check = time.Second
	}
	return snapGuard{count: count, margin: snapMarginFor(count), check: check}
}

func (s *snapGuard) appliedIndex() uint64 {
	if f := s.applied.Load(); f != nil {
		return (*f)()
	}
	return 0
}

// serve starts counting on a running server: applied is its applied
// index, dir its data directory, whose newest member/snap/*.snap is the
// last disk snapshot unless etcd saves one meanwhile.
func (g *diskGuard) serve(applied func() uint64, dir string) {
	if g == nil {
		return
	}
	g.snap.applied.Store(&applied)
	g.snapshotAt(newestSnapIndex(filepath.Join(dir, "member", "snap")))
}

// snapshotAt records a disk snapshot at index (the highest seen wins).
func (g *diskGuard) snapshotAt(index uint64) {
	for {
		cur := g.snap.index.Load()
		if index <= cur || g.snap.index.CompareAndSwap(cur, index) {
			return
		}
	}
}

// snapshotFar reports whether etcd's next disk snapshot is more than the
// margin's entries away (etcd snapshots once applied - index > count).
func (g *diskGuard) snapshotFar() bool {
	return g.snap.appliedIndex()+g.snap.margin <= g.snap.index.Load()+g.snap.count
}

// roomForSnapshot: the disk has MinFreeBytes free. That is more than the
// reserve (at most 64 MiB, the floor at least 72), so the room the guard
// frees by deleting it, which a process keeping the disk full takes at
// once, never looks like room for the snapshot.
func (g *diskGuard) roomForSnapshot() bool {
	free := g.free()
	return free >= g.minFree || free < 0
}

// snapshotStarting runs in etcd's apply goroutine when etcd is about to
// write a disk snapshot. On a full disk it holds that goroutine (and so
// every apply) until the disk has room again: etcd would exit on the
// failed write. It never returns while the disk is full, not even once the
// store is closing (Embedded.Close, or StartEmbedded giving up, then leaves
// the server as it is).
func (g *diskGuard) snapshotStarting() {
	if g.roomForSnapshot() {
		return
	}
	g.snap.held.Store(true)
	g.snap.holds.Add(1)
	defer g.snap.held.Store(false)
	start := time.Now()
	g.logger.Error("meta store's disk is full and etcd's snapshot is due (etcd exits when it cannot write one): "+
		"holding etcd's applies, every write refused, until the disk has room",
		"dir", g.dir, "free_bytes", g.free(), "min_free_bytes", g.minFree)
	t := time.NewTicker(g.snap.check)
	defer t.Stop()
	for {
		if !g.armed.Load() {
			g.rearm() // the guard's own loop may have stopped (Close)
		}
		if g.roomForSnapshot() {
			break
		}
		<-t.C
	}
	g.logger.Warn("meta store's disk has room again: etcd's snapshot goes ahead", "held", time.Since(start).Round(time.Millisecond))
}

// holdsSnapshot reports whether etcd's apply goroutine is held at a disk
// snapshot (etcd cannot stop meanwhile). A nil guard holds nothing.
func (g *diskGuard) holdsSnapshot() bool { return g != nil && g.snap.held.Load() }

// snapshotSaved records the index of the disk snapshot etcd saved.
func (g *diskGuard) snapshotSaved(fields []zapcore.Field) {
	for _, f := range fields {
		if f.Key == "snapshot-index" && f.Type == zapcore.Uint64Type {
			g.snapshotAt(uint64(f.Integer))
		}
	}
}

// newestSnapIndex returns the highest index among the snapshot files in
// dir ("<term>-<index>.snap", both 16 hex digits), 0 if none.
func newestSnapIndex(dir string) uint64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var newest uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".snap")
		if !ok {
			continue
		}
		_, idx, ok := strings.Cut(name, "-")
		if !ok {
			continue
		}
		if i, err := strconv.ParseUint(idx, 16, 64); err == nil {
			newest = max(newest, i)
		}
	}
	return newest
}
