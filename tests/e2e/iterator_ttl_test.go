package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// TestQueryIteratorTTLPerPage (issue 11): a query iterator's pages read at
// the first page's timestamp (session_ts sent back as
// guarantee_timestamp), but evaluate the collection TTL at their own time,
// as Milvus 2.6 does (its query task pins the MVCC timestamp of an
// iterator page to the request's guarantee timestamp and takes its TTL
// timestamp from the page's own). Rows that expire during the iteration
// leave its later pages on every shard; rows inserted after its first page
// stay out.
func TestQueryIteratorTTLPerPage(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "iterator_ttl_per_page"
	const ttl = 4 * time.Second
	requeryEdgeCollection(t, ctx, cli, name, 2, map[string]string{"collection.ttl.seconds": "4"})
	t0 := time.Now()
	insertLine(t, ctx, cli, name, idRange(0, 50), 1) // old: expire at t0+4s
	time.Sleep(2 * time.Second)
	t1 := time.Now()
	insertLine(t, ctx, cli, name, idRange(50, 50), 2) // young: expire at t1+4s
	page := func(ts uint64) ([]int64, uint64) {
		t.Helper()
		resp, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id >= 0", OutputFields: []string{"id"},
			QueryParams: kvs("iterator", "True", "limit", "1000"), GuaranteeTimestamp: ts, ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
		if err != nil || resp.GetStatus().GetCode() != 0 {
			t.Fatalf("iterator page: %v %v", err, resp.GetStatus())
		}
		var ids []int64
		for _, fd := range resp.GetFieldsData() {
			if fd.GetFieldName() == "id" {
				ids = fd.GetScalars().GetLongData().GetData()
			}
		}
		slices.Sort(ids)
		return ids, resp.GetSessionTs()
	}
	first, session := page(0)
	if time.Since(t0) >= ttl {
		t.Skipf("the first page came %v after the first insert, past the TTL: the machine is too slow for this test", time.Since(t0))
	}
	if !slices.Equal(first, idRange(0, 100)) || session == 0 {
		t.Fatalf("first page: %d rows (session_ts %d), want ids 0..99", len(first), session)
	}
	insertLine(t, ctx, cli, name, idRange(100, 50), 3) // after the first page: never seen by the iteration
	sleepUntil(ctx, t0.Add(ttl+500*time.Millisecond))
	later, _ := page(session)
	if time.Since(t1) >= ttl {
		t.Skipf("the later page came %v after the second insert, past the TTL: the machine is too slow for this test", time.Since(t1))
	}
	if !slices.Equal(later, idRange(50, 50)) {
		t.Fatalf("a later page after the first rows expired: ids %v, want 50..99 (rows expired meanwhile out, rows inserted after the first page out)", later)
	}
}

func sleepUntil(ctx context.Context, at time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(at)):
	}
}
