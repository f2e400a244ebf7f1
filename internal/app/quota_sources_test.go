package app

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/sysinfo"
)

type fakeInfos []sysinfo.ComponentInfos

func (f fakeInfos) Self(context.Context) sysinfo.ComponentInfos { return f[0] }
func (f fakeInfos) Components(context.Context) ([]sysinfo.ComponentInfos, error) {
	return f, nil
}

func info(role string, id int64, used, total uint64, failed bool) sysinfo.ComponentInfos {
	return sysinfo.ComponentInfos{BaseComponentInfos: sysinfo.BaseComponentInfos{Type: role, ID: id, HasError: failed,
		HardwareInfos: sysinfo.HardwareMetrics{MemoryUsage: used, Memory: total}}}
}

// TestNodeMemory: the workers' memory comes from their component infos;
// streaming nodes are told apart (they hold every channel they serve);
// proxies come along for the quota metrics; coordinators and unreachable
// nodes are left out.
func TestNodeMemory(t *testing.T) {
	src := nodeMemory{fakeInfos{
		info(sysinfo.RoleProxy, 1, 1, 10, false), info(sysinfo.RoleDataNode, 2, 5, 10, false),
		info(sysinfo.RoleQueryNode, 3, 6, 10, false), info(sysinfo.RoleStreamingNode, 4, 7, 10, false),
		info(sysinfo.RoleQueryNode, 5, 0, 0, true), info(sysinfo.RoleMixCoord, 6, 9, 10, false),
	}}
	got, err := src.NodeMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hw := func(used uint64) sysinfo.HardwareMetrics {
		return sysinfo.HardwareMetrics{MemoryUsage: used, Memory: 10}
	}
	want := []quota.NodeMemory{{Role: quota.RoleProxy, ID: 1, Used: 1, Total: 10, Hardware: hw(1)},
		{Role: quota.RoleDataNode, ID: 2, Used: 5, Total: 10, Hardware: hw(5)},
		{Role: quota.RoleQueryNode, ID: 3, Used: 6, Total: 10, Hardware: hw(6)},
		{Role: quota.RoleStreamingNode, ID: 4, Used: 7, Total: 10, Hardware: hw(7)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Standalone: the process's own metrics, as proxy, data node and
	// query node.
	local, err := nodeMemory{standaloneSystemInfo{id: 9, proxy: true}}.NodeMemory(context.Background())
	if err != nil || len(local) < 3 || local[0].Role != quota.RoleProxy || local[0].ID != 9 || local[0].Total == 0 || local[0].Used == 0 {
		t.Fatalf("standalone: %+v, %v", local, err)
	}
}

type fakeGrowing struct{}

func (fakeGrowing) GrowingBytes() (int64, []int64) { return 3 << 20, []int64{7, 9} }

// TestNodeMemoryGrowing: a query node's growing segment bytes travel in
// its component infos' quota_metrics (Milvus's QueryNodeQuotaMetrics
// keys, as GetComponentInfos carries them to a cluster's quota center) and
// become the node's Growing; other roles have none.
func TestNodeMemoryGrowing(t *testing.T) {
	infos := withQuotaMetrics([]sysinfo.ComponentInfos{info(sysinfo.RoleQueryNode, 3, 6, 10, false),
		info(sysinfo.RoleDataNode, 3, 6, 10, false)}, fakeGrowing{})
	var wire fakeInfos
	for _, c := range infos {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if c.Type == sysinfo.RoleQueryNode && (!strings.Contains(string(b), `"quota_metrics":{"Hms":`) ||
			!strings.Contains(string(b), `"GrowingSegmentsSize":3145728,"Effect":{"NodeID":3,"CollectionIDs":[7,9]}`)) {
			t.Fatalf("query node infos: %s", b)
		}
		if c.Type == sysinfo.RoleDataNode && !strings.Contains(string(b), `"quota_metrics":null`) {
			t.Fatalf("data node infos: %s", b)
		}
		var back sysinfo.ComponentInfos
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		wire = append(wire, back)
	}
	got, err := nodeMemory{wire}.NodeMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hw := sysinfo.HardwareMetrics{MemoryUsage: 6, Memory: 10}
	want := []quota.NodeMemory{{Role: quota.RoleQueryNode, ID: 3, Used: 6, Total: 10, Growing: 3 << 20, Hardware: hw, Collections: []int64{7, 9}},
		{Role: quota.RoleDataNode, ID: 3, Used: 6, Total: 10, Hardware: hw}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

type fakeRoot struct{}

func (fakeRoot) ListDatabases(context.Context) ([]contract.Database, error) {
	return []contract.Database{{Name: "default"}, {Name: "d", Properties: map[string]string{"database.diskQuota.mb": "1"}}}, nil
}

func (fakeRoot) ListCollections(_ context.Context, db string) ([]*model.Collection, error) {
	if db == "d" {
		return []*model.Collection{{ID: 2, Properties: []*commonpb.KeyValuePair{{Key: "k", Value: "v"}}}}, nil
	}
	return []*model.Collection{{ID: 1}}, nil
}

// TestStoredSizes: the collections with their databases' and their own
// properties, and the binlog bytes by partition that a real data
// coordinator keeps as segments are flushed, in one call.
func TestStoredSizes(t *testing.T) {
	ctx := context.Background()
	data := newSizedData(t, 2, 1)
	s := storedSizes{fakeRoot{}, data}
	colls, err := s.Collections(ctx)
	if err != nil || len(colls) != 2 || colls[1].DB != "d" || colls[1].DBProps["database.diskQuota.mb"] != "1" || colls[1].Props["k"] != "v" {
		t.Fatalf("collections %+v: %v", colls, err)
	}
	m, err := s.BinlogSizes(ctx)
	if err != nil || m.PartitionsBinlogSize[1][10] != 100 || m.PartitionsBinlogSize[1][11] != 100 || m.CollectionBinlogSize[2] != 200 || m.TotalBinlogSize != 400 {
		t.Fatalf("sizes %+v: %v", m, err)
	}
}

type fakePlaceRoot struct{}

func (fakePlaceRoot) ListDatabases(context.Context) ([]contract.Database, error) {
	return []contract.Database{{Name: "default"}}, nil
}

func (fakePlaceRoot) ListCollections(context.Context, string) ([]*model.Collection, error) {
	return []*model.Collection{
		{ID: 1, PChannels: []string{"p0", "p1"}},
		{ID: 2, PChannels: []string{"p1"}},
		{ID: 3, PChannels: []string{"p0"}},
	}, nil
}

type fakeReplicas struct{}

func (fakeReplicas) Replicas(_ context.Context, id int64) ([]contract.Replica, error) {
	switch id {
	case 1: // two replicas
		return []contract.Replica{{Nodes: []int64{10}, Shards: []contract.ShardReplica{{NodeID: 10}}},
			{Nodes: []int64{11}, Shards: []contract.ShardReplica{{NodeID: 11}}}}, nil
	case 2:
		return []contract.Replica{{Nodes: []int64{11}, Shards: []contract.ShardReplica{{NodeID: 11}, {NodeID: 0}}}}, nil
	}
	return nil, errs.CollectionNotLoaded(id)
}

type fakeAssignments map[string]int64

func (f fakeAssignments) Assignments(context.Context) (map[string]int64, error) { return f, nil }

// TestPlacement: a query node holds the collections of its replicas, a
// data node those whose physical channels it consumes; a released
// collection is on no query node.
func TestPlacement(t *testing.T) {
	p := placement{root: fakePlaceRoot{}, replicas: fakeReplicas{}, channels: fakeAssignments{"p0": 100, "p1": 101}}
	query, data, err := p.Placement(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantQ := map[int64][]int64{10: {1}, 11: {1, 2}}
	wantD := map[int64][]int64{100: {1, 3}, 101: {1, 2}}
	if !reflect.DeepEqual(query, wantQ) || !reflect.DeepEqual(data, wantD) {
		t.Fatalf("query %v, data %v", query, data)
	}
}
