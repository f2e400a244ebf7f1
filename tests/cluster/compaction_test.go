//go:build linux

package cluster

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestClusterCompaction deletes 90% of a collection with the coordinators
// in separate processes: the data coordinator counts the deletes and plans
// the compaction, the data node executes it (DataNode.Compact), the index
// coordinator builds the new segment's index, and the query coordinator
// hands it to the query node in place of its sources. Every read sees
// exactly the live rows, row_count is exact, and a manual compaction
// reports through GetCompactionState.
func TestClusterCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "rootcoord", "datacoord", "indexcoord", "querycoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const n = 2000
	vecs := flow(t, ctx, cli, "compact", n)
	var gone []int64
	for id := range n {
		if id%10 != 0 {
			gone = append(gone, int64(id))
		}
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption("compact").WithInt64IDs("id", gone)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	live := int64(n - len(gone))
	id, err := cli.Compact(ctx, milvusclient.NewCompactOption("compact"))
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := cli.GetCompactionState(ctx, milvusclient.NewGetCompactionStateOption(id))
		if err != nil {
			t.Fatalf("compaction state: %v", err)
		}
		// A trigger may have compacted first: the manual job then has
		// nothing to do (-1, Completed).
		if st == entity.CompactionStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compaction %d still %v", id, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The compacted segments replace their sources once indexed; the
	// segments serving hold exactly the live rows, and so does row_count.
	deadline = time.Now().Add(2 * time.Minute)
	for {
		segs, err := cli.GetPersistentSegmentInfo(ctx, milvusclient.NewGetPersistentSegmentInfoOption("compact"))
		if err != nil {
			t.Fatalf("segments: %v", err)
		}
		var rows int64
		for _, s := range segs {
			rows += s.NumRows
		}
		stats, err := cli.GetCollectionStats(ctx, milvusclient.NewGetCollectionStatsOption("compact"))
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		rc, _ := strconv.ParseInt(stats["row_count"], 10, 64)
		if got := count(t, ctx, cli, "compact", ""); got != live {
			t.Fatalf("count(*) %d, want %d", got, live)
		}
		if rows == live && rc == live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("segments hold %d rows, row_count %d, want %d", rows, rc, live)
		}
		time.Sleep(500 * time.Millisecond)
	}
	checkSearch(t, ctx, cli, "compact", vecs, 0, 10, 1990)
	if got := count(t, ctx, cli, "compact", "id < 100"); got != 10 {
		t.Fatalf("count id < 100: %d, want 10", got)
	}
}
