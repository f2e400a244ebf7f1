package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/identity"
)

// storesCollection creates an Int64-keyed collection with n rows whose
// ids start at first (not loaded, nothing flushed).
func storesCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, first, n int) {
	t.Helper()
	const dim = 8
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	storesInsert(t, ctx, cli, name, first, n)
}

func storesInsert(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, first, n int) {
	t.Helper()
	const dim = 8
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(first + i)
	}
	r := rand.New(rand.NewPCG(uint64(first), 7))
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithFloatVectorColumn("vec", dim, randomVectors(r, n, dim)))
	must(t, err)
}

// storesCount is count(*) at Strong consistency.
func storesCount(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) int64 {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	n, err := rs.GetColumn("count(*)").GetAsInt64(0)
	must(t, err)
	return n
}

// startRefused starts a standalone on dir and returns its refusal.
func startRefused(t *testing.T, dir string) error {
	t.Helper()
	standaloneOnly(t, "starts the in-process server on broken local storage")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := app.DefaultStandalone()
	cfg.DataDir = dir
	s, err := app.NewStandalone(ctx, cfg, nil)
	if err == nil {
		// Not refused: release what it opened.
		gl, gerr := net.Listen("tcp", "127.0.0.1:0")
		hl, herr := net.Listen("tcp", "127.0.0.1:0")
		if gerr == nil && herr == nil {
			sctx, scancel := context.WithCancel(ctx)
			scancel()
			s.Serve(sctx, gl, hl)
		}
		t.Fatal("the server started, want a refusal")
	}
	return err
}

func recoverStores(t *testing.T, dir, action string) string {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Recover(ctx, app.RecoverTarget{DataDir: dir}, action, true, &out, nil); err != nil {
		t.Fatalf("recover %s: %v\n%s", action, err, out.String())
	}
	t.Logf("milvago recover %s:\n%s", action, out.String())
	return out.String()
}

// A wiped meta store is refused at start, naming it; after `recover meta`
// a new collection of the same name gets a new ID and none of the old
// rows, which are still in the log and the object store.
func TestStoresWipedMetaStoreIsRefusedThenAdopted(t *testing.T) {
	standaloneOnly(t, "wipes the server's embedded meta store")
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	storesCollection(t, ctx, cli, "wiped", 0, 300)
	flush(t, ctx, cli, "wiped")
	storesInsert(t, ctx, cli, "wiped", 300, 50) // in the log only
	old, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("wiped"))
	must(t, err)
	srv.stop()

	must(t, os.RemoveAll(filepath.Join(dir, "etcd")))
	err = startRefused(t, dir)
	var refusal *identity.Error
	if !errors.As(err, &refusal) || refusal.Store != identity.StoreMeta || !errors.Is(err, identity.ErrMissing) {
		t.Fatalf("start on a wiped meta store: %v, want a refusal naming the meta store", err)
	}
	for _, want := range []string{"meta store", filepath.Join(dir, "etcd"), "wiped or replaced", "milvago recover --data-dir " + dir + " meta"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	// Still refused on a second try: a refusal changes nothing.
	if err := startRefused(t, dir); !errors.Is(err, identity.ErrMissing) {
		t.Fatalf("second start: %v", err)
	}
	out := recoverStores(t, dir, app.RecoverMeta)
	if !strings.Contains(out, "Lost, not rebuilt") {
		t.Errorf("recover meta does not say what is lost:\n%s", out)
	}

	srv = startServer(t, dir)
	cli = srv.client(t)
	storesCollection(t, ctx, cli, "wiped", 1000, 10)
	now, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("wiped"))
	must(t, err)
	if now.ID <= old.ID {
		t.Fatalf("new collection ID %d, old %d: IDs must never be reused or go backwards", now.ID, old.ID)
	}
	flush(t, ctx, cli, "wiped")
	indexAndLoad(t, ctx, cli, "wiped", "vec", index.NewFlatIndex(entity.L2))
	if n := storesCount(t, ctx, cli, "wiped"); n != 10 {
		t.Fatalf("the new collection counts %d rows, want its own 10 (old rows read back?)", n)
	}
}

// A lost log directory is refused at start, naming the log; after
// `recover log` the flushed rows serve, the unflushed ones are reported
// lost, and new writes are read again (before, every checkpoint pointed
// past the end of the new empty log and reads stayed empty).
func TestStoresLostLogIsRefusedThenAdopted(t *testing.T) {
	standaloneOnly(t, "removes the server's embedded log")
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	storesCollection(t, ctx, cli, "kept", 0, 300)
	flush(t, ctx, cli, "kept")
	storesInsert(t, ctx, cli, "kept", 300, 50) // in the log only: lost with it
	srv.stop()

	must(t, os.RemoveAll(filepath.Join(dir, "log")))
	err := startRefused(t, dir)
	var refusal *identity.Error
	if !errors.As(err, &refusal) || refusal.Store != identity.StoreLog || !errors.Is(err, identity.ErrMissing) {
		t.Fatalf("start on a lost log: %v, want a refusal naming the log", err)
	}
	for _, want := range []string{filepath.Join(dir, "log"), "not yet flushed", "milvago recover --data-dir " + dir + " log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	out := recoverStores(t, dir, app.RecoverLog)
	if !strings.Contains(out, "dropped unflushed segment") {
		t.Errorf("recover log does not list the unflushed segment:\n%s", out)
	}

	srv = startServer(t, dir)
	cli = srv.client(t)
	indexAndLoad(t, ctx, cli, "kept", "vec", index.NewFlatIndex(entity.L2))
	if n := storesCount(t, ctx, cli, "kept"); n != 300 {
		t.Fatalf("after adopting a new log: %d rows, want the 300 flushed", n)
	}
	storesInsert(t, ctx, cli, "kept", 1000, 20)
	if n := storesCount(t, ctx, cli, "kept"); n != 320 {
		t.Fatalf("after writing to the adopted log: %d rows, want 320", n)
	}
	flush(t, ctx, cli, "kept")
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	load(t, ctx, cli, "kept")
	if n := storesCount(t, ctx, cli, "kept"); n != 320 {
		t.Fatalf("after a restart on the adopted log: %d rows, want 320", n)
	}
}

// flipByte flips one byte in the middle of the largest file under root
// whose path contains part, and returns the file.
func flipByte(t *testing.T, root, part string) string {
	t.Helper()
	var best string
	var size int64
	must(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, part) {
			return err
		}
		if info, err := d.Info(); err == nil && info.Size() > size {
			best, size = path, info.Size()
		}
		return nil
	}))
	if best == "" {
		t.Fatalf("no file under %s matches %q", root, part)
	}
	b, err := os.ReadFile(best)
	must(t, err)
	b[len(b)/2] ^= 0x10
	must(t, os.WriteFile(best, b, 0o644))
	return best
}

// collectionDir is the object store directory of a collection's binlogs.
func collectionDir(t *testing.T, ctx context.Context, cli *milvusclient.Client, objects, name string) string {
	t.Helper()
	c, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	return filepath.Join(objects, "insert_log", fmt.Sprint(c.ID))
}

// One corrupt binlog: the collection's load reports the cause (Milvus's
// "segment load failed", code 604) instead of loading forever, and the
// other collection keeps serving.
func TestStoresCorruptBinlogIsReportedByLoadState(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	for _, name := range []string{"bad", "good"} {
		storesCollection(t, ctx, cli, name, 0, 200)
		flush(t, ctx, cli, name)
		indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	}
	badDir := collectionDir(t, ctx, cli, srv.objectsDir(), "bad")
	srv.stop()
	file := flipByte(t, badDir, "")
	t.Logf("flipped a byte of %s", file)

	srv = startServer(t, dir)
	cli = srv.client(t)
	var lastErr error
	eventually(t, 30*time.Second, "GetLoadState reports the corrupt binlog", func() (bool, string) {
		_, lastErr = cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("bad"))
		return lastErr != nil, fmt.Sprint(lastErr)
	})
	wantCode(t, lastErr, 604, "segment load failed", "checksum")
	// The loader (which polls GetLoadingProgress) fails instead of
	// waiting forever.
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("bad"))
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = lt.Await(actx)
		cancel()
	}
	wantCode(t, err, 604, "segment load failed")
	if n := storesCount(t, ctx, cli, "good"); n != 200 {
		t.Fatalf("the other collection counts %d rows, want 200", n)
	}
	st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption("good"))
	if err != nil || st.State != entity.LoadStateLoaded {
		t.Fatalf("the other collection's load state: %v, %v", st, err)
	}
}

// A corrupt index file is detected by its checksum at load; the segment
// is served by exact search over its binlog instead (correct results,
// no stuck load).
func TestStoresCorruptIndexFileIsDetected(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	storesCollection(t, ctx, cli, "idx", 0, 500)
	flush(t, ctx, cli, "idx")
	earlier := indexBuildDirs(t, srv.objectsDir())
	indexAndLoad(t, ctx, cli, "idx", "vec", index.NewHNSWIndex(entity.L2, 8, 64))
	builds := newBuildDirs(t, srv.objectsDir(), earlier)
	if len(builds) != 1 {
		t.Fatalf("index builds of the collection: %v, want one", builds)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption("idx").WithFilter("id == 7").WithOutputFields("vec").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	v, err := rs.GetColumn("vec").Get(0)
	must(t, err)
	vec, ok := v.(entity.FloatVector)
	if !ok {
		t.Fatalf("vec is %T", v)
	}
	srv.stop()
	var file string
	for b := range builds {
		file = flipByte(t, filepath.Join(srv.objectsDir(), "index_files", b), "")
	}
	t.Logf("flipped a byte of %s", file)

	srv = startServer(t, dir)
	cli = srv.client(t)
	load(t, ctx, cli, "idx")
	res, err := cli.Search(ctx, milvusclient.NewSearchOption("idx", 3, []entity.Vector{vec}).
		WithANNSField("vec").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if len(res) != 1 || res[0].ResultCount != 3 {
		t.Fatalf("search after a corrupt index: %+v", res)
	}
	if id, _ := res[0].IDs.GetAsInt64(0); id != 7 {
		t.Fatalf("nearest to row 7's vector is %d, want 7", id)
	}
	if n := storesCount(t, ctx, cli, "idx"); n != 500 {
		t.Fatalf("count %d, want 500", n)
	}
}
