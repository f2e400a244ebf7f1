package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/proxy"
)

// TestSearchRequerySealedBetweenPhases (issue 11): searches that requery
// their hits' fields while rows are upserted (or their keys inserted
// again, which Milvus allows: a key with several live rows) and their
// segments sealed (flushed) and handed off between the two phases answer
// each query with distinct primary keys, every hit with its fields.
func TestSearchRequerySealedBetweenPhases(t *testing.T) {
	standaloneOnly(t, "switches the in-process standalone's requery policy")
	for _, upsert := range []bool{true, false} {
		t.Run(map[bool]string{true: "upsert", false: "insert"}[upsert], func(t *testing.T) { requerySealedBetween(t, upsert) })
	}
}

func requerySealedBetween(t *testing.T, upsert bool) {
	srv := startServer(t, "")
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "requery_sealed_between"
	const keys = 300
	requeryEdgeCollection(t, ctx, cli, name, 2, nil)
	insertLine(t, ctx, cli, name, idRange(0, keys), 0)
	srv.standalone(t).SetRequeryPolicies(proxy.RequeryAlways, proxy.RequeryAlways)

	stop := make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		for round := 1; ; round++ {
			select {
			case <-stop:
				writer <- nil
				return
			default:
			}
			ids := idRange((round*37)%(keys-40), 40)
			vs, vecs := make([]int64, len(ids)), make([][]float32, len(ids))
			for i, id := range ids {
				vs[i], vecs[i] = int64(round), []float32{float32(id), 0, 0, 0}
			}
			opt := milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
				WithInt64Column("v", vs).WithFloatVectorColumn("vec", 4, vecs)
			var err error
			if upsert {
				_, err = cli.Upsert(ctx, opt)
			} else {
				_, err = cli.Insert(ctx, opt)
			}
			if err != nil {
				writer <- fmt.Errorf("upsert round %d: %w", round, err)
				return
			}
			if round%3 == 0 {
				if _, err := cli.Flush(ctx, milvusclient.NewFlushOption(name)); err != nil {
					writer <- fmt.Errorf("flush round %d: %w", round, err)
					return
				}
			}
		}
	}()
	req := &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1, Nq: 2,
		SearchInput:  &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, []float32{0, 0, 0, 0}, []float32{150, 0, 0, 0})},
		SearchParams: kvs("anns_field", "vec", "topk", "60"), OutputFields: []string{"v", "vec"},
		ConsistencyLevel: commonpb.ConsistencyLevel_Eventually}
	searches := 0
	var failure error
	for start := time.Now(); time.Since(start) < 5*time.Second && failure == nil; searches++ {
		res, err := raw.Search(ctx, req)
		if err = searchStatus(res, err); err != nil {
			failure = fmt.Errorf("search %d: %w", searches, err)
			break
		}
		r := res.GetResults()
		ids := r.GetIds().GetIntId().GetData()
		at := 0
		for q, k := range r.GetTopks() {
			seen := map[int64]bool{}
			for _, id := range ids[at : at+int(k)] {
				if seen[id] {
					failure = fmt.Errorf("search %d, query %d: primary key %d twice in %v", searches, q, id, ids[at:at+int(k)])
				}
				seen[id] = true
			}
			at += int(k)
		}
		for _, fd := range r.GetFieldsData() {
			if fd.GetFieldName() == "v" && len(fd.GetScalars().GetLongData().GetData()) != len(ids) {
				failure = fmt.Errorf("search %d: %d values of v for %d hits", searches, len(fd.GetScalars().GetLongData().GetData()), len(ids))
			}
		}
	}
	close(stop)
	must(t, <-writer)
	if failure != nil {
		t.Fatal(failure)
	}
	t.Logf("%d searches while rows were written and sealed", searches)
}
