package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/segment"
)

// TestInterimIndexGrowing: unsealed rows are searched through the growing
// segment's interim index (queryNode.segcore.interimIndex.*): with nprobe =
// nlist the answers are the exact top 10, with nprobe 1 some differ (the
// lists are really probed). Top 10s are compared as sets: the test's
// cosine may round differently from the server's.
func TestInterimIndexGrowing(t *testing.T) {
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		cfg := segment.DefaultInterimIndexConfig()
		cfg.NList, cfg.NProbe, cfg.BuildRatio = 16, 4, 0 // train after the first 1,024 rows
		c.Interim = &cfg
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n, nq = "interim_growing", 8, 6000, 20 // above the 4,096 rows under which a scan is preferred
	// The simple collection's metric is COSINE.
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false).WithShardNum(1)))
	r := rand.New(rand.NewPCG(9, 9))
	vecs := randomVectors(r, n, dim)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vector", dim, vecs))
	must(t, err)

	queries := randomVectors(r, nq, dim)
	exact := func(q []float32) []int64 {
		cos := func(v []float32) float64 {
			return float64(distance.Dot(q, v)) / math.Sqrt(float64(distance.Dot(q, q))*float64(distance.Dot(v, v)))
		}
		order := slices.Clone(ids)
		sort.SliceStable(order, func(a, b int) bool { return cos(vecs[order[a]]) > cos(vecs[order[b]]) })
		return order[:10]
	}
	search := func(nprobe int) (same int) {
		for _, q := range queries {
			rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(q)}).
				WithAnnParam(index.NewIvfAnnParam(nprobe)).WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			got := make([]int64, rs[0].IDs.Len())
			for i := range got {
				got[i], _ = rs[0].IDs.GetAsInt64(i)
			}
			want := exact(q)
			slices.Sort(got)
			slices.Sort(want)
			if slices.Equal(got, want) {
				same++
			}
		}
		return same
	}
	if same := search(16); same != nq {
		t.Fatalf("nprobe = nlist: %d of %d queries got the exact top 10", same, nq)
	}
	// The index is built in the background: wait until probing one list
	// shows (fewer exact answers).
	eventually(t, 30*time.Second, "the interim index answers", func() (bool, string) {
		same := search(1)
		return same < nq, fmt.Sprintf("%d of %d exact with nprobe 1", same, nq)
	})
	if same := search(16); same != nq {
		t.Fatalf("nprobe = nlist after the build: %d of %d queries got the exact top 10", same, nq)
	}
}
