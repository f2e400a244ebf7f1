//go:build linux

package cluster

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// majorCompact is pymilvus's compact(is_clustering=True).
type majorCompact struct{ name string }

func (o majorCompact) Request() *milvuspb.ManualCompactionRequest {
	return &milvuspb.ManualCompactionRequest{CollectionName: o.name, MajorCompaction: true}
}

// TestClusterVectorClustering runs a clustering compaction on a vector
// clustering key with the roles in separate processes: the data
// coordinator plans two centroids (12,000 x 128 floats over 0.01 of a
// 512 MB segment), the index coordinator runs the analyze task (the
// k-means) on the index node, the data node maps the rows to the
// centroids file it wrote and writes each cluster's centroid in its
// segment's stats log, the query node loads them and prunes searches
// (queryNode.enableSegmentPrune, ratio 0.5: the nearest segment only).
// Rows lie around two far apart centres, so the pruned answers are the
// exact ones.
func TestClusterVectorClustering(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 1, args: []string{
		"--common.enableVectorClusteringKey=true", "--queryNode.enableSegmentPrune=true",
		"--queryNode.defaultSegmentFilterRatio=0.5", "--dataCoord.compaction.clustering.minCentroidsNum=2",
		"--dataCoord.compaction.clustering.maxSegmentSizeRatio=0.01",
	}}, "rootcoord", "datacoord", "indexcoord", "querycoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name, n, d = "vecclust", 12000, 128
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(d).WithIsClusteringKey(true))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithConsistencyLevel(entity.ClStrong)); err != nil {
		t.Fatalf("create: %v", err)
	}
	r := rand.New(rand.NewPCG(8, 8))
	centres := [2][]float32{make([]float32, d), make([]float32, d)}
	for j := range d {
		centres[0][j], centres[1][j] = 20, -20
	}
	model := make([][]float32, n)
	for half := range 2 {
		var ids []int64
		var vecs [][]float32
		for i := half; i < n; i += 2 {
			v := make([]float32, d)
			for j := range v {
				v[j] = centres[i%2][j] + float32(r.NormFloat64())
			}
			model[i] = v
			ids, vecs = append(ids, int64(i)), append(vecs, v)
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("v", d, vecs)); err != nil {
			t.Fatalf("insert: %v", err)
		}
		task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
		if err != nil {
			t.Fatalf("flush: %v", err)
		}
		if err := task.Await(ctx); err != nil {
			t.Fatalf("flush: %v", err)
		}
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2)))
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("index: %v", err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load: %v", err)
	}
	id, err := cli.Compact(ctx, majorCompact{name})
	if err != nil || id <= 0 {
		t.Fatalf("clustering compaction: %d %v", id, err)
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		if err != nil {
			t.Fatalf("state: %v", err)
		}
		if st == entity.CompactionStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compaction %d still %v", id, st)
		}
	}
	// The centroids were trained by the plan's analyze task: the data
	// coordinator created it through the index coordinator's
	// AnalyzeCoord service, which dispatched it to the index node over
	// IndexNode.Analyze; the data node read the centroids file.
	for role, want := range map[string]string{"datacoord": "analyze task finished", "indexcoord": "analyze task dispatched",
		"indexnode": "analyzed"} {
		logs, _ := os.ReadFile(c.Roles[role].LogPath())
		if !strings.Contains(string(logs), want) {
			t.Fatalf("%s did not log %q", role, want)
		}
	}
	exact := func(q []float32) []int64 {
		type hit struct {
			id int
			d  float32
		}
		hits := make([]hit, n)
		for i, v := range model {
			var s float32
			for j := range v {
				x := v[j] - q[j]
				s += x * x
			}
			hits[i] = hit{i, s}
		}
		sort.Slice(hits, func(a, b int) bool { return hits[a].d < hits[b].d })
		var out []int64
		for _, h := range hits[:10] {
			out = append(out, int64(h.id))
		}
		return out
	}
	logPath := c.Roles["querynode"].LogPath()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		for qi := range 4 {
			q := slices.Clone(centres[qi%2])
			for j := range q {
				q[j] += float32(r.NormFloat64())
			}
			res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(q)}).WithANNSField("v"))
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			var got []int64
			for i := range res[0].ResultCount {
				id, _ := res[0].IDs.GetAsInt64(i)
				got = append(got, id)
			}
			if want := exact(q); !slices.Equal(got, want) {
				t.Fatalf("query %d: %v, exact %v", qi, got, want)
			}
		}
		logs, _ := os.ReadFile(logPath)
		if strings.Contains(string(logs), "search pruned segments by centroids") {
			break
		}
		if time.Now().After(deadline) {
			segs, _ := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption(name))
			t.Fatalf("no search was pruned (segments %+v)", segs)
		}
	}
}
