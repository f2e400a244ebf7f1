//go:build linux

package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/failpoint"
)

// TestClusterFlushFailureAnswered is tests/e2e's TestFlushFailureAnswered
// across processes: the data node's delete log writes fail (the
// datanode.flush.deltaLog failpoint, 8 times); the data node reports the
// failing channel to the data coordinator (DataFaults.ChannelFailed), the
// proxy asks it (DataFaults.ChannelsFlushed), and the SDK's Flush+Await
// gets the cause (code 5) instead of waiting until it gives up. Once the
// retries get past the failures (DataFaults.ChannelRecovered), a Flush
// becomes durable and the deleted rows are gone.
func TestClusterFlushFailureAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1,
		env: map[string][]string{"datanode": {failpoint.EnvVar + "=datanode.flush.deltaLog=8*error(disk full)"}}},
		"mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name, n = "flushfails", 200
	flow(t, ctx, cli, name, n)
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", []int64{3, 5, 7, 8})); err != nil {
		t.Fatalf("delete: %v", err)
	}
	start := time.Now()
	task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	err = task.Await(ctx)
	t.Logf("Flush+Await answered after %v: %v", time.Since(start), err)
	if merr.Code(err) != 5 || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "keeps retrying") {
		t.Fatalf("Flush+Await while the delete logs fail: %v (code %d), want code 5 naming the cause", err, merr.Code(err))
	}
	eventually(t, time.Minute, "a durable flush after the failures", func() error {
		task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
		if err != nil {
			return err
		}
		return task.Await(ctx)
	})
	t.Logf("durable %v after the first Flush", time.Since(start))
	if got := count(t, ctx, cli, name, ""); got != n-4 {
		t.Fatalf("count(*) %d, want %d", got, n-4)
	}
}
