package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestSafetyStrongReadLogFull: with the log's store full (a small tmpfs
// under the log directory), no time tick can be appended; writes stay
// refused, but Strong searches and queries are served from what the log
// holds (every acknowledged row), at once rather than after the client's
// deadline. Once the store has room, a Strong read sees the next write.
func TestSafetyStrongReadLogFull(t *testing.T) {
	standaloneOnly(t, "fills the disk of the server's embedded log")
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	must(t, os.MkdirAll(logDir, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", logDir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", logDir).Run() })
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "strongfull"
	storesCollection(t, ctx, cli, name, 0, 100)
	flush(t, ctx, cli, name)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	batch := make([][]float32, 2000)
	for i := range batch {
		batch[i] = []float32{1, 0, 0, 0, 0, 0, 0, float32(i)}
	}
	insert := func(first int64, n int) error {
		ids := make([]int64, n)
		for j := range ids {
			ids[j] = first + int64(j)
		}
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := cli.Insert(ictx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("vec", 8, batch[:n]))
		return err
	}
	rows := int64(100)
	var err error
	for range 400 {
		if err = insert(1000+rows, 2000); err != nil {
			break
		}
		rows += 2000
	}
	if err == nil {
		t.Fatal("8 MiB of log took every insert")
	}
	t.Logf("log full after %d rows: %v", rows, err)
	// Refused as Milvus refuses writes over its disk quota (code 9).
	if !strings.Contains(err.Error(), "quota exceeded[reason=disk quota exceeded, please allocate more resources") {
		t.Fatalf("insert with the log full: %v, want Milvus's disk quota error", err)
	}
	if err := insert(1_000_000, 1); err == nil {
		t.Fatal("an insert was accepted with the log full")
	}

	// Strong reads answer from what is durable, well within the deadline.
	for i := range 3 {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		start := time.Now()
		rs, err := cli.Query(rctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		cancel()
		if err != nil {
			t.Fatalf("Strong query %d with the log full: %v", i, err)
		}
		n, _ := rs.GetColumn("count(*)").GetAsInt64(0)
		if n != rows {
			t.Fatalf("Strong count(*) with the log full: %d, want %d", n, rows)
		}
		t.Logf("Strong count(*) with the log full: %d rows in %v", n, time.Since(start))
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		res, err := cli.Search(sctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector(batch[5])}).
			WithANNSField("vec").WithConsistencyLevel(entity.ClStrong))
		cancel()
		if err != nil || len(res) != 1 || res[0].ResultCount != 1 {
			t.Fatalf("Strong search with the log full: %v", err)
		}
	}

	out, err := exec.Command("mount", "-o", "remount,size=256m", logDir).CombinedOutput()
	if err != nil {
		t.Fatalf("grow the tmpfs: %v %s", err, out)
	}
	eventually(t, 15*time.Second, "appends resume once the log has room", func() (bool, string) {
		err := insert(1000+rows, 1)
		return err == nil, errText(err)
	})
	rows++
	if n := storesCount(t, ctx, cli, name); n != rows {
		t.Fatalf("Strong count(*) after the log had room: %d, want %d", n, rows)
	}
}
