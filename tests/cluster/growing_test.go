//go:build linux

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/sysinfo"
)

// TestClusterGrowingSegmentsProtection: growingSegmentsSizeProtection in a
// cluster. The query node process reports its growing segments' bytes in
// its component infos (quota_metrics.GrowingSegmentsSize); the quota
// center next to the root coordinator (mixcoord) reads them through
// GetComponentInfos and refuses the collection's inserts at the proxy
// once they pass the high water level (minRateRatio 0), with Milvus's
// memory quota error; after a flush seals them, inserts are admitted again.
func TestClusterGrowingSegmentsProtection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	total := float64(sysinfo.Hardware("", "").Memory) // the query node runs on this host
	if total == 0 {
		t.Skip("the host's memory is unknown")
	}
	const lowMB, highMB = 1, 3
	key := "--quotaAndLimits.limitWriting.growingSegmentsSizeProtection."
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1, args: []string{
		key + "enabled=true", key + "minRateRatio=0",
		key + fmt.Sprintf("lowWaterLevel=%g", lowMB<<20/total), key + fmt.Sprintf("highWaterLevel=%g", highMB<<20/total),
		"--quotaAndLimits.quotaCenterCollectInterval=0.2",
		"--quotaAndLimits.limitWriting.diskProtection.enabled=false",
	}}, "mixcoord", "streamingnode", "datanode", "querynode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name, vdim, batch = "growing", 128, 1024 // 0.5 MiB of vectors a batch
	if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, vdim).WithAutoID(false)); err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	insert := func() error {
		ids := make([]int64, batch)
		vecs := make([][]float32, batch)
		for i := range ids {
			ids[i] = next + int64(i)
			vecs[i] = make([]float32, vdim)
			vecs[i][i%vdim] = float32(i + 1)
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).WithFloatVectorColumn("vector", vdim, vecs))
		if err == nil {
			next += batch
		}
		return err
	}
	var err error
	for i := 0; i < 6*highMB*2 && err == nil; i++ {
		if err = insert(); err == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if err == nil {
		t.Fatalf("%d rows (%.1f MiB of vectors) admitted, high water level %d MB", next, float64(next)*vdim*4/(1<<20), highMB)
	}
	if merr.Code(err) != 9 {
		t.Fatalf("refused with code %d, want 9: %v", merr.Code(err), err)
	}
	if want := "quota exceeded[reason=memory quota exceeded, please allocate more resources"; !strings.Contains(err.Error(), want) {
		t.Fatalf("refused with %v, want %q", err, want)
	}
	t.Logf("refused after %d rows (%.1f MiB of vectors): %v", next, float64(next)*vdim*4/(1<<20), err)
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err = insert(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inserts still refused 90 s after the flush: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rs.GetColumn("count(*)").GetAsInt64(0); got != next {
		t.Fatalf("count(*) = %d, want %d", got, next)
	}
}
