package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestPymilvusHelloFlow is pymilvus's examples/hello_milvus.py ported to
// the Go SDK: Int64 "pk" (no auto ID), a random Double, 8-d "embeddings";
// insert 3000 rows, flush, build an index, load, search with search params
// and output fields, query by a filter, delete by primary keys and query
// again. It runs once with IVF_FLAT (the script's index) and once with HNSW.
func TestPymilvusHelloFlow(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	for _, tc := range []struct {
		name   string
		idx    index.Index
		params index.AnnParam
	}{
		{"IVF_FLAT", index.NewIvfFlatIndex(entity.L2, 128), index.NewIvfAnnParam(10)},
		{"HNSW", index.NewHNSWIndex(entity.L2, 16, 64), index.NewHNSWAnnParam(64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pymilvusHello(t, cli, "hello_milvus_"+tc.name, tc.idx, tc.params)
		})
	}
}

func pymilvusHello(t *testing.T, cli *milvusclient.Client, name string, idx index.Index, ap index.AnnParam) {
	ctx := testContext(t)
	const n, dim = 3000, 8

	if has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name)); err != nil || has {
		t.Fatalf("HasCollection before create = %v, %v", has, err)
	}
	schema := entity.NewSchema().WithName(name).WithDescription("hello_milvus is the simplest demo to introduce the APIs").
		WithField(entity.NewField().WithName("pk").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true).WithIsAutoID(false)).
		WithField(entity.NewField().WithName("random").WithDataType(entity.FieldTypeDouble)).
		WithField(entity.NewField().WithName("embeddings").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)))

	r := rand.New(rand.NewPCG(19530, 1))
	pks := make([]int64, n)
	randoms := make([]float64, n)
	for i := range pks {
		pks[i] = int64(i)
		randoms[i] = r.Float64()
	}
	vecs := randomVectors(r, n, dim)
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("pk", pks).
		WithColumns(column.NewColumnDouble("random", randoms)).
		WithFloatVectorColumn("embeddings", dim, vecs))
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if res.InsertCount != n {
		t.Fatalf("insert count %d, want %d", res.InsertCount, n)
	}
	if got := res.IDs.(*column.ColumnInt64).Data(); !slices.Equal(got, pks) {
		t.Fatalf("insert returned other primary keys than sent (first %v)", got[:3])
	}
	flush(t, ctx, cli, name)
	stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption(name))
	if err != nil || stats["row_count"] != fmt.Sprint(n) {
		t.Fatalf("stats after flush = %v, %v; want row_count %d", stats, err, n)
	}
	indexAndLoad(t, ctx, cli, name, "embeddings", idx)

	// Search: the last two inserted vectors find themselves first, with
	// their "random" value, at squared L2 0; results ascend by distance.
	queries := []entity.Vector{entity.FloatVector(vecs[n-1]), entity.FloatVector(vecs[n-2])}
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, queries).
		WithANNSField("embeddings").WithAnnParam(ap).WithOutputFields("random"))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(rs) != 2 {
		t.Fatalf("search: %d result sets, want 2", len(rs))
	}
	for qi, want := range []int64{n - 1, n - 2} {
		got := ids(t, rs[qi])
		if rs[qi].ResultCount != 3 || len(got) != 3 || got[0] != want {
			t.Fatalf("query %d: ids %v, want 3 starting with %d", qi, got, want)
		}
		if rs[qi].Scores[0] != 0 {
			t.Fatalf("query %d: self distance %v, want 0", qi, rs[qi].Scores[0])
		}
		for i := 1; i < len(rs[qi].Scores); i++ {
			if rs[qi].Scores[i] < rs[qi].Scores[i-1] {
				t.Fatalf("query %d: L2 distances not ascending: %v", qi, rs[qi].Scores)
			}
			if d := l2sq(vecs[got[i]], vecs[want]); !near(rs[qi].Scores[i], d) {
				t.Fatalf("query %d hit %d: distance %v, want squared L2 %v", qi, got[i], rs[qi].Scores[i], d)
			}
		}
		col := rs[qi].GetColumn("random")
		if col == nil || col.Len() != 3 {
			t.Fatalf("query %d: output field random missing (%v)", qi, columnNames(rs[qi]))
		}
		for i, id := range got {
			v, err := col.GetAsDouble(i)
			if err != nil || v != randoms[id] {
				t.Fatalf("query %d hit %d: random = %v, %v; want %v", qi, id, v, err, randoms[id])
			}
		}
	}

	// Query random > 0.5 with output fields.
	wantAbove := map[int64]bool{}
	for i, v := range randoms {
		if v > 0.5 {
			wantAbove[int64(i)] = true
		}
	}
	qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("random > 0.5").
		WithOutputFields("random", "embeddings"))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if qr.ResultCount != len(wantAbove) {
		t.Fatalf("query random > 0.5: %d rows, want %d", qr.ResultCount, len(wantAbove))
	}
	qpks := int64Col(t, qr, "pk")
	qvecs := qr.GetColumn("embeddings").(*column.ColumnFloatVector).Data()
	qrand := qr.GetColumn("random").(*column.ColumnDouble).Data()
	for i, id := range qpks {
		if !wantAbove[id] || qrand[i] != randoms[id] || !slices.Equal(qvecs[i], vecs[id]) {
			t.Fatalf("query row %d: pk %d random %v vec %v; want random %v vec %v", i, id, qrand[i], qvecs[i], randoms[id], vecs[id])
		}
	}

	// Search with a filter: only rows with random > 0.5.
	rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 10, queries[:1]).
		WithANNSField("embeddings").WithAnnParam(ap).WithFilter("random > 0.5").WithOutputFields("random"))
	if err != nil {
		t.Fatalf("filtered search: %v", err)
	}
	if rs[0].ResultCount != 10 {
		t.Fatalf("filtered search: %d hits, want 10", rs[0].ResultCount)
	}
	for _, id := range ids(t, rs[0]) {
		if !wantAbove[id] {
			t.Fatalf("filtered search returned pk %d with random %v", id, randoms[id])
		}
	}

	// Delete by primary keys, then query them again.
	delPKs := []int64{0, 1}
	del, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("pk", delPKs))
	if err != nil || del.DeleteCount != 2 {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	expr := fmt.Sprintf("pk in [%d, %d]", delPKs[0], delPKs[1])
	qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(expr).WithOutputFields("random", "embeddings"))
	if err != nil || qr.ResultCount != 0 {
		t.Fatalf("query after delete: %d rows (%v), %v", qr.ResultCount, columnNames(qr), err)
	}
	// The deleted rows do not come back in searches either.
	rs, err = cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector(vecs[0])}).
		WithANNSField("embeddings").WithAnnParam(ap))
	if err != nil {
		t.Fatalf("search after delete: %v", err)
	}
	if got := ids(t, rs[0]); len(got) != 1 || got[0] == 0 {
		t.Fatalf("search for deleted vector returned %v", got)
	}
	cnt, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)"))
	must(t, err)
	if c, _ := cnt.GetColumn("count(*)").GetAsInt64(0); c != n-2 {
		t.Fatalf("count(*) after delete = %d, want %d", c, n-2)
	}

	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
	if has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name)); err != nil || has {
		t.Fatalf("HasCollection after drop = %v, %v", has, err)
	}
}
