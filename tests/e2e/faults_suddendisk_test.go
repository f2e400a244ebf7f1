package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
)

// mountTmpfs mounts a tmpfs of size on dir (created), or skips.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s): the full-disk case is not run", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// fillAtOnce writes one file of 1 MiB more than dir's free space in one
// write (faster than any sampling of the disk) and returns a func that
// removes it. The write ends in ENOSPC, or succeeds when the meta store's
// guard gave back its reserve meanwhile (the disk is then full but for
// what is left of the reserve).
func fillAtOnce(t *testing.T, dir string) func() {
	t.Helper()
	var st syscall.Statfs_t
	must(t, syscall.Statfs(dir, &st))
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	must(t, err)
	_, err = f.Write(make([]byte, int64(st.Bavail)*int64(st.Bsize)+1<<20))
	f.Close()
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v", err)
	}
	return func() { must(t, os.Remove(path)) }
}

// The whole data directory's disk filled to 100% at once, between two
// samples of any watcher. The embedded etcd used to exit (a failed WAL
// save or bbolt commit is fatal in etcd); now the meta store refuses
// writes with Milvus's disk quota error, so DDL is refused, inserts are
// refused (by the quota center's disk protection or the log), reads keep
// answering, and once the space is freed DDL and inserts resume without a
// restart.
func TestStoresSuddenFullDiskMetaSurvives(t *testing.T) {
	standaloneOnly(t, "fills the disk of the server's data directory")
	mnt := filepath.Join(t.TempDir(), "mnt")
	mountTmpfs(t, mnt, "384m") // etcd's WAL alone takes 128 MiB
	srv := startServer(t, filepath.Join(mnt, "data"))
	cli := srv.client(t)
	ctx := testContext(t)
	storesCollection(t, ctx, cli, "meta_full", 0, 1000)
	flush(t, ctx, cli, "meta_full")
	indexAndLoad(t, ctx, cli, "meta_full", "vec", index.NewFlatIndex(entity.L2))

	free := fillAtOnce(t, mnt)
	schema := entity.NewSchema().WithName("meta_full2").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(8))
	err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("meta_full2", schema))
	wantCode(t, err, 9, "quota exceeded", "disk quota exceeded")
	t.Logf("create collection on a full disk: %v", err)
	insert := func(id int64) error {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := cli.Insert(ictx, milvusclient.NewColumnBasedInsertOption("meta_full").WithInt64Column("id", []int64{id}).
			WithFloatVectorColumn("vec", 8, [][]float32{make([]float32, 8)}))
		return err
	}
	rows := int64(1000)
	eventually(t, 20*time.Second, "inserts refused on a full disk", func() (bool, string) {
		if err = insert(5000 + rows); err == nil {
			rows++ // before a sample saw the full disk
		}
		return merr.Code(err) == 9, errText(err)
	})
	wantCode(t, err, 9, "disk quota exceeded")
	// Reads answer.
	for _, cl := range []entity.ConsistencyLevel{entity.ClEventually, entity.ClBounded, entity.ClStrong} {
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption("meta_full").WithOutputFields("count(*)").WithConsistencyLevel(cl))
		must(t, err)
		if n, _ := rs.GetColumn("count(*)").GetAsInt64(0); n < 1000 || n > rows {
			t.Fatalf("count(*) (%v) on a full disk: %d, want 1000..%d", cl, n, rows)
		}
	}
	_, err = cli.Search(ctx, milvusclient.NewSearchOption("meta_full", 3, []entity.Vector{entity.FloatVector(make([]float32, 8))}).
		WithConsistencyLevel(entity.ClEventually))
	must(t, err)
	_, err = cli.ListCollections(ctx, milvusclient.NewListCollectionOption())
	must(t, err)

	free()
	eventually(t, 30*time.Second, "DDL accepted again once space is freed", func() (bool, string) {
		err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("meta_full2", schema))
		return err == nil, errText(err)
	})
	eventually(t, 30*time.Second, "inserts accepted again once space is freed", func() (bool, string) {
		err := insert(9000)
		return err == nil, errText(err)
	})
	// Rows inserted before the sample saw the disk full, and the one after.
	eventually(t, 30*time.Second, "every acknowledged row counted", func() (bool, string) {
		n := storesCount(t, ctx, cli, "meta_full")
		return n == rows+1, fmt.Sprintf("%d rows, want %d", n, rows+1)
	})
}

// The log's disk fills to 100% at once in the middle of an ingest:
// inserts are refused with Milvus's disk quota error, reads keep
// answering, and once space is freed inserts resume by themselves. After
// a kill -9 and a restart every acknowledged row is there and no refused
// one is (an insert that failed otherwise, a timeout, may be either).
func TestStoresSuddenFullLogDiskKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	mountTmpfs(t, logDir, "32m")
	srv := startChild(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, batch = "logfill", 8, 100
	storesCollection(t, ctx, cli, name, 0, batch)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	var (
		mu               sync.Mutex
		acked            = map[int64]bool{}
		refused, unknown = map[int64]bool{}, map[int64]bool{}
		refusedErr       error
	)
	for id := range int64(batch) {
		acked[id] = true
	}
	vecs := make([][]float32, batch)
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		vecs[i][i%dim] = 1
	}
	insertBatch := func(first int64) error {
		ids := make([]int64, batch)
		for j := range ids {
			ids[j] = first + int64(j)
		}
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := cli.Insert(ictx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("vec", dim, vecs))
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			switch {
			case err == nil:
				acked[id] = true
			case merr.Code(err) == 9:
				refused[id] = true
				refusedErr = err
			default:
				unknown[id] = true
			}
		}
		return err
	}
	next := int64(1000)
	stop := make(chan struct{})
	ingestDone := make(chan struct{})
	go func() { // the ingest, on through the fill and the recovery
		defer close(ingestDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := insertBatch(next); err != nil {
				time.Sleep(20 * time.Millisecond)
			}
			next += batch
		}
	}()
	counts := func() (a, r, u int) {
		mu.Lock()
		defer mu.Unlock()
		return len(acked), len(refused), len(unknown)
	}
	eventually(t, 30*time.Second, "ingest under way", func() (bool, string) {
		a, _, _ := counts()
		return a >= 20*batch, fmt.Sprint(a, " rows acknowledged")
	})
	free := fillAtOnce(t, logDir)
	eventually(t, 30*time.Second, "inserts refused with Milvus's disk quota error", func() (bool, string) {
		_, r, _ := counts()
		return r >= 5*batch, fmt.Sprint(r, " rows refused")
	})
	mu.Lock()
	err := refusedErr
	mu.Unlock()
	wantCode(t, err, 9, "quota exceeded", "disk quota exceeded")
	// Reads answer meanwhile.
	for _, cl := range []entity.ConsistencyLevel{entity.ClEventually, entity.ClBounded, entity.ClStrong} {
		_, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(cl))
		must(t, err)
		_, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(vecs[0])}).WithConsistencyLevel(cl))
		must(t, err)
	}
	a0, r0, u0 := counts()
	free()
	eventually(t, 30*time.Second, "inserts resume once space is freed", func() (bool, string) {
		a, _, _ := counts()
		return a >= a0+10*batch, fmt.Sprint(a-a0, " rows acknowledged since")
	})
	close(stop)
	<-ingestDone
	a, r, u := counts()
	t.Logf("rows: %d acknowledged (%d before the space was freed), %d refused (%d), %d unknown (%d)", a, a0, r, r0, u, u0)

	srv.kill()
	srv2 := startChild(t, dir)
	cli2 := srv2.client(t)
	eventually(t, 60*time.Second, "collection loaded after restart", func() (bool, string) {
		st, err := cli2.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	got := map[int64]bool{}
	const span = 10000 // ids per query, under Milvus's 16384 result window
	for lo := int64(0); lo < next; lo += span {
		qr, err := cli2.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("id >= %d and id < %d", lo, lo+span)).
			WithOutputFields("id").WithLimit(span).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		for _, id := range qr.GetColumn("id").(*column.ColumnInt64).Data() {
			if got[id] {
				t.Fatalf("row %d returned twice", id)
			}
			got[id] = true
		}
	}
	for id := range acked {
		if !got[id] {
			t.Fatalf("acknowledged row %d missing after kill -9 and restart", id)
		}
	}
	var extra int
	for id := range got {
		switch {
		case refused[id]:
			t.Fatalf("row %d was refused, yet it is there after restart", id)
		case !acked[id] && !unknown[id]:
			t.Fatalf("row %d was never inserted, yet it is there", id)
		case unknown[id]:
			extra++
		}
	}
	t.Logf("after kill -9: %d acknowledged rows all present, %d of %d with an unknown outcome present, none of %d refused", len(acked), extra, len(unknown), len(refused))
}
