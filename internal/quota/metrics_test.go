package quota

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/sysinfo"
)

// TestQuotaMetricsSample: the center keeps its last sample as Milvus's
// QuotaCenterMetrics: each proxy, query node and data node with its
// hardware metrics and the collections it holds (where they live when the
// center read that, else what the node reports), the binlog bytes of the
// cluster, each collection and partition, and the verdict it decided.
func TestQuotaMetricsSample(t *testing.T) {
	hw := func(used uint64) sysinfo.HardwareMetrics {
		return sysinfo.HardwareMetrics{IP: "10.0.0.1", CPUCoreCount: 4, Memory: 100, MemoryUsage: used}
	}
	nodes := &fakeNodes{nodes: []NodeMemory{
		{Role: RoleProxy, ID: 5, Used: 50, Total: 100, Hardware: hw(50)},
		{Role: RoleQueryNode, ID: 1, Used: 96, Total: 100, Growing: 3, Hardware: hw(96), Collections: []int64{9}},
		{Role: RoleDataNode, ID: 2, Used: 10, Total: 100, Hardware: hw(10)},
		{Role: RoleStreamingNode, ID: 3, Used: 10, Total: 100, Hardware: hw(10)},
	}}
	st := &fakeStorage{colls: []StoredCollection{{ID: 7, DB: "default"}, {ID: 8, DB: "default",
		Props: map[string]string{"collection.diskProtection.diskQuota.mb": "0.5"}}},
		parts: map[int64]map[int64]int64{7: {71: 2 * mb}, 8: {81: 1 * mb, 82: 1}}}
	cc := memConfig(nodes)
	cc.Placement = &fakePlacement{query: map[int64][]int64{1: {7}}, data: map[int64][]int64{2: {7, 8}}}
	cc.DiskProtection, cc.Storage = true, st
	c := NewCenter(cc, nil)
	ctx := context.Background()
	before, _ := c.QuotaMetrics(ctx)
	if len(before.QueryNodeMetrics)+len(before.DataNodeMetrics)+len(before.ProxyMetrics) != 0 || before.DataCoordMetrics != nil {
		t.Fatalf("before a sample: %+v", before)
	}
	c.Sample(ctx)
	m, err := c.QuotaMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.ProxyMetrics[5]; p == nil || p.Hms != hw(50) {
		t.Fatalf("proxy: %+v", m.ProxyMetrics)
	}
	q := m.QueryNodeMetrics[1]
	if q == nil || q.Hms.MemoryUsage != 96 || q.GrowingSegmentsSize != 3 || !reflect.DeepEqual(q.Effect, contract.NodeEffect{NodeID: 1, CollectionIDs: []int64{7}}) {
		t.Fatalf("query node 1: %+v", q)
	}
	// The streaming node is a query node of its own ID; no placement lists
	// it, so it holds no collection.
	if s := m.QueryNodeMetrics[3]; s == nil || len(s.Effect.CollectionIDs) != 0 || s.Hms != hw(10) {
		t.Fatalf("streaming node 3: %+v", s)
	}
	if d := m.DataNodeMetrics[2]; d == nil || !reflect.DeepEqual(d.Effect.CollectionIDs, []int64{7, 8}) {
		t.Fatalf("data node 2: %+v", d)
	}
	if len(m.QueryNodeMetrics) != 2 || len(m.DataNodeMetrics) != 1 || len(m.ProxyMetrics) != 1 {
		t.Fatalf("nodes: %d query, %d data, %d proxies", len(m.QueryNodeMetrics), len(m.DataNodeMetrics), len(m.ProxyMetrics))
	}
	want := &contract.DataCoordQuotaMetrics{TotalBinlogSize: 3*mb + 1, CollectionBinlogSize: map[int64]int64{7: 2 * mb, 8: mb + 1},
		PartitionsBinlogSize: map[int64]map[int64]int64{7: {71: 2 * mb}, 8: {81: mb, 82: 1}}, CollectionL0RowCount: map[int64]int64{}}
	if !reflect.DeepEqual(m.DataCoordMetrics, want) {
		t.Fatalf("binlogs: %+v", m.DataCoordMetrics)
	}
	// Query node 1 is above its high level: collection 7 is refused for
	// memory; collection 8 is over its disk quota property.
	wantStates := []contract.QuotaState{
		{Scope: "collection", ID: 7, State: "DenyToWrite", Code: "MemoryQuotaExhausted"},
		{Scope: "collection", ID: 8, State: "DenyToWrite", Code: "DiskQuotaExhausted"},
	}
	if !reflect.DeepEqual(m.QuotaStates.States, wantStates) || m.QuotaStates.DMLRateFactor != 1 {
		t.Fatalf("states: %+v", m.QuotaStates)
	}
	// The JSON has Milvus's keys (field names, int64 keys as strings).
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"QueryNodeMetrics":{"1":{"Hms":{"ip":"10.0.0.1","cpu_core_count":4,`, `"Rms":[],"Fgm":{"MinFlowGraphChannel":"","MinFlowGraphTt":0,"NumFlowGraph":0},"GrowingSegmentsSize":3,"LoadedBinlogSize":0,"Effect":{"NodeID":1,"CollectionIDs":[7]},"DeleteBufferInfo":{"CollectionDeleteBufferNum":{},"CollectionDeleteBufferSize":{}},"StreamingQuota":null}`,
		`"DataNodeMetrics":{"2":{"Hms":`, `"ProxyMetrics":{"5":{"Hms":`, `"QueueMetrics":[]`,
		`"DataCoordMetrics":{"TotalBinlogSize":3145729,"CollectionBinlogSize":{"7":2097152,"8":1048577},"PartitionsBinlogSize":{"7":{"71":2097152},"8":{"81":1048576,"82":1}},"CollectionL0RowCount":{}}`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s:\n%s", k, b)
		}
	}
	// The next sample replaces the last: memory back to normal, the
	// refusal for memory is gone.
	nodes.set(1, 10)
	c.Sample(ctx)
	m, _ = c.QuotaMetrics(ctx)
	if len(m.QuotaStates.States) != 1 || m.QuotaStates.States[0].Code != "DiskQuotaExhausted" {
		t.Fatalf("second sample: %+v", m.QuotaStates)
	}
	if got := m.QueryNodeMetrics[1].Effect.CollectionIDs; !reflect.DeepEqual(got, []int64{9}) {
		t.Fatalf("a calm query node reports its own collections: %v", got)
	}
}

// TestQuotaMetricsOff: a center with nothing to sample (quotaAndLimits
// off) reports no node and no binlogs, as Milvus's unstarted QuotaCenter.
func TestQuotaMetricsOff(t *testing.T) {
	c := NewCenter(CenterConfig{}, nil)
	c.Sample(context.Background())
	m, err := c.QuotaMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if want := `{"QueryNodeMetrics":{},"DataNodeMetrics":{},"ProxyMetrics":{},"DataCoordMetrics":null,"QuotaStates":{"States":[],"DMLRateFactor":1,"CollectionDMLRateFactors":null}}`; string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}
