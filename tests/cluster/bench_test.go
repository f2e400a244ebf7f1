//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/testservers"
)

// The cluster benchmark is opt-in: it takes minutes and its numbers are
// only worth reading on a quiet machine.
//
//	MILVAGO_CLUSTER_BENCH=1 go test ./tests/cluster/ -run TestClusterBench -v -timeout 30m
//
// Sizes can be changed with MILVAGO_CLUSTER_BENCH_ROWS (flushed rows,
// default 20000), _GROWING (default 1000) and _SEARCHES (default 2000).
const (
	benchDim        = 128
	benchCollection = "bench"
	idleWindow      = 30 * time.Second
	lossTick        = 50 * time.Millisecond
	lossMaxWait     = 120 * time.Second
	searchTimeout   = 2 * time.Second
	clockTicks      = 100 // USER_HZ on Linux
)

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// cpuSeconds is utime+stime of a process from /proc/PID/stat.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; count fields after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %v, stime %v", pid, err1, err2)
	}
	return float64(ut+st) / clockTicks, nil
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// procs names the processes whose CPU is measured.
type procs map[string]int

func (p procs) snapshot(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, pid := range p {
		s, err := cpuSeconds(pid)
		if err != nil {
			t.Fatalf("cpu of %s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

func delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, a := range after {
		out[k] = a - before[k]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// startStandalone runs `milvago standalone` as its own process.
func startStandalone(t *testing.T) (*role, string) {
	t.Helper()
	dir := t.TempDir()
	port := testservers.FreePort(t)
	r := &role{Name: "standalone", Bin: binary(t), Dir: dir, MetricsPort: testservers.FreePort(t)}
	r.Args = []string{"standalone", "--data-dir", filepath.Join(dir, "data"), "--port", fmt.Sprint(port),
		"--metrics-port", fmt.Sprint(r.MetricsPort), "--log-level", "info"}
	r.Start(t)
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Logf("---- standalone log ----\n%s", tail(r.LogPath()))
		}
	})
	r.WaitReady(t, 90*time.Second)
	return r, fmt.Sprintf("127.0.0.1:%d", port)
}

func benchVectors(seed uint64, n int) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 17))
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, benchDim)
		for j := range v {
			v[j] = r.Float32()
		}
		out[i] = v
	}
	return out
}

func insertRows(ctx context.Context, cli *milvusclient.Client, from int, vecs [][]float32) error {
	const batch = 5000
	for lo := 0; lo < len(vecs); lo += batch {
		hi := min(lo+batch, len(vecs))
		ids := make([]int64, hi-lo)
		for i := range ids {
			ids[i] = int64(from + lo + i)
		}
		res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(benchCollection).
			WithInt64Column("id", ids).WithFloatVectorColumn("v", benchDim, vecs[lo:hi]))
		if err != nil {
			return fmt.Errorf("insert rows %d-%d: %w", from+lo, from+hi, err)
		}
		if res.InsertCount != int64(hi-lo) {
			return fmt.Errorf("insert rows %d-%d: %d inserted", from+lo, from+hi, res.InsertCount)
		}
	}
	return nil
}

// loadBench creates the collection, inserts and flushes the sealed rows,
// builds HNSW, loads, then inserts the growing rows. It returns how long
// each step took.
func loadBench(t *testing.T, ctx context.Context, cli *milvusclient.Client, sealed, growing [][]float32) map[string]float64 {
	t.Helper()
	took := map[string]float64{}
	step := func(name string, start time.Time) { took[name] = time.Since(start).Seconds() }
	schema := entity.NewSchema().WithName(benchCollection).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(benchDim))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(benchCollection, schema).WithShardNum(1)); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	start := time.Now()
	if err := insertRows(ctx, cli, 0, sealed); err != nil {
		t.Fatal(err)
	}
	step("insert_s", start)
	start = time.Now()
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(benchCollection))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("flush await: %v", err)
	}
	step("flush_s", start)
	start = time.Now()
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(benchCollection, "v", index.NewHNSWIndex(entity.L2, 16, 200)))
	if err != nil {
		t.Fatalf("create index: %v", err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("index await: %v", err)
	}
	step("index_s", start)
	start = time.Now()
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(benchCollection))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load await: %v", err)
	}
	step("load_s", start)
	if err := insertRows(ctx, cli, len(sealed), growing); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) until every row is visible.
	want := int64(len(sealed) + len(growing))
	var got int64
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(benchCollection).WithFilter("id >= 0").
			WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		if err == nil {
			if got, _ = rs.GetColumn("count(*)").GetAsInt64(0); got == want {
				return took
			}
		}
	}
	t.Fatalf("rows visible: %d, want %d", got, want)
	return nil
}

// checkSelfHits searches for stored vectors, sealed (HNSW: among the 10
// hits) and growing (brute force: the first hit), so both servers are
// known to serve the same data before they are timed.
func checkSelfHits(t *testing.T, ctx context.Context, cli *milvusclient.Client, sealed, growing [][]float32) {
	t.Helper()
	for _, id := range []int{0, len(sealed) / 2, len(sealed) - 1} {
		rs, err := search(ctx, cli, sealed[id])
		if err != nil {
			t.Fatalf("search sealed row %d: %v", id, err)
		}
		found := false
		for i := range rs[0].ResultCount {
			if got, _ := rs[0].IDs.GetAsInt64(i); got == int64(id) {
				found = true
			}
		}
		if !found {
			t.Fatalf("sealed row %d not among its own 10 nearest", id)
		}
	}
	for _, i := range []int{0, len(growing) - 1} {
		rs, err := search(ctx, cli, growing[i])
		if err != nil {
			t.Fatalf("search growing row %d: %v", i, err)
		}
		if got, _ := rs[0].IDs.GetAsInt64(0); got != int64(len(sealed)+i) || rs[0].Scores[0] != 0 {
			t.Fatalf("growing row %d: first hit %d (score %v)", len(sealed)+i, got, rs[0].Scores[0])
		}
	}
}

func search(ctx context.Context, cli *milvusclient.Client, q []float32) ([]milvusclient.ResultSet, error) {
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()
	return cli.Search(ctx, milvusclient.NewSearchOption(benchCollection, 10, []entity.Vector{entity.FloatVector(q)}).
		WithANNSField("v").WithAnnParam(index.NewHNSWAnnParam(64)))
}

// latency is the result of a sequential search run.
type latency struct {
	N         int                `json:"n"`
	P50ms     float64            `json:"p50_ms"`
	P99ms     float64            `json:"p99_ms"`
	MeanMs    float64            `json:"mean_ms"`
	QPS       float64            `json:"qps"`
	CPUmsPerQ map[string]float64 `json:"cpu_ms_per_query"`
}

// measureSearch runs n sequential nq=1 k=10 searches (after a warm-up)
// and the CPU every process in ps spent on them.
func measureSearch(t *testing.T, ctx context.Context, cli *milvusclient.Client, ps procs, queries [][]float32, wantIDs int) latency {
	t.Helper()
	for i := range 100 {
		if _, err := search(ctx, cli, queries[i%len(queries)]); err != nil {
			t.Fatalf("warm-up search: %v", err)
		}
	}
	times := make([]float64, len(queries))
	before := ps.snapshot(t)
	start := time.Now()
	for i, q := range queries {
		s := time.Now()
		rs, err := search(ctx, cli, q)
		times[i] = float64(time.Since(s).Microseconds()) / 1000
		if err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
		if len(rs) != 1 {
			t.Fatalf("search %d: %d result sets, want 1", i, len(rs))
		}
		if rs[0].ResultCount != 10 {
			t.Fatalf("search %d: %d hits, want 10", i, rs[0].ResultCount)
		}
		if id, _ := rs[0].IDs.GetAsInt64(0); id < 0 || id >= int64(wantIDs) {
			t.Fatalf("search %d: id %d out of range", i, id)
		}
	}
	wall := time.Since(start)
	used := delta(before, ps.snapshot(t))
	slices.Sort(times)
	var sum float64
	for _, x := range times {
		sum += x
	}
	l := latency{N: len(queries), P50ms: times[len(times)/2], P99ms: times[len(times)*99/100],
		MeanMs: sum / float64(len(times)), QPS: float64(len(queries)) / wall.Seconds(), CPUmsPerQ: map[string]float64{}}
	for k, v := range used {
		l.CPUmsPerQ[k] = round3(v * 1000 / float64(len(queries)))
	}
	l.P50ms, l.P99ms, l.MeanMs, l.QPS = round3(l.P50ms), round3(l.P99ms), round3(l.MeanMs), round3(l.QPS)
	return l
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// loss is what a search loop saw around the loss of a query node.
type loss struct {
	RecoverySec  float64 `json:"recovery_s"`
	FailedBefore int     `json:"failed_until_recovery"`
	FailedAfter  int     `json:"failed_after_recovery"`
	Searches     int     `json:"searches"`
	Recovered    bool    `json:"recovered"`
	FirstError   string  `json:"first_error,omitempty"`
}

// nodeLoss runs a search every 50 ms, calls kill (which SIGKILLs a query
// node and may start a replacement), and measures the time from the kill
// to the first search that succeeds, and the searches that failed in
// between. The loop stops 3 s after recovery or after lossMaxWait.
func nodeLoss(t *testing.T, ctx context.Context, cli *milvusclient.Client, q []float32, kill func()) loss {
	t.Helper()
	if _, err := search(ctx, cli, q); err != nil {
		t.Fatalf("search before the kill: %v", err)
	}
	var (
		mu       sync.Mutex
		killedAt time.Time
		out      loss
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(lossTick)
		defer tick.Stop()
		var recoveredAt time.Time
		for n := 0; n < int((lossMaxWait+10*time.Second)/lossTick); n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			s := time.Now()
			_, err := search(ctx, cli, q)
			mu.Lock()
			k := killedAt
			mu.Unlock()
			if k.IsZero() || s.Before(k) {
				continue // before the kill
			}
			out.Searches++
			switch {
			case err != nil && !out.Recovered:
				out.FailedBefore++
				if out.FirstError == "" {
					out.FirstError = err.Error()
				}
			case err != nil:
				out.FailedAfter++
			case !out.Recovered:
				out.Recovered = true
				recoveredAt = time.Now()
				out.RecoverySec = round3(recoveredAt.Sub(k).Seconds())
			}
			if out.Recovered && time.Since(recoveredAt) > 3*time.Second {
				return
			}
			if time.Since(k) > lossMaxWait {
				return
			}
		}
	}()
	time.Sleep(time.Second)
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	kill()
	select {
	case <-done:
	case <-time.After(lossMaxWait + 30*time.Second):
		close(stop)
		<-done
	}
	if len(out.FirstError) > 200 {
		out.FirstError = out.FirstError[:200]
	}
	return out
}

// TestClusterBench measures cluster mode against a standalone process on
// the same data: search latency and CPU per query, idle CPU of every
// process, and the time to recover from the loss of a query node. It
// prints its results with t.Logf and as one JSON line ("BENCH_JSON ...").
func TestClusterBench(t *testing.T) {
	if os.Getenv("MILVAGO_CLUSTER_BENCH") != "1" {
		t.Skip("opt-in: set MILVAGO_CLUSTER_BENCH=1")
	}
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	nSealed := envInt(t, "MILVAGO_CLUSTER_BENCH_ROWS", 20000)
	nGrowing := envInt(t, "MILVAGO_CLUSTER_BENCH_GROWING", 1000)
	nSearch := envInt(t, "MILVAGO_CLUSTER_BENCH_SEARCHES", 2000)
	result := map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "rows": nSealed, "growing": nGrowing,
		"dim": benchDim, "index": "HNSW M=16 efConstruction=200, search ef=64, nq=1 k=10, Bounded consistency",
		"loadavg_start": loadAvg()}
	t.Logf("load average at start: %s", loadAvg())

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	sealed := benchVectors(1, nSealed)
	growing := benchVectors(2, nGrowing)
	queries := benchVectors(3, nSearch)

	// Log level info: the tests' debug logging costs CPU that would be measured.
	c, storage := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1}, "mixcoord", "streamingnode", "datanode", "indexnode", "querynode-1:querynode", "proxy")
	clusterProcs := procs{}
	for k, v := range storage {
		clusterProcs[k] = v
	}
	for _, name := range c.Order {
		clusterProcs[name] = c.Roles[name].Cmd.Process.Pid
	}
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	took := loadBench(t, ctx, cli, sealed, growing)
	t.Logf("cluster load: %v", took)
	result["cluster_load"] = took

	sa, saAddr := startStandalone(t)
	saProcs := procs{"standalone": sa.Cmd.Process.Pid}
	saCli := connect(t, ctx, saAddr)
	took = loadBench(t, ctx, saCli, sealed, growing)
	t.Logf("standalone load: %v", took)
	result["standalone_load"] = took

	// 1. Search latency, cluster then standalone then cluster again (the
	// machine is shared: two cluster runs show the drift).
	checkSelfHits(t, ctx, cli, sealed, growing)
	checkSelfHits(t, ctx, saCli, sealed, growing)
	total := nSealed + nGrowing
	lc := measureSearch(t, ctx, cli, clusterProcs, queries, total)
	t.Logf("cluster search: %+v (load %s)", lc, loadAvg())
	ls := measureSearch(t, ctx, saCli, saProcs, queries, total)
	t.Logf("standalone search: %+v (load %s)", ls, loadAvg())
	lc2 := measureSearch(t, ctx, cli, clusterProcs, queries, total)
	t.Logf("cluster search, again: %+v (load %s)", lc2, loadAvg())
	result["search_cluster"] = []latency{lc, lc2}
	result["search_standalone"] = ls

	// 2. Idle CPU over idleWindow, every process at once.
	all := procs{}
	for k, v := range clusterProcs {
		all[k] = v
	}
	all["standalone"] = sa.Cmd.Process.Pid
	before := all.snapshot(t)
	start := time.Now()
	time.Sleep(idleWindow)
	idle := delta(before, all.snapshot(t))
	secs := time.Since(start).Seconds()
	idlePct := map[string]float64{}
	var clusterIdle float64
	for _, k := range sortedKeys(idle) {
		idlePct[k] = round3(idle[k] / secs * 100)
		if k != "standalone" {
			clusterIdle += idlePct[k]
		}
		t.Logf("idle CPU %-14s %6.2f%% of one core", k, idlePct[k])
	}
	t.Logf("idle CPU, cluster total %.2f%% (load %s)", clusterIdle, loadAvg())
	result["idle_cpu_pct"] = idlePct
	result["idle_cpu_pct_cluster_total"] = round3(clusterIdle)

	// The standalone is not needed any more; it would only add load.
	sa.Stop()

	// 3a. One query node: SIGKILL it and start a replacement at once.
	one := nodeLoss(t, ctx, cli, queries[0], func() {
		c.Roles["querynode-1"].Kill()
		c.Add(t, "querynode-2:querynode")
	})
	t.Logf("loss of the only query node, replacement started at once: %+v", one)
	result["loss_one_querynode"] = one
	if !one.Recovered {
		t.Errorf("no search succeeded within %v of the kill", lossMaxWait)
	}

	// 3b. Two query nodes: start a standby, let it settle, and kill the
	// serving one (querynode-2) with no replacement.
	c.Add(t, "querynode-3:querynode").WaitReady(t, 90*time.Second)
	time.Sleep(5 * time.Second)
	two := nodeLoss(t, ctx, cli, queries[0], func() { c.Roles["querynode-2"].Kill() })
	t.Logf("loss of the serving query node with a standby running: %+v", two)
	result["loss_two_querynodes"] = two
	if !two.Recovered {
		t.Errorf("no search succeeded within %v of the kill", lossMaxWait)
	}

	result["loadavg_end"] = loadAvg()
	b, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BENCH_JSON %s", b)
}
