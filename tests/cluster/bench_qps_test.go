//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestClusterQPSScaling measures search throughput with one, two and three
// query nodes, the collection loaded with as many replicas (the proxy
// spreads searches over the replicas). Opt-in:
//
//	MILVAGO_CLUSTER_QPS=1 go test ./tests/cluster/ -run TestClusterQPSScaling -v -timeout 30m
//
// MILVAGO_CLUSTER_BENCH_ROWS sets the flushed rows (default 20000),
// MILVAGO_CLUSTER_QPS_CLIENTS the concurrent searchers (default 8) and
// MILVAGO_CLUSTER_QPS_SECONDS each run's length (default 15).
func TestClusterQPSScaling(t *testing.T) {
	if os.Getenv("MILVAGO_CLUSTER_QPS") != "1" {
		t.Skip("opt-in: set MILVAGO_CLUSTER_QPS=1")
	}
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	nSealed := envInt(t, "MILVAGO_CLUSTER_BENCH_ROWS", 20000)
	clients := envInt(t, "MILVAGO_CLUSTER_QPS_CLIENTS", 8)
	seconds := envInt(t, "MILVAGO_CLUSTER_QPS_SECONDS", 15)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode", "indexnode", "querynode-1:querynode", "proxy")
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	sealed := benchVectors(1, nSealed)
	growing := benchVectors(2, 100)
	queries := benchVectors(3, 1000)
	loadBench(t, ctx, cli, sealed, growing)
	checkSelfHits(t, ctx, cli, sealed, growing)

	result := map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "rows": nSealed, "dim": benchDim,
		"clients": clients, "seconds": seconds, "loadavg_start": loadAvg()}
	for k := 1; k <= 3; k++ {
		if k > 1 {
			c.Add(t, fmt.Sprintf("querynode-%d:querynode", k)).WaitReady(t, 90*time.Second)
		}
		lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(benchCollection).WithReplica(k))
		if err != nil {
			t.Fatalf("load with %d replicas: %v", k, err)
		}
		if err := lt.Await(ctx); err != nil {
			t.Fatalf("load await: %v", err)
		}
		eventually(t, 120*time.Second, fmt.Sprintf("%d replicas serving", k), func() error {
			rs := describeReplicas(t, ctx, cli, benchCollection)
			if len(rs) != k {
				return fmt.Errorf("%d replicas", len(rs))
			}
			for _, r := range rs {
				for _, sh := range r.Shards {
					if sh.ShardLeader == 0 {
						return fmt.Errorf("replica %d has no leader for %s", r.ReplicaID, sh.ChannelName)
					}
				}
			}
			return nil
		})
		time.Sleep(4 * time.Second) // the proxy's leader cache (3 s) sees every replica
		ps := procs{"proxy": c.Roles["proxy"].Cmd.Process.Pid}
		for i := 1; i <= k; i++ {
			name := fmt.Sprintf("querynode-%d", i)
			ps[name] = c.Roles[name].Cmd.Process.Pid
		}
		seq := measureSearch(t, ctx, cli, ps, queries, nSealed+len(growing))
		conc := measureQPS(t, ctx, cli, ps, queries, clients, time.Duration(seconds)*time.Second)
		t.Logf("%d query nodes, %d replicas: sequential %+v; %d clients %+v (load %s)", k, k, seq, clients, conc, loadAvg())
		result[fmt.Sprintf("querynodes_%d", k)] = map[string]any{"sequential": seq, "concurrent": conc}
	}
	result["loadavg_end"] = loadAvg()
	b, _ := json.Marshal(result)
	t.Logf("BENCH_JSON %s", b)
}

// measureQPS runs clients concurrent searchers for d and returns the
// throughput, latencies and CPU per query of the processes in ps.
func measureQPS(t *testing.T, ctx context.Context, cli *milvusclient.Client, ps procs, queries [][]float32, clients int, d time.Duration) latency {
	t.Helper()
	var mu sync.Mutex
	var times []float64
	var failed int
	before := ps.snapshot(t)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := w; time.Since(start) < d; i += clients {
				s := time.Now()
				_, err := search(ctx, cli, queries[i%len(queries)])
				ms := float64(time.Since(s).Microseconds()) / 1000
				mu.Lock()
				if err != nil {
					failed++
				} else {
					times = append(times, ms)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	used := delta(before, ps.snapshot(t))
	if failed > 0 || len(times) == 0 {
		t.Fatalf("%d searches failed, %d succeeded", failed, len(times))
	}
	slices.Sort(times)
	var sum float64
	for _, x := range times {
		sum += x
	}
	l := latency{N: len(times), P50ms: round3(times[len(times)/2]), P99ms: round3(times[len(times)*99/100]),
		MeanMs: round3(sum / float64(len(times))), QPS: round3(float64(len(times)) / wall.Seconds()), CPUmsPerQ: map[string]float64{}}
	for k, v := range used {
		l.CPUmsPerQ[k] = round3(v * 1000 / float64(len(times)))
	}
	return l
}
