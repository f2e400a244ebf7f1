package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
)

// fillTo writes a ballast file until the file system holding it is at
// least frac full.
func fillTo(t *testing.T, path string, frac float64) {
	t.Helper()
	var st syscall.Statfs_t
	must(t, syscall.Statfs(filepath.Dir(path), &st))
	total := float64(st.Blocks) * float64(st.Bsize)
	used := float64(st.Blocks-st.Bavail) * float64(st.Bsize)
	need := int64(frac*total - used + 1<<20)
	if need <= 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(t, err)
	defer f.Close()
	must(t, f.Truncate(0))
	buf := make([]byte, 1<<20)
	for w := int64(0); w < need; w += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			t.Fatalf("ballast: %v", err)
		}
	}
}

// A disk filling up (here by another file on a 256 MiB tmpfs): writes are
// refused with Milvus's quota error while reads keep serving, and writes
// resume by themselves once space is freed, without a restart.
func TestStoresFullDiskRefusesWritesAndRecovers(t *testing.T) {
	standaloneOnly(t, "fills the disk of the server's data directory")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s): the full-disk case is not run", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	dir := filepath.Join(mnt, "data")
	srv := startServerWith(t, dir, func(c *app.StandaloneConfig) {
		c.Public.Limits = config.Limits{Enabled: true, DiskProtection: true, DiskHighWaterLevel: 0.9, CollectInterval: 0.2}
	})
	cli := srv.client(t)
	ctx := testContext(t)
	storesCollection(t, ctx, cli, "full", 0, 1000)
	flush(t, ctx, cli, "full")
	indexAndLoad(t, ctx, cli, "full", "vec", index.NewFlatIndex(entity.L2))

	ballast := filepath.Join(mnt, "ballast")
	fillTo(t, ballast, 0.95)
	insert := func(id int64) error {
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("full").WithInt64Column("id", []int64{id}).
			WithFloatVectorColumn("vec", 8, [][]float32{make([]float32, 8)}))
		return err
	}
	var err error
	rows := int64(1000)
	eventually(t, 10*time.Second, "writes refused on a full disk", func() (bool, string) {
		// Until the next disk sample sees the ballast, a write may pass.
		if err = insert(5000 + rows); err == nil {
			rows++
		}
		return err != nil, "insert accepted"
	})
	wantCode(t, err, 9, "disk quota exceeded")
	if n := storesCount(t, ctx, cli, "full"); n != rows {
		t.Fatalf("read on a full disk: %d rows, want %d", n, rows)
	}
	// Deletes pass (they free space once compacted), as in Milvus.
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption("full").WithInt64IDs("id", []int64{0}))
	must(t, err)

	must(t, os.Remove(ballast))
	eventually(t, 10*time.Second, "writes accepted again once space is freed", func() (bool, string) {
		err = insert(6000)
		return err == nil, errText(err)
	})
	rows = rows - 1 + 1 // one deleted, one inserted
	if n := storesCount(t, ctx, cli, "full"); n != rows {
		t.Fatalf("after freeing space: %d rows, want %d", n, rows)
	}
	flush(t, ctx, cli, "full")
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if n := storesCount(t, qctx, cli, "full"); n != rows {
		t.Fatalf("after a flush: %d rows, want %d", n, rows)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The log's own disk fills up (a small tmpfs under the log directory):
// appends are refused, reads keep serving, and once the disk has room
// again (the tmpfs is grown) appends resume without a restart. Before,
// JetStream kept the store limit it computed at start and refused every
// append until the server restarted.
func TestStoresFullLogDiskRecovers(t *testing.T) {
	standaloneOnly(t, "fills the disk of the server's embedded log")
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	must(t, os.MkdirAll(logDir, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", logDir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s): the full-disk case is not run", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", logDir).Run() })
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	storesCollection(t, ctx, cli, "logfull", 0, 100)
	flush(t, ctx, cli, "logfull")
	indexAndLoad(t, ctx, cli, "logfull", "vec", index.NewFlatIndex(entity.L2))
	batch := make([][]float32, 2000)
	for i := range batch {
		batch[i] = make([]float32, 8)
	}
	insertBatch := func(first int64, n int) error {
		ids := make([]int64, n)
		for j := range ids {
			ids[j] = first + int64(j)
		}
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := cli.Insert(ictx, milvusclient.NewColumnBasedInsertOption("logfull").WithInt64Column("id", ids).
			WithFloatVectorColumn("vec", 8, batch[:n]))
		return err
	}
	// A batch whose deadline passed on a loaded machine has an unknown
	// outcome (it may have been appended): its rows may or may not count,
	// and the next batch takes new keys after it. Only the log's refusal
	// (code 9) ends the filling.
	rows, next, unknown := int64(100), int64(1100), int64(0)
	var err error
	for i := 0; i < 400; i++ {
		err = insertBatch(next, 2000)
		next += 2000
		if err == nil {
			rows += 2000
			continue
		}
		if merr.Code(err) == 9 {
			break
		}
		t.Logf("a batch's outcome is unknown: %v", err)
		unknown += 2000
	}
	if merr.Code(err) != 9 {
		t.Fatalf("8 MiB of log took every insert (last: %v)", err)
	}
	t.Logf("after %d rows (and %d of unknown outcome): %v", rows, unknown, err)
	// Reads serve (a Strong read needs a time tick appended to the log, so
	// it waits for room like a write; Bounded and Eventually reads do not).
	eventually(t, 10*time.Second, "reads with the log's disk full", func() (bool, string) {
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption("logfull").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClEventually))
		if err != nil {
			return false, err.Error()
		}
		n, _ := rs.GetColumn("count(*)").GetAsInt64(0)
		if n >= rows && n <= rows+unknown && (n-rows)%2000 == 0 {
			rows = n
			return true, ""
		}
		return false, fmt.Sprintf("%d rows, want %d (and up to %d of unknown outcome)", n, rows, unknown)
	})
	out, err := exec.Command("mount", "-o", "remount,size=256m", logDir).CombinedOutput()
	if err != nil {
		t.Fatalf("grow the tmpfs: %v %s", err, out)
	}
	eventually(t, 15*time.Second, "appends resume once the log's disk has room", func() (bool, string) {
		err := insertBatch(next, 1)
		next++
		return err == nil, errText(err)
	})
	rows++
	if n := storesCount(t, ctx, cli, "logfull"); n != rows {
		t.Fatalf("after the disk grew: %d rows, want %d", n, rows)
	}
}
