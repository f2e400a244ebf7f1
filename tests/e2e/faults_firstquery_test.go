package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/retention"
)

// firstQueryBound is how long a load may take to reach 100% and a first
// Strong query or search after it may take, on a shared, loaded machine:
// far under the 31 s (2+4+8+16 s of load retry backoff, plus a second) of
// the stalls issue 11 reports.
const firstQueryBound = 10 * time.Second

// TestStressFirstQuery runs, for a bounded time, cycles of the scenarios of
// issue 11 through the Go SDK: create a collection with a partition, insert
// (or not: some collections stay empty), flush (or not), create an index
// (before or after the insert; HNSW, IVF_FLAT, FLAT or AUTOINDEX), delete a
// row (or not), load,
// first Strong count(*) and search, release and drop the partition while
// the collection stays loaded, insert into the loaded collection, release,
// load again, drop. Two workers run cycles at once (Milvus's Go suite runs
// two tests at a time on one server) while a third loads and releases
// other collections, with compaction, GC and log retention running as fast
// as they may. Every load must reach 100% and every first query and search
// answer within firstQueryBound, and no load attempt may fail (the query
// node and coordinator log each failure; the test collects them, on a
// cluster from the roles' log files).
//
// MILVAGO_STRESS_SECONDS sets its duration (default 90 s, 25 s with -short).
func TestStressFirstQuery(t *testing.T) {
	dur := 90 * time.Second
	if testing.Short() {
		dur = 25 * time.Second
	}
	if v := os.Getenv("MILVAGO_STRESS_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("MILVAGO_STRESS_SECONDS: %v", err)
		}
		dur = time.Duration(n) * time.Second
	}
	configure := func(c *app.StandaloneConfig) {
		fastCompaction(c)
		c.Retention = retention.Config{Interval: 100 * time.Millisecond, Window: 0}
	}
	// The failed load attempts: the in-process server's log records, or
	// on a cluster the lines of its roles' log files (the query nodes'
	// and the query coordinator's) written during the test.
	var failures lineSource
	var srv *server
	if clusterMode() {
		srv = startServerWith(t, "", configure)
		failures = srv.cl.scanLogs(t, isLoadFailure)
	} else {
		h := newLoadFailureLog()
		srv = startServerLogged(t, "", configure, slog.New(h))
		failures = h
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur+3*time.Minute)
	defer cancel()
	deadline := time.Now().Add(dur)
	st := &stressStats{}

	const workers = 2
	errc := make(chan error, workers+1)
	for w := range workers {
		cli := srv.client(t)
		go func() {
			errc <- stressWorker(func(ft *stressT) {
				r := rand.New(rand.NewPCG(uint64(w), 11))
				for i := 0; time.Now().Before(deadline); i++ {
					firstQueryCycle(ctx, ft, cli, st, r, fmt.Sprintf("fq_%d_%d", w, i), i+w)
				}
			})
		}()
	}
	bg := srv.client(t)
	go func() {
		errc <- stressWorker(func(ft *stressT) {
			r := rand.New(rand.NewPCG(99, 11))
			for i := 0; time.Now().Before(deadline); i++ {
				otherLoadCycle(ctx, ft, bg, st, r, fmt.Sprintf("fq_other_%d", i))
			}
		})
	}()
	var errList []error
	for range workers + 1 {
		if err := <-errc; err != nil {
			errList = append(errList, err)
		}
	}
	st.report(t)
	lines := failures.lines()
	t.Logf("load attempt failures logged: %d", len(lines))
	for i, l := range lines {
		if i == 20 {
			t.Logf("... %d more", len(lines)-i)
			break
		}
		t.Log(l)
	}
	for _, err := range errList {
		t.Error(err)
	}
	if len(lines) > 0 {
		t.Errorf("%d load attempts failed (see above); none should", len(lines))
	}
}

// firstQueryCycle is one cycle of the scenarios of issue 11 on collection
// name; i picks the variant.
func firstQueryCycle(ctx context.Context, ft *stressT, cli *milvusclient.Client, st *stressStats, r *rand.Rand, name string, i int) {
	const dim = 8
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vector").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	ft.must(cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	ft.must(cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption(name, "p")))
	idx := []index.Index{index.NewHNSWIndex(entity.L2, 8, 32), index.NewIvfFlatIndex(entity.L2, 4),
		index.NewFlatIndex(entity.L2), index.NewAutoIndex(entity.L2)}[i%4]
	createIndex := func() {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vector", idx))
		ft.must(err)
		ft.must(it.Await(ctx))
	}
	indexFirst := i%3 == 0
	if indexFirst {
		createIndex()
	}
	var inPart, inDefault int64
	next := int64(0)
	insert := func(part string, n int) {
		keys := make([]int64, n)
		for j := range keys {
			keys[j] = next
			next++
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithPartition(part).
			WithInt64Column("id", keys).WithFloatVectorColumn("vector", dim, randomVectors(r, n, dim)))
		ft.must(err)
	}
	empty := i%4 == 1
	if !empty {
		inPart, inDefault = int64(20+r.IntN(200)), int64(1+r.IntN(100))
		insert("p", int(inPart))
		insert("_default", int(inDefault))
		if i%3 != 1 {
			// A delete: delete logs, applied by compactions and collected.
			_, err := cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithInt64IDs("id", []int64{inPart}))
			ft.must(err)
			inDefault--
		}
		if i%2 == 0 {
			ft.flush(ctx, cli, name)
		}
	}
	if !indexFirst {
		createIndex()
	}
	load := func(what string) {
		_, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		ft.must(err)
		st.add("load to 100% ("+what+")", ft.loaded(ctx, cli, name))
	}
	load("first")
	total := inPart + inDefault
	st.add("first Strong count(*)", ft.count(ctx, cli, name, total))
	st.add("first Strong search", ft.search(ctx, cli, name, dim, r))

	// Drop the partition while the collection stays loaded.
	ft.must(cli.ReleasePartitions(ctx, milvusclient.NewReleasePartitionsOptions(name, "p")))
	ft.must(cli.DropPartition(ctx, milvusclient.NewDropPartitionOption(name, "p")))
	st.add("progress to 100% after a partition drop", ft.loaded(ctx, cli, name))
	st.add("first Strong count(*) after a partition drop", ft.count(ctx, cli, name, inDefault))
	if i%2 == 1 {
		insert("_default", 10)
		inDefault += 10
		st.add("Strong count(*) after an insert into the loaded collection", ft.count(ctx, cli, name, inDefault))
	}
	ft.must(cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
	if i%3 != 2 {
		load("again")
		st.add("first Strong count(*) after a reload", ft.count(ctx, cli, name, inDefault))
		st.add("first Strong search after a reload", ft.search(ctx, cli, name, dim, r))
	}
	ft.must(cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
}

// otherLoadCycle loads and releases another collection (with flushed and
// growing rows) beside the cycles under test.
func otherLoadCycle(ctx context.Context, ft *stressT, cli *milvusclient.Client, st *stressStats, r *rand.Rand, name string) {
	const dim = 8
	ft.must(cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(true)))
	ft.loaded(ctx, cli, name)
	vecs := randomVectors(r, 300, dim)
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithFloatVectorColumn("vector", dim, vecs))
	ft.must(err)
	ft.flush(ctx, cli, name)
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithFloatVectorColumn("vector", dim, vecs[:50]))
	ft.must(err)
	for range 2 {
		ft.must(cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(name)))
		_, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		ft.must(err)
		st.add("other collections: load to 100%", ft.loaded(ctx, cli, name))
		st.add("other collections: first Strong count(*)", ft.count(ctx, cli, name, 350))
	}
	ft.must(cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)))
}

// stressT turns failures in a worker goroutine into a panic that
// stressWorker recovers and returns (t.Fatal must stay on the test's
// goroutine).
type stressT struct{}

func stressWorker(f func(ft *stressT)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f(&stressT{})
	return nil
}

func (*stressT) must(err error) {
	if err != nil {
		panic(err)
	}
}

func (ft *stressT) flush(ctx context.Context, cli *milvusclient.Client, name string) {
	task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	ft.must(err)
	ft.must(task.Await(ctx))
}

// loaded polls GetLoadingProgress until 100 and returns how long it took.
func (ft *stressT) loaded(ctx context.Context, cli *milvusclient.Client, name string) time.Duration {
	start := time.Now()
	for {
		resp, err := cli.GetService().GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{CollectionName: name})
		ft.must(merr.CheckRPCCall(resp, err))
		if resp.GetProgress() == 100 {
			return time.Since(start)
		}
		if d := time.Since(start); d > firstQueryBound {
			panic(fmt.Sprintf("%s: loading progress %d after %v", name, resp.GetProgress(), d))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count runs a Strong count(*) and returns how long it took.
func (ft *stressT) count(ctx context.Context, cli *milvusclient.Client, name string, want int64) time.Duration {
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, firstQueryBound)
	defer cancel()
	rs, err := cli.Query(qctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
	d := time.Since(start)
	if err != nil {
		panic(fmt.Sprintf("%s: Strong count(*) after %v: %v", name, d, err))
	}
	if c, _ := rs.GetColumn("count(*)").GetAsInt64(0); c != want {
		panic(fmt.Sprintf("%s: count(*) = %d, want %d", name, c, want))
	}
	return d
}

// search runs a Strong search and returns how long it took.
func (ft *stressT) search(ctx context.Context, cli *milvusclient.Client, name string, dim int, r *rand.Rand) time.Duration {
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, firstQueryBound)
	defer cancel()
	v := randomVectors(r, 1, dim)[0]
	_, err := cli.Search(qctx, milvusclient.NewSearchOption(name, 5, []entity.Vector{entity.FloatVector(v)}).
		WithConsistencyLevel(entity.ClStrong))
	d := time.Since(start)
	if err != nil {
		panic(fmt.Sprintf("%s: Strong search after %v: %v", name, d, err))
	}
	return d
}

// stressStats collects durations by what they measure.
type stressStats struct {
	mu    sync.Mutex
	order []string
	by    map[string][]time.Duration
}

func (s *stressStats) add(what string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string][]time.Duration{}
	}
	if _, ok := s.by[what]; !ok {
		s.order = append(s.order, what)
	}
	s.by[what] = append(s.by[what], d)
}

func (s *stressStats) report(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%-58s %6s %9s %9s %9s %9s", "measured", "n", "p50", "p90", "p99", "max")
	for _, what := range s.order {
		ds := slices.Clone(s.by[what])
		slices.Sort(ds)
		q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
		t.Logf("%-58s %6d %9v %9v %9v %9v", what, len(ds), q(0.5).Round(time.Millisecond), q(0.9).Round(time.Millisecond),
			q(0.99).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
}

// loadFailureLog is a slog handler keeping the query node's and query
// coordinator's reports of failed load attempts (Info and above).
type loadFailureLog struct {
	sink  *failureSink
	attrs []slog.Attr // from the logger's With
}

type failureSink struct {
	mu   sync.Mutex
	recs []string
}

func newLoadFailureLog() *loadFailureLog { return &loadFailureLog{sink: &failureSink{}} }

func (l *loadFailureLog) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo
}

func (l *loadFailureLog) Handle(_ context.Context, r slog.Record) error {
	if !isLoadFailure(r.Message) {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %q", r.Time.Format("15:04:05.000"), r.Level, r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range l.attrs {
		add(a)
	}
	r.Attrs(add)
	l.sink.mu.Lock()
	l.sink.recs = append(l.sink.recs, b.String())
	l.sink.mu.Unlock()
	return nil
}

func (l *loadFailureLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &loadFailureLog{sink: l.sink, attrs: append(slices.Clip(l.attrs), as...)}
}

func (l *loadFailureLog) WithGroup(string) slog.Handler { return l }

func (l *loadFailureLog) lines() []string {
	l.sink.mu.Lock()
	defer l.sink.mu.Unlock()
	return slices.Clone(l.sink.recs)
}

// isLoadFailure recognises the messages the query node and coordinator log
// for a failed load attempt (querynode/delegator.go, querycoord).
func isLoadFailure(msg string) bool {
	for _, m := range []string{"load shard, retrying", "cannot load shard", "reload shard, retrying",
		"subscribe to the shard's channel, retrying", "load on query node failed", "shard failed",
		"replan shard after a missing file"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
