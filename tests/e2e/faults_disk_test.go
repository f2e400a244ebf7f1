package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

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
