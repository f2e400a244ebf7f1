package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/datanode"
)

// TestArrayFieldsMergedFromPieces: a segment synced in pieces (a 16 KiB
// insert buffer) whose Array fields (one nullable, one of strings) the
// flush merges without decoding their rows reads back exactly after the
// flush: every row's arrays, nulls and empty arrays, by query and by an
// array filter.
func TestArrayFieldsMergedFromPieces(t *testing.T) {
	standaloneOnly(t, "sets the data node's insert buffer and reads its sync manifests")
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		pol := datanode.DefaultSyncPolicy()
		pol.InsertBufSize = 16 << 10
		pol.ForceSyncEnable = true
		c.Sync = &pol
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, batches, batch = "array_pieces", 4, 6, 300
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("ai").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeInt64).
			WithMaxCapacity(8).WithNullable(true)).
		WithField(entity.NewField().WithName("as").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeVarChar).
			WithMaxCapacity(8).WithMaxLength(16)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))

	wantAI := map[int64][]int64{} // nil: null
	wantAS := map[int64][]string{}
	for b := range batches {
		ids := make([]int64, batch)
		ais := make([][]int64, batch)
		valid := make([]bool, batch)
		ass := make([][]string, batch)
		vecs := make([][]float32, batch)
		for i := range ids {
			id := int64(b*batch + i)
			ids[i] = id
			valid[i] = id%5 != 0
			if valid[i] {
				ais[i] = make([]int64, id%4) // 0 to 3 elements: empty arrays too
				for j := range ais[i] {
					ais[i][j] = id*10 + int64(j)
				}
				wantAI[id] = ais[i]
			}
			ass[i] = []string{fmt.Sprint("s", id), "é世"}[:1+id%2]
			wantAS[id] = ass[i]
			vecs[i] = []float32{float32(id), 1, 0, -1}
		}
		aiCol, err := column.NewNullableColumnInt64Array("ai", compact(ais, valid), valid)
		must(t, err)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithColumns(aiCol, column.NewColumnVarCharArray("as", ass)).WithFloatVectorColumn("vec", dim, vecs))
		must(t, err)
	}
	// The data node syncs pieces as it consumes the log, after the inserts
	// return.
	deadline := time.Now().Add(time.Minute)
	for len(manifests(t, srv.dataDir(t))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no sync manifest a minute after the inserts: the segment was not synced in pieces")
		}
		time.Sleep(50 * time.Millisecond)
	}
	flush(t, ctx, cli, name)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)

	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("ai", "as").
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if rs.ResultCount != batches*batch {
		t.Fatalf("%d rows after the flush, want %d", rs.ResultCount, batches*batch)
	}
	for i := range rs.ResultCount {
		v, err := rs.GetColumn("id").Get(i)
		must(t, err)
		id := v.(int64)
		null, err := rs.GetColumn("ai").IsNull(i)
		must(t, err)
		if want, ok := wantAI[id]; null != !ok {
			t.Fatalf("row %d: ai null %v, want %v", id, null, !ok)
		} else if ok {
			got, err := rs.GetColumn("ai").Get(i)
			must(t, err)
			if !slices.Equal(got.([]int64), want) && !(len(want) == 0 && len(got.([]int64)) == 0) {
				t.Fatalf("row %d: ai %v, want %v", id, got, want)
			}
		}
		got, err := rs.GetColumn("as").Get(i)
		must(t, err)
		if !slices.Equal(got.([]string), wantAS[id]) {
			t.Fatalf("row %d: as %v, want %v", id, got, wantAS[id])
		}
	}

	// An array filter reads the merged rows too: ai contains id*10+2 only
	// where the row has three elements (id%4 == 3) and is not null.
	rs, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("array_contains(ai, 12032)").
		WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if rs.ResultCount != 1 {
		t.Fatalf("array_contains(ai, 12032): %d rows, want 1 (id 1203)", rs.ResultCount)
	}
	if v, _ := rs.GetColumn("id").Get(0); v != int64(1203) {
		t.Fatalf("array_contains(ai, 12032): id %v, want 1203", v)
	}
}

// compact keeps the rows of vals whose valid flag is set, as the Go SDK's
// nullable columns take them.
func compact[T any](vals []T, valid []bool) []T {
	out := make([]T, 0, len(vals))
	for i, v := range vals {
		if valid[i] {
			out = append(out, v)
		}
	}
	return out
}
