package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestBoundedReadAfterLoadOfIdleCollection loads a flushed collection whose
// channel then stays idle and reads it at Bounded and Eventually
// consistency: the reads must be served from the loaded state, not wait
// for a time tick that nothing will write.
func TestBoundedReadAfterLoadOfIdleCollection(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "idle", 4
	must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)))
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2, 3}).
		WithFloatVectorColumn("vector", dim, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}))
	must(t, err)
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
	flush(t, ctx, cli, name)
	load(t, ctx, cli, name)
	for _, level := range []entity.ConsistencyLevel{entity.ClBounded, entity.ClEventually} {
		qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		rs, err := cli.Query(qctx, milvusclient.NewQueryOption(name).WithFilter("id > 0").WithConsistencyLevel(level))
		cancel()
		if err != nil {
			t.Fatalf("%v read of an idle loaded collection: %v", level, err)
		}
		if rs.ResultCount != 3 {
			t.Fatalf("%v read: %d rows, want 3", level, rs.ResultCount)
		}
	}
}
