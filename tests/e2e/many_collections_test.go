package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestManyLoadedCollections loads more collections than the log broker
// allows consumers per stream (1,000 in NATS JetStream): the query node
// reads each physical channel once, whatever the number of shards. Every
// collection must report Loaded and answer a Strong count, before and
// after a restart. Opt-in (it takes minutes on 2 cores):
//
//	MILVAGO_E2E_MANY=1500 go test -run TestManyLoadedCollections -v -timeout 30m ./tests/e2e
func TestManyLoadedCollections(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_E2E_MANY"))
	if n <= 0 {
		t.Skip("set MILVAGO_E2E_MANY=<collections> (e.g. 1500)")
	}
	if clusterMode() {
		t.Skip("restarts an in-process standalone")
	}
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	createLoaded(t, ctx, cli, n) // 10 rows each, loaded
	t.Logf("%d collections created, filled and loaded in %v", n, time.Since(start).Round(time.Second))
	start = time.Now()
	checkCounts(t, ctx, cli, n, 10)
	t.Logf("%d Strong counts in %v", n, time.Since(start).Round(time.Second))

	srv.stop()
	start = time.Now()
	srv = startServerStarting(t, dir, nil, nil)
	// The API answers from the start, while the stores open and while the
	// collections are recovered: "service not ready" (code 1), not a
	// refused or hanging connection.
	raw := rawClient(t, srv)
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	resp, err := raw.Connect(cctx, &milvuspb.ConnectRequest{})
	ccancel()
	must(t, err)
	if c := resp.GetStatus().GetCode(); c != 1 || !strings.Contains(resp.GetStatus().GetReason(), "not ready") {
		t.Fatalf("Connect right after the restart: code %d %q, want 1 service not ready", c, resp.GetStatus().GetReason())
	}
	t.Logf("restarted: the API answered code %d (%q) after %v", resp.GetStatus().GetCode(), resp.GetStatus().GetReason(),
		time.Since(start).Round(time.Millisecond))
	srv.waitReady(t, 10*time.Minute)
	t.Logf("restarted: ready after %v", time.Since(start).Round(time.Millisecond))
	cli = srv.client(t)
	first := time.Now()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption("idle_0").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != 10 {
		t.Fatalf("idle_0: count %d after the restart, want 10", c)
	}
	t.Logf("restarted: the first query (a Strong count) took %v", time.Since(first).Round(time.Millisecond))
	first = time.Now()
	_, err = cli.Search(ctx, milvusclient.NewSearchOption(fmt.Sprintf("idle_%d", n-1), 3, []entity.Vector{entity.FloatVector{0.1, 0.2, 0.3, 0.4}}).
		WithConsistencyLevel(entity.ClStrong))
	must(t, err)
	t.Logf("restarted: the first search (Strong) took %v", time.Since(first).Round(time.Millisecond))
	waitLoaded(t, ctx, cli, n)
	t.Logf("restarted: %d collections Loaded again in %v", n, time.Since(start).Round(time.Second))
	start = time.Now()
	checkCounts(t, ctx, cli, n, 10)
	t.Logf("%d Strong counts after the restart in %v", n, time.Since(start).Round(time.Second))
}

// waitLoaded waits until idle_0 .. idle_{n-1} all report Loaded.
func waitLoaded(t *testing.T, ctx context.Context, cli *milvusclient.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("idle_%d", i)
		for {
			st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
			must(t, err)
			if st.State == entity.LoadStateLoaded {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is in load state %v (progress %d) after 10 minutes", name, st.State, st.Progress)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// checkCounts runs a Strong count(*) on idle_0 .. idle_{n-1}, 8 at a time,
// and checks each is want: a collection that says Loaded must serve.
func checkCounts(t *testing.T, ctx context.Context, cli *milvusclient.Client, n int, want int64) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	errc := make(chan error, n)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				name := fmt.Sprintf("idle_%d", i)
				qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				rs, err := cli.Query(qctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
				cancel()
				if err != nil {
					errc <- fmt.Errorf("count %s: %w", name, err)
					continue
				}
				if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != want {
					errc <- fmt.Errorf("count %s = %d, want %d", name, c, want)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}
