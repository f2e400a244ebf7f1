package e2e

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestHandoffNoGapNoDuplicate reads continuously while segments are
// flushed, indexed and handed off from growing to sealed: a Strong count
// must always equal the acknowledged rows, and a search must never return
// a primary key twice.
func TestHandoffNoGapNoDuplicate(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "handoff", 8
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	indexAndLoad(t, ctx, cli, name, "vec", index.NewHNSWIndex(entity.L2, 8, 32))

	r := rand.New(rand.NewPCG(21, 21))
	probe := randomVectors(r, 1, dim)[0]
	var acked atomic.Int64 // rows acknowledged; reads must see at least this many
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	reader := srv.client(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			lo := acked.Load()
			qr, err := reader.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				errc <- fmt.Errorf("count: %w", err)
				return
			}
			n, _ := qr.GetColumn("count(*)").GetAsInt64(0)
			if hi := acked.Load() + 100; n < lo || n > hi {
				errc <- fmt.Errorf("count %d outside [%d, %d] during handoff", n, lo, hi)
				return
			}
			rs, err := reader.Search(ctx, milvusclient.NewSearchOption(name, 50, []entity.Vector{entity.FloatVector(probe)}).
				WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				errc <- fmt.Errorf("search: %w", err)
				return
			}
			got := rs[0].IDs.(*column.ColumnInt64).Data()
			if int64(len(got)) < min(50, lo) {
				errc <- fmt.Errorf("search found %d rows of at least %d", len(got), lo)
				return
			}
			seen := map[int64]bool{}
			for _, id := range got {
				if seen[id] {
					errc <- fmt.Errorf("search returned id %d twice during handoff: %v", id, got)
					return
				}
				seen[id] = true
			}
		}
	}()
	for b := range 6 {
		ids := make([]int64, 100)
		for i := range ids {
			ids[i] = int64(b*100 + i)
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("vec", dim, randomVectors(r, 100, dim)))
		must(t, err)
		acked.Add(100)
		flush(t, ctx, cli, name)
	}
	// Let the reader run over the last handoffs too: wait until every
	// flushed segment is indexed.
	eventually(t, 60*time.Second, "all rows indexed", func() (bool, string) {
		d, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, "vec"))
		if err != nil {
			return false, err.Error()
		}
		return d.IndexedRows == 600, fmt.Sprintf("indexed %d of %d", d.IndexedRows, d.TotalRows)
	})
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	// The rows all read back exactly once.
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("id").
		WithLimit(1000).WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	got := int64Col(t, qr, "id")
	if len(got) != 600 || got[0] != 0 || got[599] != 599 {
		t.Fatalf("after handoff: %d rows", len(got))
	}
}

// TestLifecycle covers the order-dependent cases: delete then insert the
// same key, deletes of flushed rows, release and load again, a restart,
// drop and re-create under the same name, VarChar keys, writes through an
// alias.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "life", 4
	schema := entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("key").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("n").WithDataType(entity.FieldTypeInt32)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	must(t, cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption(name, "life_alias")))
	r := rand.New(rand.NewPCG(4, 2))
	write := func(coll string, from, to int, n int32, upsert bool) {
		t.Helper()
		var keys []string
		var ns []int32
		for i := from; i < to; i++ {
			keys = append(keys, fmt.Sprintf("k%03d", i))
			ns = append(ns, n)
		}
		opt := milvusclient.NewColumnBasedInsertOption(coll).WithVarcharColumn("key", keys).WithInt32Column("n", ns).
			WithFloatVectorColumn("vec", dim, randomVectors(r, to-from, dim))
		var err error
		if upsert {
			_, err = cli.Upsert(ctx, opt)
		} else {
			_, err = cli.Insert(ctx, opt)
		}
		must(t, err)
	}
	state := func(filter string) map[string]int32 {
		t.Helper()
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(filter).WithOutputFields("key", "n").
			WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		out := map[string]int32{}
		keys := qr.GetColumn("key").(*column.ColumnVarChar).Data()
		ns := qr.GetColumn("n").(*column.ColumnInt32).Data()
		for i, k := range keys {
			if _, dup := out[k]; dup {
				t.Fatalf("key %s returned twice", k)
			}
			out[k] = ns[i]
		}
		return out
	}
	write(name, 0, 50, 1, false)
	flush(t, ctx, cli, name)
	write("life_alias", 50, 100, 1, false) // through the alias, growing
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	if s := state(`key >= ""`); len(s) != 100 {
		t.Fatalf("%d rows, want 100", len(s))
	}
	// Delete flushed and growing keys (one through the alias), then insert
	// two of them again with new values.
	_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithStringIDs("key", []string{"k010", "k011", "k060"}))
	must(t, err)
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption("life_alias").WithExpr(`key in ["k061"]`))
	must(t, err)
	write(name, 10, 11, 2, false)
	write(name, 60, 61, 2, false)
	s := state(`key in ["k010", "k011", "k060", "k061"]`)
	if len(s) != 2 || s["k010"] != 2 || s["k060"] != 2 {
		t.Fatalf("after delete and re-insert: %v", s)
	}
	// Upsert a flushed key, flush, delete it with a non-key filter.
	write(name, 20, 21, 3, true)
	flush(t, ctx, cli, name)
	if s := state(`key == "k020"`); s["k020"] != 3 {
		t.Fatalf("upserted k020: %v", s)
	}
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("n == 3"))
	must(t, err)
	want := state(`key >= ""`)
	if len(want) != 97 {
		t.Fatalf("%d rows before release, want 97", len(want))
	}
	// Release and load again: the same rows.
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`key >= ""`)); err == nil {
		t.Fatal("query of a released collection succeeded")
	}
	load(t, ctx, cli, name)
	if got := state(`key >= ""`); !maps.Equal(got, want) {
		t.Fatalf("after release and load: %d rows, want %d", len(got), len(want))
	}
	// Restart the server on the same data: loaded state, rows and the
	// alias all come back.
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	if got := state(`key >= ""`); !maps.Equal(got, want) {
		t.Fatalf("after restart: %d rows, want %d", len(got), len(want))
	}
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption("life_alias").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if n, _ := qr.GetColumn("count(*)").GetAsInt64(0); n != 97 {
		t.Fatalf("count through alias after restart = %d", n)
	}
	// Dynamic keys after restart.
	_, err = cli.Insert(ctx, milvusclient.NewRowBasedInsertOption(name, map[string]any{"key": "dyn", "n": int32(9), "vec": []float32{1, 2, 3, 4}, "color": "red"}))
	must(t, err)
	qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`color == "red"`).WithOutputFields("color").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if qr.ResultCount != 1 {
		t.Fatalf("dynamic key after restart: %d rows", qr.ResultCount)
	}
	// Drop and re-create under the same name: nothing old comes back.
	must(t, cli.DropAlias(ctx, milvusclient.NewDropAliasOption("life_alias")))
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
	if err != nil || st.State != entity.LoadStateNotLoad {
		t.Fatalf("re-created collection load state %v, %v", st, err)
	}
	write(name, 500, 503, 7, false)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))
	if got := state(`key >= ""`); len(got) != 3 || got["k500"] != 7 {
		t.Fatalf("re-created collection holds %v", got)
	}
	if has, _ := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption("life_alias")); has {
		t.Fatal("dropped alias still resolves")
	}
}
