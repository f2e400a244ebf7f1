//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestHopLatency measures what the network hop of cluster mode adds to a
// search: the same data in `milvago standalone` and in a cluster with one
// proxy and one query node (each role its own process), nq=1 k=10 HNSW
// searches from one sequential client, measured in alternating rounds
// (cluster, standalone, cluster, ...) so that both see the same machine
// load. Opt-in:
//
//	MILVAGO_HOP_BENCH=1 go test ./tests/cluster/ -run TestHopLatency -v -timeout 30m
//
// MILVAGO_HOP_ROWS sets the flushed rows (default 5000), MILVAGO_HOP_ROUNDS
// the rounds (default 6) and MILVAGO_HOP_SEARCHES the searches per round
// and server (default 500). With MILVAGO_HOP_PROFILE=DIR it also saves a
// 10 s CPU profile of the proxy and of the query node taken under the same
// load (DIR/proxy.pprof, DIR/querynode.pprof). Besides latencies it
// reports the CPU per search of the proxy, the query node and the
// standalone process, and their read and write system calls per search.
func TestHopLatency(t *testing.T) {
	if os.Getenv("MILVAGO_HOP_BENCH") != "1" {
		t.Skip("opt-in: set MILVAGO_HOP_BENCH=1")
	}
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	rows := envInt(t, "MILVAGO_HOP_ROWS", 5000)
	rounds := envInt(t, "MILVAGO_HOP_ROUNDS", 6)
	perRound := envInt(t, "MILVAGO_HOP_SEARCHES", 500)
	profDir := os.Getenv("MILVAGO_HOP_PROFILE")
	if profDir != "" {
		t.Setenv("MILVAGO_PPROF_ENABLED", "true") // milvago.pprof.enabled, every role
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode", "indexnode", "querynode", "proxy")
	sa, saddr := startStandalone(t)
	ccli := connect(t, ctx, c.ProxyAddr("proxy"))
	scli := connect(t, ctx, saddr)
	sealed, growing, queries := benchVectors(1, rows), benchVectors(2, 100), benchVectors(3, perRound)
	for _, cli := range []*milvusclient.Client{ccli, scli} {
		loadBench(t, ctx, cli, sealed, growing)
		checkSelfHits(t, ctx, cli, sealed, growing)
		for i := range 200 { // warm-up: connections, caches, pages
			if _, err := search(ctx, cli, queries[i%len(queries)]); err != nil {
				t.Fatalf("warm-up search: %v", err)
			}
		}
	}
	time.Sleep(4 * time.Second) // the proxy's shard-leader cache is warm

	ps := procs{"proxy": c.Roles["proxy"].Cmd.Process.Pid, "querynode": c.Roles["querynode"].Cmd.Process.Pid}
	sps := procs{"standalone": sa.Cmd.Process.Pid}
	var cl, st []float64
	var diffs []float64
	var cpu = map[string]float64{}
	sys := map[string]float64{} // read and write system calls, a count the machine's load does not inflate
	for r := range rounds {
		before, sysBefore := ps.snapshot(t), ps.syscalls(t)
		a := timeSearches(t, ctx, ccli, queries)
		for k, v := range delta(before, ps.snapshot(t)) {
			cpu[k] += v
		}
		for k, v := range delta(sysBefore, ps.syscalls(t)) {
			sys[k] += v
		}
		before, sysBefore = sps.snapshot(t), sps.syscalls(t)
		b := timeSearches(t, ctx, scli, queries)
		for k, v := range delta(before, sps.snapshot(t)) {
			cpu[k] += v
		}
		for k, v := range delta(sysBefore, sps.syscalls(t)) {
			sys[k] += v
		}
		cl, st = append(cl, a...), append(st, b...)
		d := pct(a, 50) - pct(b, 50)
		diffs = append(diffs, d)
		t.Logf("round %d: cluster p50 %.3f p99 %.3f ms; standalone p50 %.3f p99 %.3f ms; extra p50 %.3f ms (load %s)",
			r+1, pct(a, 50), pct(a, 99), pct(b, 50), pct(b, 99), d, loadAvg())
	}
	n := float64(len(cl))
	res := map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "rows": rows, "dim": benchDim, "rounds": rounds, "searches_per_round": perRound,
		"cluster_p50_ms": round3(pct(cl, 50)), "cluster_p99_ms": round3(pct(cl, 99)),
		"standalone_p50_ms": round3(pct(st, 50)), "standalone_p99_ms": round3(pct(st, 99)),
		"extra_p50_ms": round3(pct(cl, 50) - pct(st, 50)), "extra_p99_ms": round3(pct(cl, 99) - pct(st, 99)),
		"median_round_extra_p50_ms": round3(pct(diffs, 50)),
		"cpu_ms_per_search": map[string]float64{"proxy": round3(cpu["proxy"] * 1000 / n), "querynode": round3(cpu["querynode"] * 1000 / n),
			"standalone": round3(cpu["standalone"] * 1000 / n)},
		// What the hop costs in CPU: the two processes' against the one.
		"cpu_ms_per_search_extra": round3((cpu["proxy"] + cpu["querynode"] - cpu["standalone"]) * 1000 / n),
		"syscalls_per_search": map[string]float64{"proxy": round3(sys["proxy"] / n), "querynode": round3(sys["querynode"] / n),
			"standalone": round3(sys["standalone"] / n)},
		"loadavg_end": loadAvg(),
	}
	b, _ := json.Marshal(res)
	t.Logf("BENCH_JSON %s", b)

	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := search(ctx, ccli, queries[i%len(queries)]); err != nil {
					t.Errorf("search while profiling: %v", err)
					return
				}
			}
		})
		var pw sync.WaitGroup
		for _, name := range []string{"proxy", "querynode"} {
			pw.Go(func() { saveProfile(t, c.Roles[name].MetricsPort, filepath.Join(profDir, name+".pprof"), 10) })
		}
		pw.Wait()
		close(stop)
		wg.Wait()
	}
}

// timeSearches runs the queries one after the other and returns each
// one's latency in milliseconds.
func timeSearches(t *testing.T, ctx context.Context, cli *milvusclient.Client, queries [][]float32) []float64 {
	t.Helper()
	out := make([]float64, len(queries))
	for i, q := range queries {
		s := time.Now()
		rs, err := search(ctx, cli, q)
		out[i] = float64(time.Since(s).Nanoseconds()) / 1e6
		if err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
		if len(rs) != 1 || rs[0].ResultCount != 10 {
			t.Fatalf("search %d: %d result sets", i, len(rs))
		}
	}
	return out
}

// pct is the p-th percentile of xs (sorted in place).
func pct(xs []float64, p int) float64 {
	slices.Sort(xs)
	return xs[min(len(xs)-1, len(xs)*p/100)]
}

// saveProfile fetches a CPU profile of secs seconds from a role's metrics port.
func saveProfile(t *testing.T, port int, path string, secs int) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, secs))
	if err != nil {
		t.Errorf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("profile %s: %s", path, resp.Status)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Error(err)
	}
	t.Logf("saved %s", path)
}

// syscalls returns each process's read and write system calls so far
// (syscr + syscw of /proc/PID/io).
func (p procs) syscalls(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, pid := range p {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
		if err != nil {
			t.Fatalf("io of %s: %v", name, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ": ")
			if k == "syscr" || k == "syscw" {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				out[name] += n
			}
		}
	}
	return out
}
