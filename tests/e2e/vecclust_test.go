package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/querynode"
)

const vecClustDim = 32

func createVectorKeyed(ctx context.Context, cli *milvusclient.Client, name string) error {
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(vecClustDim).WithIsClusteringKey(true))
	return cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong))
}

// blobRows returns n vectors around c random centres (row i near centre
// i%c, noise 1 against centres spread by 10 per component) and the
// centres.
func blobRows(r *rand.Rand, n, c int) ([][]float32, [][]float32) {
	centres := make([][]float32, c)
	for j := range centres {
		centres[j] = make([]float32, vecClustDim)
		for k := range centres[j] {
			centres[j][k] = float32(r.NormFloat64() * 10)
		}
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, vecClustDim)
		for k := range rows[i] {
			rows[i][k] = centres[i%c][k] + float32(r.NormFloat64())
		}
	}
	return rows, centres
}

// exactTopK is the model's answer: the k ids nearest q by L2.
func exactTopK(model map[int64][]float32, q []float32, k int) []int64 {
	type hit struct {
		id int64
		d  float32
	}
	hits := make([]hit, 0, len(model))
	for id, v := range model {
		var d float32
		for i := range v {
			x := v[i] - q[i]
			d += x * x
		}
		hits = append(hits, hit{id, d})
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].d < hits[j].d || hits[i].d == hits[j].d && hits[i].id < hits[j].id })
	out := make([]int64, 0, k)
	for _, h := range hits[:min(k, len(hits))] {
		out = append(out, h.id)
	}
	return out
}

// searchIDs searches every query (top k, exact: FLAT) and returns the ids.
func searchIDs(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, queries [][]float32, k int) [][]int64 {
	t.Helper()
	vs := make([]entity.Vector, len(queries))
	for i, q := range queries {
		vs[i] = entity.FloatVector(q)
	}
	res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, k, vs).WithANNSField("vec").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	out := make([][]int64, len(res))
	for i, rs := range res {
		for j := range rs.ResultCount {
			id, _ := rs.IDs.GetAsInt64(j)
			out[i] = append(out[i], id)
		}
	}
	return out
}

// recallOf is the share of the model's top-k ids the answers hold.
func recallOf(got [][]int64, model map[int64][]float32, queries [][]float32, k int) float64 {
	var hit, all int
	for i, q := range queries {
		want := exactTopK(model, q, k)
		all += len(want)
		for _, id := range want {
			if slices.Contains(got[i], id) {
				hit++
			}
		}
	}
	return float64(hit) / float64(all)
}

// TestVectorClusteringKeyRefusedByDefault: without
// common.enableVectorClusteringKey a FloatVector clustering key is refused
// with Milvus's error.
func TestVectorClusteringKeyRefusedByDefault(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	err := createVectorKeyed(testContext(t), cli, "veckey")
	if err == nil || !strings.Contains(err.Error(), "vector clustering key not allowed") {
		t.Fatalf("vector clustering key by default: %v", err)
	}
}

// TestVectorClusteringCompaction: with common.enableVectorClusteringKey,
// a collection clustered by its FloatVector field is written in several
// flushes (every segment holds every blob), some rows deleted, then
// compacted with is_clustering: the data node's k-means maps rows to
// centroids, one segment per cluster (cut at the maximum size), each
// carrying its centroid. With queryNode.enableSegmentPrune and a ratio
// that keeps every segment, the search answers exactly as the model (the
// index is FLAT); after a restart with Milvus's default ratio (2), the
// query nodes skip segments and the recall against the model is measured.
func TestVectorClusteringCompaction(t *testing.T) {
	dir := t.TempDir()
	ratio := 1000.0 // keeps every segment
	configure := func(cfg *app.StandaloneConfig) {
		fastCompaction(cfg)
		cfg.Data.Compaction.Auto = false
		cfg.Data.Compaction.Clustering.Key.EnableVectorKey = true
		// 16000 rows x 32 dims (2 MB of vectors) over 128 KB: 16 centroids,
		// Milvus's minCentroidsNum.
		cfg.Data.MaxSegmentBytes = 128 << 10
		cfg.Prune = &querynode.PruneConfig{Enable: true, FilterRatio: ratio, Key: cfg.Data.Compaction.Clustering.Key}
	}
	srv := startServerWith(t, dir, configure)
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "vecclustered"
	must(t, createVectorKeyed(ctx, cli, name))
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vec", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)
	r := rand.New(rand.NewPCG(12, 34))
	const n, blobs = 16000, 16
	rows, centres := blobRows(r, n, blobs)
	model := map[int64][]float32{}
	for b := range 4 {
		var ids []int64
		var vecs [][]float32
		for i := b * n / 4; i < (b+1)*n/4; i++ {
			ids, vecs = append(ids, int64(i)), append(vecs, rows[i])
			model[int64(i)] = rows[i]
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithFloatVectorColumn("vec", vecClustDim, vecs))
		must(t, err)
		flush(t, ctx, cli, name)
	}
	var gone []int64
	for id := int64(0); id < n; id += 11 {
		gone = append(gone, id)
		delete(model, id)
	}
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone))
	must(t, err)
	queries := make([][]float32, 40)
	for i := range queries {
		queries[i] = slices.Clone(centres[i%blobs])
		for k := range queries[i] {
			queries[i][k] += float32(r.NormFloat64() * 2)
		}
	}
	const k = 10
	exact := func(when string) {
		t.Helper()
		got := searchIDs(t, ctx, cli, name, queries, k)
		for i, q := range queries {
			if want := exactTopK(model, q, k); !slices.Equal(got[i], want) {
				t.Fatalf("%s: query %d: %v, model %v", when, i, got[i], want)
			}
		}
	}
	exact("before clustering")

	before, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
	must(t, err)
	id, err := cli.Compact(ctx, clusteringCompact{name})
	must(t, err)
	if id <= 0 {
		t.Fatalf("clustering compaction id %d", id)
	}
	eventually(t, 120*time.Second, "clustering compaction completes", func() (bool, string) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		must(t, err)
		return st == entity.CompactionStateCompleted, fmt.Sprint(st)
	})
	var oldIDs []int64
	for _, s := range before {
		oldIDs = append(oldIDs, s.ID)
	}
	var clustered int
	eventually(t, 120*time.Second, "clustered segments serve", func() (bool, string) {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
		must(t, err)
		var rows int64
		for _, s := range segs {
			if slices.Contains(oldIDs, s.ID) {
				return false, fmt.Sprintf("source %d still flushed", s.ID)
			}
			rows += s.NumRows
		}
		if rows != int64(len(model)) {
			return false, fmt.Sprintf("%d rows, model %d", rows, len(model))
		}
		clustered = len(segs)
		p0, k0 := pruneCounts(t, srv, "vector")
		exact("during handoff")
		p1, k1 := pruneCounts(t, srv, "vector")
		if p1 != p0 {
			t.Fatalf("ratio %v pruned %d segments", ratio, p1-p0)
		}
		// Every clustered segment loaded is counted once per search.
		return k1-k0 == int64(len(segs)), fmt.Sprintf("%d of %d clustered segments loaded", k1-k0, len(segs))
	})
	if clustered < blobs {
		t.Fatalf("%d segments after clustering into %d centroids", clustered, blobs)
	}
	exact("after clustering, pruning keeping every segment")

	srv.stop()
	ratio = 2 // Milvus's default
	srv = startServerWith(t, dir, configure)
	cli = srv.client(t)
	var got [][]int64
	var pruned, kept int64
	eventually(t, 60*time.Second, "clustered segments loaded after restart", func() (bool, string) {
		p0, k0 := pruneCounts(t, srv, "vector")
		got = searchIDs(t, ctx, cli, name, queries[:1], k)
		p1, k1 := pruneCounts(t, srv, "vector")
		return p1-p0+k1-k0 == int64(clustered), fmt.Sprintf("%d of %d clustered segments loaded", p1-p0+k1-k0, clustered)
	})
	p0, k0 := pruneCounts(t, srv, "vector")
	got = nil
	for _, q := range queries {
		got = append(got, searchIDs(t, ctx, cli, name, [][]float32{q}, k)[0])
	}
	p1, k1 := pruneCounts(t, srv, "vector")
	pruned, kept = p1-p0, k1-k0
	recall := recallOf(got, model, queries, k)
	t.Logf("ratio 2: %d segments, %.1f searched per query, recall@%d %.4f", clustered, float64(kept)/float64(len(queries)), k, recall)
	if pruned == 0 {
		t.Fatalf("ratio 2 over %d segments pruned none", clustered)
	}
	// Queries near a blob's centre: their neighbours are in the clusters
	// of nearest centroids.
	if recall < 0.99 {
		t.Fatalf("recall@%d %.4f with pruning", k, recall)
	}
}
