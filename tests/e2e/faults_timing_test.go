package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/retention"
)

// loadTimingBound is how long a load of a small collection may take to
// reach 100%, and a first query after it to answer: generous for a loaded
// machine, far under the 30 s of the stalls it guards against.
const loadTimingBound = 8 * time.Second

func waitLoadedWithin(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp, err := cli.GetService().GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{CollectionName: name})
		must(t, merr.CheckRPCCall(resp, err))
		if resp.GetProgress() == 100 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: loading progress %d after %v", name, resp.GetProgress(), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countWithin(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, want int64, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	rs, err := cli.Query(qctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	d := time.Since(start)
	if err != nil {
		t.Fatalf("%s: strong count(*) after %v: %v", name, d, err)
	}
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != want {
		t.Fatalf("%s: count(*) = %d, want %d", name, c, want)
	}
	return d
}

// TestFaultsLoadTimingWithRetention runs the load scenarios of issue 11
// (a collection with no data, a partition dropped while loaded, idle
// channels) while the log's retention truncates every channel as soon as
// it may, as it does on a server that has run for a while.
func TestFaultsLoadTimingWithRetention(t *testing.T) {
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Retention = retention.Config{Interval: 100 * time.Millisecond, Window: 0}
	})
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4
	rounds := 12
	vecs := randomVectors(rand.New(rand.NewPCG(7, 7)), 50, dim)
	keys := make([]int64, len(vecs))
	for i := range keys {
		keys[i] = int64(i)
	}
	var worstLoad, worstQuery time.Duration
	note := func(l, q time.Duration) {
		worstLoad, worstQuery = max(worstLoad, l), max(worstQuery, q)
	}
	for round := range rounds {
		empty := fmt.Sprintf("timing_empty_%d", round)
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(empty, dim).WithAutoID(false)))
		l := waitLoadedWithin(t, ctx, cli, empty, loadTimingBound)
		note(l, countWithin(t, ctx, cli, empty, 0, loadTimingBound))
		// Idle for a few retention passes, then release and load again.
		time.Sleep(time.Duration(round%4) * 300 * time.Millisecond)
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(empty)))
		_, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(empty))
		must(t, err)
		l = waitLoadedWithin(t, ctx, cli, empty, loadTimingBound)
		note(l, countWithin(t, ctx, cli, empty, 0, loadTimingBound))

		name := fmt.Sprintf("timing_part_%d", round)
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)))
		must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p")))
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithPartition("p").
			WithInt64Column("id", keys).WithFloatVectorColumn("vector", dim, vecs))
		must(t, err)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
			WithInt64Column("id", []int64{1000}).WithFloatVectorColumn("vector", dim, vecs[:1]))
		must(t, err)
		if round%2 == 0 {
			flush(t, ctx, cli, name)
		}
		l = waitLoadedWithin(t, ctx, cli, name, loadTimingBound)
		note(l, countWithin(t, ctx, cli, name, int64(len(keys))+1, loadTimingBound))
		time.Sleep(time.Duration(round%3) * 400 * time.Millisecond)
		must(t, cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "p")))
		must(t, cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p")))
		l = waitLoadedWithin(t, ctx, cli, name, loadTimingBound)
		note(l, countWithin(t, ctx, cli, name, 1, loadTimingBound))
		must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		_, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		must(t, err)
		l = waitLoadedWithin(t, ctx, cli, name, loadTimingBound)
		note(l, countWithin(t, ctx, cli, name, 1, loadTimingBound))
		if round%2 == 1 {
			must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
			must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(empty)))
		}
	}
	t.Logf("%d rounds: slowest load %v, slowest first strong query %v", rounds, worstLoad, worstQuery)
}

// TestFaultsLoadTimingAfterRestart restarts a server holding loaded
// collections (empty, growing only, flushed, idle for a while) and checks
// each reports Loaded and answers a Strong count within the bound.
func TestFaultsLoadTimingAfterRestart(t *testing.T) {
	dir := t.TempDir()
	fast := func(c *app.StandaloneConfig) {
		c.Retention = retention.Config{Interval: 100 * time.Millisecond, Window: 0}
	}
	srv := startServerWith(t, dir, fast)
	cli := srv.client(t)
	ctx := testContext(t)
	const dim = 4
	vecs := randomVectors(rand.New(rand.NewPCG(8, 8)), 20, dim)
	keys := make([]int64, len(vecs))
	for i := range keys {
		keys[i] = int64(i)
	}
	want := map[string]int64{}
	for i := range 6 {
		name := fmt.Sprintf("restart_timing_%d", i)
		must(t, cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)))
		want[name] = 0
		if i%3 != 0 {
			_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", keys).WithFloatVectorColumn("vector", dim, vecs))
			must(t, err)
			want[name] = int64(len(keys))
		}
		if i%3 == 2 {
			flush(t, ctx, cli, name)
		}
		waitLoadedWithin(t, ctx, cli, name, loadTimingBound)
		countWithin(t, ctx, cli, name, want[name], loadTimingBound)
	}
	time.Sleep(2 * time.Second) // retention passes, idle channels
	for restart := range 3 {
		srv.stop()
		srv = startServerWith(t, dir, fast)
		cli = srv.client(t)
		var worstLoad, worstQuery time.Duration
		for name, n := range want {
			worstLoad = max(worstLoad, waitLoadedWithin(t, ctx, cli, name, loadTimingBound))
			worstQuery = max(worstQuery, countWithin(t, ctx, cli, name, n, loadTimingBound))
		}
		t.Logf("restart %d: slowest load %v, slowest first strong query %v", restart, worstLoad, worstQuery)
		time.Sleep(time.Duration(restart) * time.Second)
	}
}
