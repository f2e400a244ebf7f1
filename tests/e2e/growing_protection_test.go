package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/sysinfo"
)

// TestGrowingSegmentsProtection: with
// quotaAndLimits.limitWriting.growingSegmentsSizeProtection enabled and
// water levels of a few MB of the node's memory (minRateRatio 0), inserts
// into a loaded collection are accepted until its growing segments pass
// the high level, then refused with Milvus's memory quota error (code 9);
// once a flush has sealed them (the query node swaps the growing segments
// for the sealed copies), inserts are accepted again. The growing bytes
// reach the quota center as a query node reports them in GetMetrics
// (quota_metrics.GrowingSegmentsSize).
func TestGrowingSegmentsProtection(t *testing.T) {
	total := float64(sysinfo.Hardware("", "").Memory)
	if total == 0 {
		t.Skip("the host's memory is unknown")
	}
	const lowMB, highMB = 2, 6
	srv, _ := startConfigured(t, func(c *app.StandaloneConfig) {
		c.Public.Limits = config.Default(config.Standalone).Limits
		c.Public.Limits.DiskProtection = false // the shared test machine's disk is not what this test is about
		c.Public.Limits.GrowingProtection = true
		c.Public.Limits.GrowingMinRateRatio = 0
		c.Public.Limits.GrowingLowWaterLevel = lowMB << 20 / total
		c.Public.Limits.GrowingHighWaterLevel = highMB << 20 / total
		c.Public.Limits.CollectInterval = 0.1
	})
	ctx := testContext(t)
	cli := srv.client(t)
	const name, dim, batch = "growing", 128, 1024 // 0.5 MiB of vectors a batch
	if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)); err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	insert := func() error {
		ids := make([]int64, batch)
		vecs := make([][]float32, batch)
		for i := range ids {
			ids[i] = next + int64(i)
			vecs[i] = make([]float32, dim)
			vecs[i][i%dim] = float32(i + 1)
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vector", dim, vecs))
		if err == nil {
			next += batch
		}
		return err
	}
	// Up to 3x the high level: the center samples every 0.1 s, a proxy
	// takes its verdict as often.
	var err error
	for i := 0; i < 3*highMB*2 && err == nil; i++ {
		if err = insert(); err == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	wantCode(t, err, 9, "quota exceeded[reason=memory quota exceeded, please allocate more resources")
	if mb := float64(next) * dim * 4 / (1 << 20); mb < lowMB {
		t.Fatalf("refused after %.1f MB of vectors, below the low water level (%d MB)", mb, lowMB)
	}
	t.Logf("refused after %d rows (%.1f MiB of vectors): %v", next, float64(next)*dim*4/(1<<20), err)
	// GetMetrics shows what the center read: the query node's growing
	// bytes, in Milvus's QueryNodeQuotaMetrics keys.
	resp, err := cli.GetService().GetMetrics(ctx, &milvuspb.GetMetricsRequest{Request: `{"metric_type":"system_info"}`})
	if err != nil || resp.GetStatus().GetCode() != 0 {
		t.Fatalf("GetMetrics: %v, %v", resp.GetStatus(), err)
	}
	var topo struct {
		NodesInfo []struct {
			Infos struct {
				Type         string `json:"type"`
				QuotaMetrics *struct {
					GrowingSegmentsSize int64
					Effect              struct{ CollectionIDs []int64 }
				} `json:"quota_metrics"`
			} `json:"infos"`
		} `json:"nodes_info"`
	}
	if err := json.Unmarshal([]byte(resp.GetResponse()), &topo); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range topo.NodesInfo {
		if q := n.Infos.QuotaMetrics; n.Infos.Type == "querynode" && q != nil {
			found = true
			if q.GrowingSegmentsSize < highMB<<20 || len(q.Effect.CollectionIDs) != 1 {
				t.Fatalf("query node quota metrics: %+v, want growing bytes above %d MB and one collection", q, highMB)
			}
		}
	}
	if !found {
		t.Fatalf("no query node quota_metrics in %s", resp.GetResponse())
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", []int64{0})); err != nil {
		t.Fatalf("delete refused: %v", err)
	}
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err = insert()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inserts still refused 60 s after the flush: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rs.GetColumn("count(*)").GetAsInt64(0); got != next-1 {
		t.Fatalf("count(*) = %d, want %d (every accepted row but the deleted one)", got, next-1)
	}
}
