package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/milvago/milvago/internal/proxy"
)

// TestRequeryCost measures a search with a 768-d vector output field on
// two shards, in one phase and with the requery, interleaved: wall time,
// bytes allocated and the peak of live heap above the idle level of the
// standalone process (proxy and query node in one). Opt-in (it inserts
// 20,000 768-d rows):
//
//	MILVAGO_E2E_REQUERY_BENCH=1 go test -run TestRequeryCost -v -timeout 20m ./tests/e2e
func TestRequeryCost(t *testing.T) {
	if os.Getenv("MILVAGO_E2E_REQUERY_BENCH") == "" {
		t.Skip("set MILVAGO_E2E_REQUERY_BENCH=1")
	}
	if clusterMode() {
		t.Skip("measures the in-process standalone")
	}
	const name, dim, rows = "requery_cost", 768, 20000
	srv := startServer(t, "")
	cli := srv.client(t)
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	raw := milvuspb.NewMilvusServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	r := rand.New(rand.NewPCG(7, 7))
	for from := 0; from < rows; from += 2000 {
		ids, tags := make([]int64, 2000), make([]string, 2000)
		for i := range ids {
			ids[i], tags[i] = int64(from+i), fmt.Sprint("tag-", from+i)
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, randomVectors(r, 2000, dim)))
		must(t, err)
	}
	flush(t, ctx, cli, name)
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2)))
	must(t, err)
	must(t, it.Await(ctx))
	load(t, ctx, cli, name)

	for _, shape := range []struct{ nq, topk int }{{100, 100}, {10, 1000}} {
		req := &milvuspb.SearchRequest{CollectionName: name, DslType: commonpb.DslType_BoolExprV1, Nq: int64(shape.nq),
			SearchInput:      &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: floatPlaceholder(t, randomVectors(r, shape.nq, dim)...)},
			SearchParams:     kvs("anns_field", "v", "topk", fmt.Sprint(shape.topk)),
			ConsistencyLevel: commonpb.ConsistencyLevel_Eventually, OutputFields: []string{"v", "tag"}}
		type cost struct {
			wall        time.Duration
			alloc, peak uint64
		}
		run := func(p proxy.RequeryPolicy) cost {
			srv.standalone(t).SetRequeryPolicies(p, p)
			runtime.GC()
			idle, allocs := heapLive(), allocated()
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					peak.Store(max(peak.Load(), heapLive()))
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			start := time.Now()
			res, err := raw.Search(ctx, req)
			if err == nil {
				err = merr.Error(res.GetStatus())
			}
			wall := time.Since(start)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatalf("%s nq=%d topk=%d: %v", p, shape.nq, shape.topk, err)
			}
			if got := len(res.GetResults().GetScores()); got != shape.nq*shape.topk {
				t.Fatalf("%s: %d hits, want %d", p, got, shape.nq*shape.topk)
			}
			return cost{wall: wall, alloc: allocated() - allocs, peak: peak.Load() - min(idle, peak.Load())}
		}
		var sum [2]cost
		policies := [2]proxy.RequeryPolicy{proxy.RequeryNever, proxy.RequeryAlways}
		const rounds = 5
		run(proxy.RequeryNever) // warm up
		for range rounds {
			for i, p := range policies {
				c := run(p)
				sum[i].wall += c.wall
				sum[i].alloc += c.alloc
				sum[i].peak = max(sum[i].peak, c.peak)
			}
		}
		for i, p := range policies {
			t.Logf("nq=%d topk=%d dim=%d 2 shards, %-6s: %v per search, %.1f MiB allocated per search, peak live heap +%.1f MiB",
				shape.nq, shape.topk, dim, p, (sum[i].wall / rounds).Round(time.Millisecond),
				float64(sum[i].alloc)/rounds/(1<<20), float64(sum[i].peak)/(1<<20))
		}
	}
}

// heapLive is the bytes of heap objects, live or not yet swept.
func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// allocated is the bytes allocated on the heap since the process started.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
