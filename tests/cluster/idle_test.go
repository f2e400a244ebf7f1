//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestIdleCPU measures the CPU each role process spends with nothing to
// do: mixcoord, streaming node, data node, query node, index node and
// proxy (and the storage servers, for reference), first with no
// collection, then with 20 loaded collections. Opt-in:
//
//	MILVAGO_IDLE_BENCH=1 go test ./tests/cluster/ -run TestIdleCPU -v -timeout 30m
//
// MILVAGO_IDLE_SECONDS sets each window (default 60), MILVAGO_IDLE_COLLECTIONS
// the loaded collections of the second window (default 20). Each window
// starts after 15 s of quiet. MILVAGO_IDLE_MQ=kafka runs the log on Kafka
// (a kfake process) instead of NATS. With MILVAGO_IDLE_PROFILE=DIR it then saves
// a 30 s CPU profile of each role (DIR/ROLE.pprof).
func TestIdleCPU(t *testing.T) {
	if os.Getenv("MILVAGO_IDLE_BENCH") != "1" {
		t.Skip("opt-in: set MILVAGO_IDLE_BENCH=1")
	}
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	profDir := os.Getenv("MILVAGO_IDLE_PROFILE")
	if profDir != "" {
		t.Setenv("MILVAGO_PPROF_ENABLED", "true") // milvago.pprof.enabled, every role
	}
	window := time.Duration(envInt(t, "MILVAGO_IDLE_SECONDS", 60)) * time.Second
	colls := envInt(t, "MILVAGO_IDLE_COLLECTIONS", 20)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	roles := []string{"mixcoord", "streamingnode", "datanode", "indexnode", "querynode", "proxy"}
	o := clusterOpts{logLevel: "info", storageNodes: 1}
	if os.Getenv("MILVAGO_IDLE_MQ") == "kafka" {
		o.kafkaBrokers = 1
	}
	c, ps := startClusterWith(t, o, roles...)
	for _, r := range roles {
		ps[r] = c.Roles[r].Cmd.Process.Pid
	}
	cli := connect(t, ctx, c.ProxyAddr("proxy"))

	measure := func(what string) map[string]float64 {
		time.Sleep(15 * time.Second)
		before := ps.snapshot(t)
		start := time.Now()
		time.Sleep(window)
		used := delta(before, ps.snapshot(t))
		secs := time.Since(start).Seconds()
		out := map[string]float64{}
		for _, k := range sortedKeys(used) {
			out[k] = round3(used[k] * 100 / secs)
			t.Logf("%s: %-14s %.2f%% of a core", what, k, out[k])
		}
		t.Logf("%s: load average %s", what, loadAvg())
		return out
	}
	res := map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "window_s": window.Seconds(), "loadavg_start": loadAvg()}
	res["collections_0"] = measure("0 collections")
	for i := range colls {
		loadSmall(t, ctx, cli, fmt.Sprintf("idle_%d", i))
	}
	res[fmt.Sprintf("collections_%d", colls)] = measure(fmt.Sprintf("%d collections", colls))
	res["loadavg_end"] = loadAvg()
	b, _ := json.Marshal(res)
	t.Logf("BENCH_JSON %s", b)
	if profDir != "" { // after the windows: profiling costs CPU itself
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, r := range roles {
			wg.Go(func() { saveProfile(t, c.Roles[r].MetricsPort, filepath.Join(profDir, r+".pprof"), 30) })
		}
		wg.Wait()
	}
}

// loadSmall creates a 4-d collection of 10 rows, indexes and loads it.
func loadSmall(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	ids := make([]int64, 10)
	vs := make([][]float32, 10)
	for i := range ids {
		ids[i], vs[i] = int64(i), []float32{float32(i), 1, 2, 3}
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithFloatVectorColumn("v", 4, vs)); err != nil {
		t.Fatalf("insert %s: %v", name, err)
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewAutoIndex(entity.L2)))
	if err != nil {
		t.Fatalf("index %s: %v", name, err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("index %s: %v", name, err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
}
