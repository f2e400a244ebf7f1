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

// loopContext is the whole-test context of the load-timing loops
// (TestFaultsLoadTimingWithRetention, TestFaultsLoadTimingAfterRestart,
// TestFaultsLoadProgress): 5 minutes, not testContext's 2. Each load and
// first query of theirs has its own bound (loadTimingBound, or the 15 s
// and 5 s of TestFaultsLoadProgress), which is what they check; the sum
// of their dozens of rounds measures the machine: in the cluster pass
// under full load they took 126-138 s (2026-12-06, TestFaultsLoadProgress
// failed on the 2-minute context with every step within its bound).
func loopContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

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
	ctx := loopContext(t)
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
	ctx := loopContext(t)
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

// TestFaultsLoadTimingConcurrent runs the load scenarios from several
// clients at once on shared channels (collections loading, inserting,
// releasing and dropping side by side), with retention truncating behind
// them: every load reaches 100% and every first Strong read answers
// within the bound.
func TestFaultsLoadTimingConcurrent(t *testing.T) {
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Retention = retention.Config{Interval: 100 * time.Millisecond, Window: 0}
	})
	// 6 workers x 6 rounds of DDL, loads and Strong counts: on a cluster
	// under CI's full load that took past testContext's 2 minutes (twice,
	// 2026-12-06; 55 s on a lighter load). Each step keeps its own bound
	// (loadTimingBound), which is what this test checks.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	const dim, workers = 4, 6
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	errc := make(chan error, workers)
	for w := range workers {
		cli := srv.client(t)
		go func() {
			errc <- func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("worker %d: %v", w, r)
					}
				}()
				ft := &fatalT{T: t}
				vecs := randomVectors(rand.New(rand.NewPCG(uint64(w), 9)), 30, dim)
				keys := make([]int64, len(vecs))
				for i := range keys {
					keys[i] = int64(i)
				}
				for round := range rounds {
					name := fmt.Sprintf("conc_timing_%d_%d", w, round)
					ft.must(cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)))
					ft.loaded(ctx, cli, name)
					ft.count(ctx, cli, name, 0)
					ft.must(cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p")))
					_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithPartition("p").
						WithInt64Column("id", keys).WithFloatVectorColumn("vector", dim, vecs))
					ft.must(err)
					ft.count(ctx, cli, name, int64(len(keys)))
					if (w+round)%2 == 0 {
						_, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
						ft.must(err)
					}
					ft.must(cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "p")))
					ft.must(cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p")))
					ft.loaded(ctx, cli, name)
					ft.count(ctx, cli, name, 0)
					ft.must(cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
					_, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
					ft.must(err)
					ft.loaded(ctx, cli, name)
					ft.count(ctx, cli, name, 0)
					if round%2 == 1 {
						ft.must(cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
					}
				}
				return nil
			}()
		}()
	}
	for range workers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// fatalT turns failures inside a worker goroutine into panics that the
// worker recovers and reports (t.Fatal must not be called off the test's
// goroutine).
type fatalT struct{ T *testing.T }

func (f *fatalT) must(err error) {
	if err != nil {
		panic(err)
	}
}

func (f *fatalT) loaded(ctx context.Context, cli *milvusclient.Client, name string) {
	start := time.Now()
	for {
		resp, err := cli.GetService().GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{CollectionName: name})
		f.must(merr.CheckRPCCall(resp, err))
		if resp.GetProgress() == 100 {
			return
		}
		if time.Since(start) > loadTimingBound {
			panic(fmt.Sprintf("%s: loading progress %d after %v", name, resp.GetProgress(), loadTimingBound))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fatalT) count(ctx context.Context, cli *milvusclient.Client, name string, want int64) {
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, loadTimingBound)
	defer cancel()
	rs, err := cli.Query(qctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		panic(fmt.Sprintf("%s: strong count(*) after %v: %v", name, time.Since(start), err))
	}
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != want {
		panic(fmt.Sprintf("%s: count(*) = %d, want %d", name, c, want))
	}
}
