//go:build linux

package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/failpoint"
)

// TestClusterRequeryIgnoreGrowingSealedBetween (issue 11) is the e2e
// TestRequeryIgnoreGrowingSealedBetween on a cluster, where the query
// node reports the segments a search read over gRPC and the requery sends
// them back: key 7 is sealed with v 1 at (7, 0, 0, 0) and inserted again,
// growing, with v 2 at (1000, 0, 0, 0); a search near (7, 0, 0, 0) with
// ignore_growing finds the sealed row; the proxy holds it before its
// requery (the failpoint proxy.search.requery) while the growing segment
// is flushed and handed off sealed to the query node; the requery still
// answers v 1 and the vector the search scored, not the newer row.
func TestClusterRequeryIgnoreGrowingSealedBetween(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	const hold = 10 * time.Second
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1,
		env: map[string][]string{"proxy": {failpoint.EnvVar + "=proxy.search.requery=1*sleep(" + hold.String() + ")"}}},
		"mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name = "requery_sealed"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(1).
		WithConsistencyLevel(entity.ClStrong)); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	if err == nil {
		err = it.Await(ctx)
	}
	if err != nil {
		t.Fatalf("create index: %v", err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err == nil {
		err = lt.Await(ctx)
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	insert := func(ids, vs []int64, vecs [][]float32) {
		t.Helper()
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithInt64Column("v", vs).WithFloatVectorColumn("vec", 4, vecs)); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	ids, vs, vecs := make([]int64, 20), make([]int64, 20), make([][]float32, 20)
	for i := range ids {
		ids[i], vs[i], vecs[i] = int64(i), 1, []float32{float32(i), 0, 0, 0}
	}
	insert(ids, vs, vecs)
	flushAwait(t, ctx, cli, name)
	insert([]int64{7}, []int64{2}, [][]float32{{1000, 0, 0, 0}})

	// nearest is the best hit of (x, 0, 0, 0) among the sealed rows, with
	// its distance.
	nearest := func(x float32) (int64, float32, error) {
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector{x, 0, 0, 0}}).
			WithANNSField("vec").WithIgnoreGrowing(true).WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			return 0, 0, err
		}
		if len(rs) != 1 || rs[0].ResultCount != 1 {
			return 0, 0, fmt.Errorf("%d results", len(rs))
		}
		id, err := rs[0].IDs.GetAsInt64(0)
		return id, rs[0].Scores[0], err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		id, _, err := nearest(7)
		if err == nil && id == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sealed row of key 7 not searchable: %d, %v", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id, d, err := nearest(1000); err != nil || id != 19 {
		t.Fatalf("sealed rows nearest (1000, 0, 0, 0): key %d at %v, %v; want 19 (key 7's second row growing)", id, d, err)
	}

	type answer struct {
		rs  []milvusclient.ResultSet
		err error
		at  time.Time
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector{7, 0, 0, 0}}).
			WithANNSField("vec").WithIgnoreGrowing(true).WithOutputFields("v", "vec").WithConsistencyLevel(entity.ClStrong))
		done <- answer{rs, err, time.Now()}
	}()
	time.Sleep(500 * time.Millisecond)
	flushAwait(t, ctx, cli, name)
	for {
		id, d, err := nearest(1000)
		if err == nil && id == 7 && d == 0 {
			break
		}
		if time.Since(start) > hold-time.Second {
			t.Fatalf("key 7's second row not sealed in the query node within %v of the held search (nearest %d at %v, %v): the test could not seal it between the phases",
				hold-time.Second, id, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sealed := time.Now()
	a := <-done
	if a.err != nil {
		t.Fatalf("search: %v", a.err)
	}
	if !a.at.After(sealed) {
		t.Fatalf("the search answered %v after it was sent, before the segment was sealed (%v)", a.at.Sub(start), sealed.Sub(start))
	}
	rs := a.rs[0]
	if id, err := rs.IDs.GetAsInt64(0); err != nil || rs.ResultCount != 1 || id != 7 {
		t.Fatalf("hit %d (%d hits), %v; want key 7", id, rs.ResultCount, err)
	}
	v, err := rs.GetColumn("v").GetAsInt64(0)
	if err != nil || v != 1 {
		t.Fatalf("v of key 7: %d, %v; want 1, the row the search found (2 is the row sealed between the phases)", v, err)
	}
	vec, err := rs.GetColumn("vec").Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if fv, ok := vec.(entity.FloatVector); !ok || len(fv) != 4 || fv[0] != 7 {
		t.Fatalf("vec of key 7: %v; want [7 0 0 0], the vector the search scored", vec)
	}
}
