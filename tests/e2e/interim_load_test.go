package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/segment"
)

// growingBytes is the query node's growing-segment memory as GetMetrics
// reports it (quota_metrics.GrowingSegmentsSize): it includes the growing
// segments' interim indexes.
func growingBytes(t *testing.T, ctx context.Context, cli *milvusclient.Client) int64 {
	t.Helper()
	resp, err := cli.GetService().GetMetrics(ctx, &milvuspb.GetMetricsRequest{Request: `{"metric_type":"system_info"}`})
	if err != nil || resp.GetStatus().GetCode() != 0 {
		t.Fatalf("GetMetrics: %v, %v", resp.GetStatus(), err)
	}
	var topo struct {
		NodesInfo []struct {
			Infos struct {
				Type         string                               `json:"type"`
				QuotaMetrics *struct{ GrowingSegmentsSize int64 } `json:"quota_metrics"`
			} `json:"infos"`
		} `json:"nodes_info"`
	}
	if err := json.Unmarshal([]byte(resp.GetResponse()), &topo); err != nil {
		t.Fatal(err)
	}
	for _, n := range topo.NodesInfo {
		if q := n.Infos.QuotaMetrics; n.Infos.Type == "querynode" && q != nil {
			return q.GrowingSegmentsSize
		}
	}
	t.Fatalf("no query node quota_metrics in %s", resp.GetResponse())
	return 0
}

// TestInterimIndexFromLoad: rows inserted into a loaded collection are put
// in the growing segment's interim index as they arrive, before any
// search (the load carries the collection's index definitions to the
// query node): the growing memory grows by the lists with no search made,
// and the very first search, with nprobe 1, is answered from them (some
// top 10s differ from the exact ones) while nprobe = nlist gives the exact
// answers. A FLAT twin with the same rows builds nothing and answers
// exactly. A vector field added to the loaded collection gets its interim
// index when its index is created, while the collection stays loaded.
func TestInterimIndexFromLoad(t *testing.T) {
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		cfg := segment.DefaultInterimIndexConfig()
		cfg.NList, cfg.NProbe, cfg.BuildRatio = 16, 4, 0 // train after the first 1,024 rows
		c.Interim = &cfg
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const dim, n, nq = 8, 6000, 20 // above the 4,096 rows under which a scan is preferred
	// 5 full chunks of rows in the lists: their offsets, 4 bytes a row
	// (the lists hold no copy of the vectors).
	const lists = 5 * 1024 * 4
	r := rand.New(rand.NewPCG(11, 12))
	vecs := randomVectors(r, n, dim)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	create := func(name string, idx index.Index) {
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(1).
			WithIndexOptions(milvusclient.NewCreateIndexOption(name, "vec", idx))))
		load(t, ctx, cli, name)
	}
	insert := func(name string) {
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vec", dim, vecs))
		must(t, err)
		// A strong count: every row has reached the query node.
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != n {
			t.Fatalf("%s: count %d", name, c)
		}
	}
	queries := randomVectors(r, nq, dim)
	exact := func(q []float32, of [][]float32) []int64 {
		order := slices.Clone(ids)
		sort.SliceStable(order, func(a, b int) bool {
			return distance.L2Sq(q, of[order[a]]) < distance.L2Sq(q, of[order[b]])
		})
		return order[:10]
	}
	// sameAsExact counts the queries whose top 10 (as a set) is exact.
	sameAsExact := func(name, field string, of [][]float32, nprobe int) (same int) {
		for _, q := range queries {
			rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(q)}).WithANNSField(field).
				WithAnnParam(index.NewIvfAnnParam(nprobe)).WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			got := make([]int64, rs[0].IDs.Len())
			for i := range got {
				got[i], _ = rs[0].IDs.GetAsInt64(i)
			}
			want := exact(q, of)
			slices.Sort(got)
			slices.Sort(want)
			if slices.Equal(got, want) {
				same++
			}
		}
		return same
	}

	// The FLAT twin first: its growing bytes are the baseline.
	create("interim_flat", index.NewFlatIndex(entity.L2))
	insert("interim_flat")
	base := growingBytes(t, ctx, cli)
	create("interim_hnsw", index.NewHNSWIndex(entity.L2, 8, 32))
	insert("interim_hnsw")
	eventually(t, 30*time.Second, "the interim index built with no search", func() (bool, string) {
		b := growingBytes(t, ctx, cli)
		return b >= 2*base+lists, fmt.Sprintf("growing bytes %d, FLAT twin %d", b, base)
	})
	if same := sameAsExact("interim_hnsw", "vec", vecs, 1); same == nq {
		t.Fatal("the first search, nprobe 1, gave the exact answers: the interim index was not used")
	}
	if same := sameAsExact("interim_hnsw", "vec", vecs, 16); same != nq {
		t.Fatalf("nprobe = nlist: %d of %d queries got the exact top 10", same, nq)
	}
	if same := sameAsExact("interim_flat", "vec", vecs, 1); same != nq {
		t.Fatalf("FLAT: %d of %d queries got the exact top 10", same, nq)
	}

	// A vector field added while loaded, its index created while loaded.
	const name = "interim_hnsw"
	must(t, cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption(name,
		entity.NewField().WithName("vec2").WithDataType(entity.FieldTypeFloatVector).WithDim(dim).WithNullable(true))))
	vecs2 := randomVectors(r, n, dim)
	ids2 := make([]int64, n)
	for i := range ids2 {
		ids2[i] = int64(n + i)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids2).
		WithFloatVectorColumn("vec", dim, vecs2).WithFloatVectorColumn("vec2", dim, vecs2))
	must(t, err)
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != 2*n {
		t.Fatalf("count %d", c)
	}
	// vec's lists grow by the new rows' chunks; vec2 has no index yet.
	time.Sleep(time.Second)
	before := growingBytes(t, ctx, cli)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec2", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))
	// vec2's rows are those of ids2: the first n rows of the segment hold
	// nulls. Its lists cover the segment's full chunks: 11 of them, 4
	// bytes of offset a row.
	eventually(t, 30*time.Second, "vec2's interim index built", func() (bool, string) {
		b := growingBytes(t, ctx, cli)
		return b >= before+11*1024*4, fmt.Sprintf("growing bytes %d, before the index %d", b, before)
	})
	of := make([][]float32, 2*n) // the rows of ids2 at their keys; null rows never match
	copy(of[n:], vecs2)
	for i := range n {
		of[i] = []float32{float32(math.Inf(1)), 0, 0, 0, 0, 0, 0, 0}
	}
	ids = append(ids, ids2...)
	if same := sameAsExact(name, "vec2", of, 1); same == nq {
		t.Fatal("vec2, nprobe 1: exact answers: its interim index was not used")
	}
	if same := sameAsExact(name, "vec2", of, 16); same != nq {
		t.Fatalf("vec2, nprobe = nlist: %d of %d queries got the exact top 10", same, nq)
	}
}
