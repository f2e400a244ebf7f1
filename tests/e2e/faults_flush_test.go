package e2e

import (
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/failpoint"
)

// TestFlushFailureAnswered: the data node's delete log writes fail (the
// datanode.flush.deltaLog failpoint, 8 times) after rows were deleted
// from a collection with everything flushed. The SDK's Flush+Await gets
// the cause as an error status (code 5, the failpoint's text) within
// seconds instead of polling GetFlushState until it gives up; once the
// data node's retries get past the failures, GetFlushState answers
// flushed and the deletes are in a delete log. tests/cluster's
// TestClusterFlushFailureAnswered is the same across processes.
func TestFlushFailureAnswered(t *testing.T) {
	standaloneOnly(t, "arms a failpoint of the in-process server; tests/cluster arms the cluster's data node")
	t.Setenv(failpoint.EnvVar, "datanode.flush.deltaLog=8*error(disk full)")
	srv := startServerWith(t, "", func(cfg *app.StandaloneConfig) { cfg.Data.Compaction.Auto = false })
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	const name, dim, n = "flushfails", 8, 200
	coll := createFlushed(t, ctx, cli, name, dim, n)
	gone := []int64{3, 5, 7}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", gone)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	start := time.Now()
	task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	err = task.Await(ctx)
	t.Logf("Flush+Await answered after %v: %v", time.Since(start), err)
	wantCode(t, err, 5, "disk full", "keeps retrying")

	// The retries get past the 8 failures: the same flush becomes durable.
	fr, err := raw.Flush(ctx, &milvuspb.FlushRequest{CollectionNames: []string{name}})
	if err = statusErr(fr.GetStatus(), err); err != nil {
		t.Fatalf("flush again: %v", err)
	}
	req := &milvuspb.GetFlushStateRequest{CollectionName: name, SegmentIDs: fr.GetCollSegIDs()[name].GetData(), FlushTs: fr.GetCollFlushTs()[name]}
	for {
		st, err := raw.GetFlushState(ctx, req)
		err = statusErr(st.GetStatus(), err)
		if err == nil && st.GetFlushed() {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("flush never durable after the failures stopped: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("durable %v after the first Flush", time.Since(start))
	got := deletedInDeltaLogs(t, srv.objectsDir(), coll)
	for _, id := range gone {
		if !got[id] {
			t.Fatalf("flushed, but key %d is in no delete log (%v)", id, got)
		}
	}
}
