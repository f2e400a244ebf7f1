package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/datanode"
)

// childInsertBufEnv sets the child server's dataNode.segment.insertBufSize
// (bytes; 0 also turns the memory watermark off: the whole segment stays
// buffered until its seal, as before the data node synced in pieces).
const childInsertBufEnv = "MILVAGO_E2E_INSERT_BUF_SIZE"

// childSyncPolicy is the child server's sync policy: nil (the defaults)
// unless childInsertBufEnv is set.
func childSyncPolicy() *datanode.SyncPolicy {
	v := os.Getenv(childInsertBufEnv)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(childInsertBufEnv + ": " + err.Error())
	}
	pol := datanode.DefaultSyncPolicy()
	pol.InsertBufSize = n
	pol.ForceSyncEnable = n > 0
	return &pol
}

// manifests lists the sync manifests under a server's data directory: one
// per growing segment the data node has synced in pieces.
func manifests(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed while walking
		}
		if strings.HasPrefix(d.Name(), "sync_manifest_") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInsertBufKillBetweenPieces runs a server whose data node syncs every
// insert as a piece (a 64 KiB insert buffer), inserts rows in shuffled key
// order into a loaded two-shard collection, checks that queries and counts
// see every row while the segments exist only as pieces and log, kills the
// server with SIGKILL between pieces, restarts it on the same directory,
// inserts more, and checks again, then after the flush has merged the
// pieces: every acknowledged row exactly once, count(*) and row_count exact,
// and no sync manifest left.
func TestInsertBufKillBetweenPieces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv(childInsertBufEnv, strconv.Itoa(64<<10))
	dir := t.TempDir()
	srv := startChild(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, batch = "pieces", 32, 1000
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))

	r := rand.New(rand.NewPCG(12, 34))
	keys := r.Perm(10 * batch) // keys in shuffled order: the pieces are not sorted
	want := map[int64][]float32{}
	insert := func(cli *milvusclient.Client, b int) {
		t.Helper()
		ids := make([]int64, batch)
		tags := make([]string, batch)
		vecs := make([][]float32, batch)
		for i := range ids {
			ids[i] = int64(keys[b*batch+i])
			tags[i] = fmt.Sprintf("t%d", ids[i])
			vecs[i] = make([]float32, dim)
			for j := range vecs[i] {
				vecs[i][j] = r.Float32()
			}
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithVarcharColumn("tag", tags).WithFloatVectorColumn("vec", dim, vecs))
		must(t, err)
		for i, id := range ids {
			want[id] = vecs[i]
		}
	}
	check := func(cli *milvusclient.Client, when string) {
		t.Helper()
		got := map[int64]bool{}
		const page = 4000
		for offset := 0; ; offset += page {
			qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").
				WithOutputFields("id", "tag").WithOffset(offset).WithLimit(page).WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			ids := qr.GetColumn("id").(*column.ColumnInt64).Data()
			tags := qr.GetColumn("tag").(*column.ColumnVarChar).Data()
			for i, id := range ids {
				if got[id] {
					t.Fatalf("%s: id %d returned twice", when, id)
				}
				if tags[i] != fmt.Sprintf("t%d", id) {
					t.Fatalf("%s: id %d has tag %q", when, id, tags[i])
				}
				got[id] = true
			}
			if len(ids) < page {
				break
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: query returned %d rows, %d were inserted", when, len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("%s: inserted id %d is missing", when, id)
			}
		}
		cnt, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if c, _ := cnt.GetColumn("count(*)").GetAsInt64(0); c != int64(len(want)) {
			t.Fatalf("%s: count(*) = %d, want %d", when, c, len(want))
		}
		// A search finds a row by its own vector.
		var probe int64 = -1
		for id := range want {
			probe = id
			break
		}
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector(want[probe])}).
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if id, _ := rs[0].IDs.GetAsInt64(0); id != probe {
			t.Fatalf("%s: search by the vector of %d found %d", when, probe, id)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
			must(t, err)
			if stats["row_count"] == strconv.Itoa(len(want)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: row_count = %s, want %d", when, stats["row_count"], len(want))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for b := range 4 {
		insert(cli, b)
	}
	waitUntil(t, "pieces of both shards' segments", func() bool { return len(manifests(t, dir)) == 2 })
	check(cli, "in pieces")
	srv.kill()

	srv2 := startChild(t, dir)
	cli2 := srv2.client(t)
	waitCollectionLoaded(t, ctx, cli2, name)
	check(cli2, "after the kill")
	for b := 4; b < 10; b++ {
		insert(cli2, b)
	}
	check(cli2, "after more inserts")
	ft, err := cli2.Flush(ctx, milvusclient.NewFlushOption(name))
	must(t, err)
	must(t, ft.Await(ctx))
	waitUntil(t, "the pieces merged", func() bool { return len(manifests(t, dir)) == 0 })
	check(cli2, "after the flush")
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitCollectionLoaded(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	waitUntil(t, name+" loaded", func() bool {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
		return err == nil && st.State == entity.LoadStateLoaded
	})
}
