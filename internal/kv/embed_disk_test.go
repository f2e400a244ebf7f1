package kv_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

// tmpfs mounts a tmpfs of size bytes on a new directory, or skips.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s): the full-disk case is not run", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillDisk writes one file of 1 MiB more than dir's free space at once
// (no sample of any watcher in between) and returns a func that removes
// it. The write fails with ENOSPC; it succeeds when the guard freed its
// reserve during the write (the writers under way saw the disk filling),
// and the disk is then full but for the reserve's room, less a MiB.
func fillDisk(t *testing.T, dir string) func() {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(make([]byte, int64(st.Bavail)*int64(st.Bsize)+1<<20))
	f.Close()
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	}
	t.Logf("filling the disk: %v", err)
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// The meta store's disk filled to 100% at once while writes are under
// way: etcd (which exits on a failed WAL save or bbolt commit) survives,
// writes are refused with Milvus's disk quota error, reads and the TSO's
// window writes are served, a lease expires (etcd's own write), and writes
// resume by themselves once space is freed, the reserve recreated.
func TestEmbeddedSuddenFullDiskRefusesWrites(t *testing.T) {
	mnt := tmpfs(t, "256m") // etcd's WAL takes 128 MB (a segment and a spare)
	dir := filepath.Join(mnt, "etcd")
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: dir, DiskGuard: kv.DiskGuard{Check: 100 * time.Millisecond}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Client()
	ctx := t.Context()
	reserve := filepath.Join(dir, "milvago-reserve")
	if fi, err := os.Stat(reserve); err != nil || fi.Size() != 16<<20 { // a sixteenth of the disk
		t.Fatalf("reserve file: %v %v, want 16 MiB", fi, err)
	}
	for i := range 100 {
		if _, err := s.Put(ctx, fmt.Sprintf("k/%03d", i), []byte("before")); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := s.Grant(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutWithLease(ctx, "leased", []byte("v"), lease); err != nil {
		t.Fatal(err)
	}

	// Writers under way while the disk fills: each write is acknowledged
	// or refused, none kills the server.
	acked, stopWriters := startWriters(t, ctx, s, 4<<10)
	time.Sleep(200 * time.Millisecond)
	free := fillDisk(t, mnt)
	time.Sleep(300 * time.Millisecond)
	stopWriters()

	_, err = s.Put(ctx, "after", []byte("v"))
	if !errors.Is(err, errs.ErrServiceQuotaExceeded) || !strings.Contains(err.Error(), "quota exceeded[reason=disk quota exceeded, please allocate more resources") {
		t.Fatalf("put on a full disk: %v, want Milvus's disk quota error", err)
	}
	if _, err := s.Txn(ctx, nil, []kv.Op{{Key: "k/000", Delete: true}}); !errors.Is(err, kv.ErrDiskFull) {
		t.Fatalf("txn on a full disk: %v, want ErrDiskFull", err)
	}
	if _, err := os.Stat(reserve); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reserve file after the first refusal: %v, want deleted", err)
	}
	// Reads are served, and so are the TSO's tiny writes.
	kvs, err := s.List(ctx, "k/")
	if err != nil || len(kvs) != 100 {
		t.Fatalf("list on a full disk: %d keys, %v", len(kvs), err)
	}
	if _, err := s.Put(kv.WithReserve(ctx), "tso", []byte("12345678")); err != nil {
		t.Fatalf("a write allowed on the reserve: %v", err)
	}
	// The lease expires: etcd writes its revocation itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Get(ctx, "leased")
		if errors.Is(err, kv.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leased key still there 10 s after its lease's TTL on a full disk: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for key := range acked {
		if _, err := s.Get(ctx, key); err != nil {
			t.Fatalf("acknowledged %s: %v", key, err)
		}
	}
	t.Logf("%d writes acknowledged while the disk filled", len(acked))

	free()
	start := time.Now()
	for {
		if _, err = s.Put(ctx, "after", []byte("v")); err == nil {
			break
		}
		if !errors.Is(err, kv.ErrDiskFull) || time.Since(start) > 10*time.Second {
			t.Fatalf("writes after the space was freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("writes resumed %v after the space was freed", time.Since(start).Round(time.Millisecond))
	if fi, err := os.Stat(reserve); err != nil || fi.Size() != 16<<20 {
		t.Fatalf("reserve file once writes resumed: %v %v", fi, err)
	}
	if kv, err := s.Get(ctx, "after"); err != nil || string(kv.Value) != "v" {
		t.Fatalf("read back: %v %v", kv, err)
	}
}

// A disk without room for the reserve refuses writes from the start;
// starting serves reads. Disabled, the guard refuses nothing.
func TestEmbeddedDiskGuardNoRoomAtStart(t *testing.T) {
	mnt := tmpfs(t, "512m")
	for _, disabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("disabled=%v", disabled), func(t *testing.T) {
			e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: filepath.Join(mnt, fmt.Sprint(disabled)),
				DiskGuard: kv.DiskGuard{Disabled: disabled, MinFreeBytes: 1 << 40}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			_, err = e.Client().Put(t.Context(), "k", []byte("v"))
			if disabled != (err == nil) || !disabled && !errors.Is(err, kv.ErrDiskFull) {
				t.Fatalf("put: %v", err)
			}
			if _, err := e.Client().List(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkEmbeddedPut is a meta write (an fsynced Put on the embedded
// server) with and without the disk guard's check, interleaved.
func BenchmarkEmbeddedPut(b *testing.B) {
	stores := map[bool]*kv.Etcd{}
	for _, guard := range []bool{false, true} {
		e, err := kv.StartEmbedded(context.Background(), kv.EmbedConfig{Dir: b.TempDir(), DiskGuard: kv.DiskGuard{Disabled: !guard}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		stores[guard] = e.Client()
	}
	value := make([]byte, 256)
	for _, guard := range []bool{false, true} {
		b.Run(fmt.Sprintf("guard=%v", guard), func(b *testing.B) {
			s := stores[guard]
			for i := 0; b.Loop(); i++ {
				if _, err := s.Put(context.Background(), fmt.Sprintf("k/%d", i%1000), value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// hostileFiller keeps writing to dir's disk: whatever room is freed (the
// guard's reserve, once deleted) it takes within a millisecond. It
// returns a channel closed once the disk is full and a func that stops it
// and removes its file.
func hostileFiller(t *testing.T, dir string) (<-chan struct{}, func()) {
	t.Helper()
	path := filepath.Join(dir, "hostile")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	stop, done, filled := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var written, full int64
	go func() {
		defer close(done)
		buf := make([]byte, 256<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := f.Write(buf)
			written += int64(n)
			switch {
			case errors.Is(err, syscall.ENOSPC):
				if full++; full == 1 {
					close(filled)
				}
				time.Sleep(time.Millisecond)
			case err != nil:
				t.Errorf("hostile filler: %v", err)
				return
			}
		}
	}()
	return filled, func() {
		close(stop)
		<-done
		f.Close()
		t.Logf("hostile filler wrote %d MiB, hit ENOSPC %d times", written>>20, full)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// Another process fills the meta store's disk and keeps writing, so it
// takes the reserve's room as soon as the guard frees it. etcd's commits
// under way and its own writes after (here the writes allowed on the
// reserve, 2 MiB of them: etcd exited on the first that found no room for
// its bbolt backend) land in room held inside etcd's files: the server
// survives, acknowledged writes are there, and writes resume once the
// filler stops and its file is removed.
func TestEmbeddedHostileFillerKeepsWriting(t *testing.T) {
	mnt := tmpfs(t, "256m")
	dir := filepath.Join(mnt, "etcd")
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: dir, DiskGuard: kv.DiskGuard{Check: 100 * time.Millisecond}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.Client()
	ctx := t.Context()
	acked, stopWriters := startWriters(t, ctx, s, 16<<10)
	time.Sleep(300 * time.Millisecond)
	filled, stopFiller := hostileFiller(t, mnt)
	select {
	case <-filled:
	case <-time.After(30 * time.Second):
		t.Fatal("the hostile filler did not fill the disk in 30 s")
	}
	time.Sleep(300 * time.Millisecond)
	stopWriters()
	if _, err := s.Put(ctx, "after", []byte("v")); !errors.Is(err, errs.ErrServiceQuotaExceeded) {
		t.Fatalf("put with the disk full: %v, want Milvus's disk quota error", err)
	}
	// etcd's own writes go on meanwhile (the TSO's window, lease expiries):
	// they grow the backend into the room the guard holds for it.
	for i := range 64 {
		if _, err := s.Put(kv.WithReserve(ctx), fmt.Sprintf("own/%02d", i), make([]byte, 32<<10)); err != nil {
			t.Fatalf("a write allowed on the reserve, the disk full: %v", err)
		}
	}
	time.Sleep(300 * time.Millisecond) // etcd's batched backend commit
	if kvs, err := s.List(ctx, "own/"); err != nil || len(kvs) != 64 {
		t.Fatalf("list with the disk full: %d keys, %v", len(kvs), err)
	}
	for key := range acked {
		if _, err := s.Get(ctx, key); err != nil {
			t.Fatalf("acknowledged %s: %v", key, err)
		}
	}
	t.Logf("%d writes acknowledged before the disk filled", len(acked))

	stopFiller()
	start := time.Now()
	for {
		if _, err = s.Put(ctx, "after", []byte("v")); err == nil {
			break
		}
		if !errors.Is(err, kv.ErrDiskFull) || time.Since(start) > 10*time.Second {
			t.Fatalf("writes after the filler stopped: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("writes resumed %v after the filler's file was removed", time.Since(start).Round(time.Millisecond))
}

// A disk smaller than what etcd needs (its WAL's segment and the next,
// the guard's floor, reserve and backend headroom) is refused at start,
// with a message naming the directory, before etcd touches it.
func TestEmbeddedSmallDiskRefusedAtStart(t *testing.T) {
	mnt := tmpfs(t, "192m")
	dir := filepath.Join(mnt, "etcd")
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: dir}, nil)
	if err == nil {
		e.Close()
		t.Fatal("started on a 192 MiB disk")
	}
	if !errors.Is(err, kv.ErrDiskTooSmall) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "holds 192 MiB") {
		t.Fatalf("start on a 192 MiB disk: %v, want ErrDiskTooSmall naming %s", err, dir)
	}
	t.Log(err)
	if _, err := os.Stat(filepath.Join(dir, "member")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("etcd's member directory on a refused disk: %v", err)
	}
}

// Starting on a disk with no room: a new store is refused with a clear
// error (etcd could not even create its WAL), and so is an existing one
// (etcd's start-up can fail for good when its WAL cannot preallocate:
// "failed to read WAL, cannot be repaired"). With room for that but not
// for the floor and reserve, it starts with writes refused with Milvus's
// disk quota error and serves reads; writes resume once there is room.
func TestEmbeddedFullDiskAtStart(t *testing.T) {
	mnt := tmpfs(t, "512m")
	old := filepath.Join(mnt, "old")
	e, err := kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: old}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Client().Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	e.Close()
	free := fillUp(t, mnt, 0)
	for _, dir := range []string{filepath.Join(mnt, "new"), old} {
		_, err = kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: dir}, nil)
		if !errors.Is(err, kv.ErrNoRoom) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("start in %s on a full disk: %v, want ErrNoRoom naming the directory", dir, err)
		}
		t.Log(err)
	}
	free()
	free = fillUp(t, mnt, 100<<20) // room for etcd's next WAL segment, not for its floor after
	var logs syncBuffer
	e, err = kv.StartEmbedded(t.Context(), kv.EmbedConfig{Dir: old, DiskGuard: kv.DiskGuard{Check: 100 * time.Millisecond}},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("an existing store on a nearly full disk: %v", err)
	}
	defer e.Close()
	s := e.Client()
	if kv, err := s.Get(t.Context(), "k"); err != nil || string(kv.Value) != "v" {
		t.Fatalf("read on a full disk: %v %v", kv, err)
	}
	_, err = s.Put(t.Context(), "k2", []byte("v"))
	if !errors.Is(err, errs.ErrServiceQuotaExceeded) || errs.CodeOf(err) != 9 {
		t.Fatalf("put on a full disk: %v, want code 9", err)
	}
	t.Logf("refused: %v", err)
	free()
	start := time.Now()
	for {
		if _, err = s.Put(t.Context(), "k2", []byte("v")); err == nil {
			break
		}
		if !errors.Is(err, kv.ErrDiskFull) || time.Since(start) > 10*time.Second {
			t.Fatalf("writes after the space was freed: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fillUp fills dir's disk in 1 MiB writes (one write of it all takes
// half a minute under -race) but for leave bytes, and returns a func that
// removes the file.
func fillUp(t *testing.T, dir string, leave int64) func() {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		var st syscall.Statfs_t
		if err = syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if leave > 0 && int64(st.Bavail)*int64(st.Bsize)-int64(len(buf)) < leave {
			err = syscall.ENOSPC
			break
		}
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startWriters runs four writers of size-byte values under way while a
// disk fills: each write is acknowledged or refused with ErrDiskFull,
// anything else fails the test. stop ends them; the keys acknowledged
// are in acked after it.
func startWriters(t *testing.T, ctx context.Context, s kv.Store, size int) (acked map[string]bool, stop func()) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done = make(chan struct{})
	)
	acked = map[string]bool{}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				key := fmt.Sprintf("w%d/%05d", w, i)
				_, err := s.Put(ctx, key, make([]byte, size))
				switch {
				case err == nil:
					mu.Lock()
					acked[key] = true
					mu.Unlock()
					// Paced, so that what lands before the disk fills does
					// not grow with the machine's speed: 4,900 unpaced 4 KiB
					// writes on a fast one left the backend too large for
					// the reserve and the floor to fit once space was freed.
					time.Sleep(time.Millisecond)
				case errors.Is(err, kv.ErrDiskFull):
					time.Sleep(time.Millisecond)
				default:
					t.Errorf("put %s: %v", key, err)
					return
				}
			}
		})
	}
	return acked, func() {
		close(done)
		wg.Wait()
	}
}

// snapIndexes returns the indexes of etcd's disk snapshot files in dir.
func snapIndexes(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "member", "snap", "*.snap"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(filepath.Base(n), ".snap")
	}
	return names
}

// etcd writes a disk snapshot (a new member/snap/*.snap) every
// SnapshotCount entries and exits when it cannot, and another process
// keeps the disk full. The writes allowed on the reserve (the TSO's) are
// refused once the snapshot is near, so they never bring it due; entries
// the guard does not see (lease revocations here, as etcd's own lease
// expiries) do, and then etcd's apply is held at the snapshot, every write
// refused, until the disk has room. The server never exits, every
// acknowledged write is there after, and after a restart.
func TestEmbeddedSnapshotDueOnFullDisk(t *testing.T) {
	mnt := tmpfs(t, "256m")
	dir := filepath.Join(mnt, "etcd")
	const snapCount = 100
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := kv.EmbedConfig{Dir: dir, SnapshotCount: snapCount, DiskGuard: kv.DiskGuard{Check: 50 * time.Millisecond}}
	e, err := kv.StartEmbedded(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			e.Close()
		}
	}()
	s := e.Client()
	ctx := t.Context()
	// Leases to revoke on the full disk, and a snapshot or two before it.
	leases := make([]kv.LeaseID, 2*snapCount)
	for i := range leases {
		if leases[i], err = s.Grant(ctx, 600); err != nil {
			t.Fatal(err)
		}
	}
	acked := map[string]string{}
	for i := range 50 {
		key := fmt.Sprintf("k/%03d", i)
		if _, err := s.Put(ctx, key, []byte("before")); err != nil {
			t.Fatal(err)
		}
		acked[key] = "before"
	}
	if len(snapIndexes(t, dir)) == 0 {
		t.Fatalf("no disk snapshot after %d entries with SnapshotCount %d", len(leases)+50, snapCount)
	}

	filled, stopFiller := hostileFiller(t, mnt)
	fillerStopped := false
	defer func() {
		if !fillerStopped {
			stopFiller()
		}
	}()
	select {
	case <-filled:
	case <-time.After(30 * time.Second):
		t.Fatal("the hostile filler did not fill the disk in 30 s")
	}
	if _, err := s.Put(ctx, "after", []byte("v")); !errors.Is(err, kv.ErrDiskFull) {
		t.Fatalf("put on a full disk: %v, want ErrDiskFull", err)
	}

	// The TSO's writes: passed until the snapshot is near, then refused
	// with Milvus's disk quota error, the snapshot not written.
	var reserved int
	for i := 0; ; i++ {
		key := fmt.Sprintf("tso/%03d", i)
		_, err := s.Put(kv.WithReserve(ctx), key, []byte("12345678"))
		if err == nil {
			acked[key] = "12345678"
			reserved++
			if i > 2*snapCount {
				t.Fatalf("%d reserved writes passed on a full disk with SnapshotCount %d", i, snapCount)
			}
			continue
		}
		if errs.CodeOf(err) != 9 || !strings.Contains(err.Error(), "etcd's next snapshot is due") {
			t.Fatalf("reserved write near the snapshot: %v, want Milvus's disk quota error naming the snapshot", err)
		}
		t.Logf("%d reserved writes passed on the full disk, then: %v", reserved, err)
		break
	}
	snaps := snapIndexes(t, dir)

	// Revocations the guard does not see bring the snapshot due: etcd's
	// applies are held there, and every write refused.
	var revoked int
	for _, l := range leases {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.Revoke(rctx, l)
		cancel()
		if err == nil {
			revoked++
		}
		_, err = s.Put(kv.WithReserve(ctx), "tso/held", []byte("v"))
		if err != nil && strings.Contains(err.Error(), "snapshot is held") {
			break
		}
	}
	_, err = s.Put(kv.WithReserve(ctx), "tso/held", []byte("v"))
	if errs.CodeOf(err) != 9 || !strings.Contains(err.Error(), "etcd's snapshot is held until the disk has room") {
		t.Fatalf("write with the snapshot held after %d revocations: %v, want the disk quota error of a held snapshot\n%s", revoked, err, logs.String())
	}
	t.Logf("snapshot held after %d revocations: %v", revoked, err)
	time.Sleep(500 * time.Millisecond) // the process would have exited by now
	if got := snapIndexes(t, dir); !slices.Equal(got, snaps) {
		t.Fatalf("snapshot files changed on the full disk: %v, were %v", got, snaps)
	}

	stopFiller()
	fillerStopped = true
	start := time.Now()
	for {
		if _, err = s.Put(ctx, "after", []byte("v")); err == nil {
			break
		}
		if !errors.Is(err, kv.ErrDiskFull) || time.Since(start) > 10*time.Second {
			t.Fatalf("writes after the filler stopped: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	acked["after"] = "v"
	t.Logf("writes resumed %v after the filler's file was removed", time.Since(start).Round(time.Millisecond))
	if got := snapIndexes(t, dir); slices.Equal(got, snaps) {
		t.Fatalf("no disk snapshot once the disk had room: %v", got)
	}
	if !strings.Contains(logs.String(), "etcd's snapshot goes ahead") {
		t.Fatalf("log of the held snapshot:\n%s", logs.String())
	}
	check := func(s kv.Store) {
		t.Helper()
		for key, want := range acked {
			if got, err := s.Get(ctx, key); err != nil || string(got.Value) != want {
				t.Fatalf("acknowledged %s: %q %v", key, got.Value, err)
			}
		}
	}
	check(s)
	closed = true
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = kv.StartEmbedded(t.Context(), cfg, logger)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, logs.String())
	}
	closed = false
	check(e.Client())
}
