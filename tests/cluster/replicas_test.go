//go:build linux

package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// readLoop searches and queries a collection until stopped, recording
// every failure's time.
type readLoop struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	first      time.Time // first and last failure
	last       time.Time
	lastErr    error
	stop       chan struct{}
	done       chan struct{}
}

func startReads(ctx context.Context, cli *milvusclient.Client, name string, vecs [][]float32) *readLoop {
	l := &readLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			id := i % len(vecs)
			var err error
			if i%2 == 0 {
				err = searchFinds(ctx, cli, name, vecs[id], int64(id))
			} else {
				var rs milvusclient.ResultSet
				rs, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(fmt.Sprintf("id in [%d, %d]", id, (id+1)%len(vecs))).
					WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
				if err == nil && rs.ResultCount != 2 {
					err = fmt.Errorf("query: %d rows, want 2", rs.ResultCount)
				}
			}
			if err != nil {
				l.failed.Add(1)
				l.mu.Lock()
				if l.first.IsZero() {
					l.first = time.Now()
				}
				l.last, l.lastErr = time.Now(), err
				l.mu.Unlock()
				continue
			}
			l.ok.Add(1)
		}
	}()
	return l
}

func (l *readLoop) halt() {
	close(l.stop)
	<-l.done
}

func (l *readLoop) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("%d reads ok, %d failed", l.ok.Load(), l.failed.Load())
	if !l.first.IsZero() {
		s += fmt.Sprintf(" over %v (last error: %v)", l.last.Sub(l.first).Round(time.Millisecond), l.lastErr)
	}
	return s
}

func describeReplicas(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) []*entity.ReplicaInfo {
	t.Helper()
	rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption(name))
	if err != nil {
		t.Fatalf("describe replicas of %s: %v", name, err)
	}
	slices.SortFunc(rs, func(a, b *entity.ReplicaInfo) int { return int(a.ReplicaID - b.ReplicaID) })
	return rs
}

// TestClusterReplicas runs two query nodes: a collection loaded with two
// replicas has one node per replica, each serving both shards; one loaded
// with one replica has its two shards spread over the two nodes. While a
// query node is killed with SIGKILL, searches and queries of the
// two-replica collection keep succeeding (the proxy retries a shard on the
// other replica at once); those of the one-replica collection fail only
// until the dead node's session expires and its shard moves to the live
// node. A third node joining serves the replica left without nodes.
func TestClusterReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "querynode-2:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))

	two := flowReplicas(t, ctx, cli, "tworeplicas", 600, 2)
	rs := describeReplicas(t, ctx, cli, "tworeplicas")
	if len(rs) != 2 {
		t.Fatalf("%d replicas, want 2", len(rs))
	}
	var owners []int64
	for _, r := range rs {
		if len(r.Nodes) != 1 || len(r.Shards) != 2 || r.ResourceGroupName != "__default_resource_group" {
			t.Fatalf("replica %+v: want one node, two shards, the default resource group", r)
		}
		for _, sh := range r.Shards {
			if sh.ShardLeader != r.Nodes[0] || sh.ChannelName == "" {
				t.Fatalf("replica %d shard %+v: leader is not the replica's node %d", r.ReplicaID, sh, r.Nodes[0])
			}
		}
		owners = append(owners, r.Nodes[0])
	}
	if owners[0] == owners[1] {
		t.Fatalf("both replicas on node %d", owners[0])
	}

	one := flowReplicas(t, ctx, cli, "onereplica", 600, 1)
	rs = describeReplicas(t, ctx, cli, "onereplica")
	if len(rs) != 1 || len(rs[0].Nodes) != 2 || len(rs[0].Shards) != 2 || rs[0].Shards[0].ShardLeader == rs[0].Shards[1].ShardLeader {
		t.Fatalf("one replica over two nodes: want its two shards on different nodes, got %+v %+v", rs[0], rs[0].Shards)
	}

	// More replicas than query nodes: Milvus's error.
	err := func() error {
		if err := cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("onereplica")); err != nil {
			return err
		}
		_, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("onereplica").WithReplica(3))
		return err
	}()
	if err == nil || !strings.Contains(err.Error(), "resource group node not enough") {
		t.Fatalf("load with 3 replicas on 2 nodes: %v", err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("onereplica"))
	if err == nil {
		err = lt.Await(ctx)
	}
	if err != nil {
		t.Fatalf("reload: %v", err)
	}

	reads2 := startReads(ctx, cli, "tworeplicas", two)
	reads1 := startReads(ctx, cli, "onereplica", one)
	time.Sleep(2 * time.Second)
	killed := time.Now()
	c.Roles["querynode-1"].Kill()
	// The session TTL is 5 s: wait for the expiry, the shard move and its load.
	eventually(t, 60*time.Second, "one-replica reads served again", func() error {
		if err := searchFinds(ctx, cli, "onereplica", one[3], 3); err != nil {
			return err
		}
		return nil
	})
	recovered := time.Since(killed)
	time.Sleep(2 * time.Second)
	reads2.halt()
	reads1.halt()
	t.Logf("two replicas, a query node killed: %v", reads2)
	t.Logf("one replica, a query node killed: %v; served again %v after the kill", reads1, recovered.Round(time.Millisecond))
	if n := reads2.failed.Load(); n != 0 {
		t.Fatalf("two replicas: %d reads failed while a query node was killed: %v", n, reads2)
	}
	if reads2.ok.Load() < 10 {
		t.Fatalf("two replicas: only %v", reads2)
	}

	// The replica that lost its node is unhealthy (no leaders) until a
	// node joins; the third one takes it.
	c.Add(t, "querynode-3:querynode").WaitReady(t, 60*time.Second)
	eventually(t, 60*time.Second, "the new node serves the replica left without nodes", func() error {
		rs, err := cli.DescribeReplica(ctx, milvusclient.NewDescribeReplicaOption("tworeplicas"))
		if err != nil {
			return err
		}
		for _, r := range rs {
			if len(r.Nodes) != 1 {
				return fmt.Errorf("replica %d has nodes %v", r.ReplicaID, r.Nodes)
			}
			for _, sh := range r.Shards {
				if sh.ShardLeader == 0 {
					return fmt.Errorf("replica %d shard %s has no leader", r.ReplicaID, sh.ChannelName)
				}
			}
		}
		return nil
	})
	checkSearch(t, ctx, cli, "tworeplicas", two, 1, 2, 3, 4, 5, 6)
	checkSearch(t, ctx, cli, "onereplica", one, 1, 2, 3, 4, 5, 6)
}

// TestClusterResourceGroups creates a resource group taking one of three
// query nodes, moves one of a collection's two replicas into it through the
// SDK, and checks the descriptions, the replica's new node, reads, and
// Milvus's errors; then loads the collection again into the default group,
// which moves the replica back.
func TestClusterResourceGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "querynode-2:querynode", "querynode-3:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const def = "__default_resource_group"
	describe := func(name string) *entity.ResourceGroup {
		t.Helper()
		rg, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption(name))
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		return rg
	}
	if rg := describe(def); rg.NumAvailableNode != 3 || rg.Capacity != 1000000 {
		t.Fatalf("default group: %+v", rg)
	}
	if err := cli.CreateResourceGroup(ctx, milvusclient.NewCreateResourceGroupOption("rg1").WithNodeRequest(1).WithNodeLimit(1)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"": "resource group name couldn't be empty", "12-s": "name must be an underscore or letter"} {
		if err := cli.CreateResourceGroup(ctx, milvusclient.NewCreateResourceGroupOption(name)); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("create %q: %v", name, err)
		}
	}
	if err := cli.CreateResourceGroup(ctx, milvusclient.NewCreateResourceGroupOption("rg1").WithNodeRequest(2).WithNodeLimit(2)); err == nil ||
		!strings.Contains(err.Error(), "resource group already exist, but create with different config") {
		t.Fatalf("create rg1 again: %v", err)
	}
	names, err := cli.ListResourceGroups(ctx, milvusclient.NewListResourceGroupsOption())
	if err != nil || !slices.Contains(names, def) || !slices.Contains(names, "rg1") || len(names) != 2 {
		t.Fatalf("list: %v, %v", names, err)
	}
	rg1 := describe("rg1")
	if rg1.NumAvailableNode != 1 || len(rg1.Nodes) != 1 || describe(def).NumAvailableNode != 2 {
		t.Fatalf("rg1 %+v; default %+v", rg1, describe(def))
	}

	vecs := flowReplicas(t, ctx, cli, "grouped", 500, 2)
	if err := cli.TransferReplica(ctx, milvusclient.NewTransferReplicaOption("grouped", def, "rg1", 1)); err != nil {
		t.Fatal(err)
	}
	if rg := describe("rg1"); rg.NumLoadedReplica["grouped"] != 1 {
		t.Fatalf("rg1 after the transfer: %+v", rg)
	}
	eventually(t, 60*time.Second, "the moved replica served by rg1's node", func() error {
		for _, r := range describeReplicas(t, ctx, cli, "grouped") {
			if r.ResourceGroupName != "rg1" {
				continue
			}
			for _, sh := range r.Shards {
				if sh.ShardLeader != rg1.Nodes[0].NodeID {
					return fmt.Errorf("shard %s on node %d, want %d", sh.ChannelName, sh.ShardLeader, rg1.Nodes[0].NodeID)
				}
			}
			return nil
		}
		return fmt.Errorf("no replica in rg1")
	})
	checkSearch(t, ctx, cli, "grouped", vecs, 1, 2, 3, 4)
	// Loading again into the default group moves the replica back out of
	// rg1 (Milvus's UpdateLoadConfig), reads going on meanwhile.
	reads := startReads(ctx, cli, "grouped", vecs)
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("grouped").WithReplica(2).WithResourceGroup(def))
	if err != nil {
		t.Fatalf("reload into %s: %v", def, err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("reload await: %v", err)
	}
	eventually(t, 60*time.Second, "both replicas in the default group, served off rg1's node", func() error {
		for _, r := range describeReplicas(t, ctx, cli, "grouped") {
			if r.ResourceGroupName != def {
				return fmt.Errorf("replica %d in %s", r.ReplicaID, r.ResourceGroupName)
			}
			for _, sh := range r.Shards {
				if sh.ShardLeader == 0 || sh.ShardLeader == rg1.Nodes[0].NodeID {
					return fmt.Errorf("shard %s of replica %d on node %d", sh.ChannelName, r.ReplicaID, sh.ShardLeader)
				}
			}
		}
		return nil
	})
	time.Sleep(time.Second)
	reads.halt()
	t.Logf("reads while the replica moved back: %v", reads)
	if reads.failed.Load() > 0 {
		t.Fatalf("reads failed while a replica of a two-replica collection moved: %v", reads)
	}
	checkSearch(t, ctx, cli, "grouped", vecs, 1, 2, 3, 4)
	if err := cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption(def)); err == nil || !strings.Contains(err.Error(), "default resource group is not deletable") {
		t.Fatalf("drop default: %v", err)
	}
	if err := cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption("rg1")); err == nil || !strings.Contains(err.Error(), "resource group's limits node num is not 0") {
		t.Fatalf("drop rg1: %v", err)
	}
	if _, err := cli.DescribeResourceGroup(ctx, milvusclient.NewDescribeResourceGroupOption("nope")); err == nil || !strings.Contains(err.Error(), "resource group not found") {
		t.Fatalf("describe a missing group: %v", err)
	}

	// GetQuerySegmentInfo: every flushed segment, served once per replica,
	// by the two replicas' distinct nodes.
	conn, err := grpc.NewClient(c.ProxyAddr("proxy"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := milvuspb.NewMilvusServiceClient(conn)
	qs, err := raw.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{CollectionName: "grouped"})
	if err != nil || qs.GetStatus().GetCode() != 0 || len(qs.GetInfos()) == 0 {
		t.Fatalf("query segments: %v, %v", qs, err)
	}
	var rows int64
	for _, info := range qs.GetInfos() {
		ids := info.GetNodeIds()
		if len(ids) != 2 || ids[0] == ids[1] || ids[0] == rg1.Nodes[0].NodeID || ids[1] == rg1.Nodes[0].NodeID || info.GetNodeID() != ids[0] {
			t.Fatalf("segment %d served by nodes %v (node_id %d), want the two replicas' nodes outside rg1 (node %d)",
				info.GetSegmentID(), ids, info.GetNodeID(), rg1.Nodes[0].NodeID)
		}
		rows += info.GetNumRows()
	}
	if rows != 500 {
		t.Fatalf("query segments hold %d rows, want 500", rows)
	}

	// UpdateResourceGroups: rg1 asks for no node; its node goes back to the
	// default group, and the empty group can be dropped.
	if err := cli.UpdateResourceGroup(ctx, milvusclient.NewUpdateResourceGroupOption("rg1", &entity.ResourceGroupConfig{})); err != nil {
		t.Fatalf("update rg1: %v", err)
	}
	eventually(t, 30*time.Second, "rg1's node back in the default group", func() error {
		if r, d := describe("rg1"), describe(def); r.NumAvailableNode != 0 || d.NumAvailableNode != 3 {
			return fmt.Errorf("rg1 %d nodes, default %d", r.NumAvailableNode, d.NumAvailableNode)
		}
		return nil
	})
	if err := cli.DropResourceGroup(ctx, milvusclient.NewDropResourceGroupOption("rg1")); err != nil {
		t.Fatalf("drop the emptied rg1: %v", err)
	}
	// TransferNode (Milvus's deprecated call): the target asks for the
	// nodes; the default group keeps its capacity.
	if err := cli.CreateResourceGroup(ctx, milvusclient.NewCreateResourceGroupOption("rg2")); err != nil {
		t.Fatal(err)
	}
	if st, err := raw.TransferNode(ctx, &milvuspb.TransferNodeRequest{SourceResourceGroup: def, TargetResourceGroup: "rg2", NumNode: 1}); err != nil || st.GetCode() != 0 {
		t.Fatalf("transfer a node to rg2: %v, %v", st, err)
	}
	if st, _ := raw.TransferNode(ctx, &milvuspb.TransferNodeRequest{SourceResourceGroup: def, TargetResourceGroup: "rg2", NumNode: 5}); !strings.Contains(st.GetReason(), "resource group node not enough") {
		t.Fatalf("transfer 5 of the default group's nodes: %v", st)
	}
	eventually(t, 30*time.Second, "a node in rg2", func() error {
		if r, d := describe("rg2"), describe(def); r.NumAvailableNode != 1 || r.Capacity != 1 || d.NumAvailableNode != 2 || d.Capacity != 1000000 {
			return fmt.Errorf("rg2 %d nodes (capacity %d), default %d (capacity %d)", r.NumAvailableNode, r.Capacity, d.NumAvailableNode, d.Capacity)
		}
		return nil
	})
}
