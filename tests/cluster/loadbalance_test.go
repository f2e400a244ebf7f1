//go:build linux

package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestClusterLoadBalance runs LoadBalance on processes: a one-replica
// collection whose two shards are spread over two query nodes, the
// automatic balance off (queryCoord.autoBalance=false, so nothing moves
// them back). GetQuerySegmentInfo shows each flushed segment on one of
// the two nodes; LoadBalance refuses Milvus's bad requests, then moves the
// source node's shards to the other node while reads go on, none failing;
// afterwards every segment is served by the destination, and stays there.
func TestClusterLoadBalance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	t.Setenv("QUERY_COORD_AUTO_BALANCE", "false") // every role's environment
	c, _ := startClusterWith(t, clusterOpts{logLevel: "info", storageNodes: 1},
		"mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "querynode-2:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	const name = "balanced"
	vecs := flow(t, ctx, cli, name, 400)
	conn, err := grpc.NewClient(c.ProxyAddr("proxy"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := milvuspb.NewMilvusServiceClient(conn)
	segments := func() map[int64][]int64 { // node -> segments it serves
		t.Helper()
		qs, err := raw.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{CollectionName: name})
		if err != nil || qs.GetStatus().GetCode() != 0 {
			t.Fatalf("query segments: %v, %v", qs.GetStatus(), err)
		}
		out := map[int64][]int64{}
		var rows int64
		for _, info := range qs.GetInfos() {
			if len(info.GetNodeIds()) != 1 {
				t.Fatalf("segment %d served by %v, want one node (one replica)", info.GetSegmentID(), info.GetNodeIds())
			}
			out[info.GetNodeID()] = append(out[info.GetNodeID()], info.GetSegmentID())
			rows += info.GetNumRows()
		}
		if rows != 400 {
			t.Fatalf("query segments hold %d rows, want 400", rows)
		}
		return out
	}
	rs := describeReplicas(t, ctx, cli, name)
	if len(rs) != 1 || len(rs[0].Nodes) != 2 {
		t.Fatalf("replicas %+v, want one over two nodes", rs)
	}
	src, dst := rs[0].Shards[0].ShardLeader, rs[0].Nodes[0]
	if dst == src {
		dst = rs[0].Nodes[1]
	}
	before := segments()
	if len(before[src]) == 0 {
		t.Fatalf("node %d serves no segment before the balance: %v", src, before)
	}

	for _, tc := range []struct {
		req  *milvuspb.LoadBalanceRequest
		want string
	}{
		{&milvuspb.LoadBalanceRequest{CollectionName: name, SrcNodeID: 999}, "source node not found in any replica"},
		{&milvuspb.LoadBalanceRequest{CollectionName: name, SrcNodeID: src, DstNodeIDs: []int64{999}}, "destination node not found in the same replica"},
		{&milvuspb.LoadBalanceRequest{CollectionName: name, SrcNodeID: src, SealedSegmentIDs: []int64{999}}, "segment not found in source node"},
		{&milvuspb.LoadBalanceRequest{CollectionName: "nope", SrcNodeID: src}, "collection not found"},
	} {
		st, err := raw.LoadBalance(ctx, tc.req)
		if err != nil || !strings.Contains(st.GetReason(), tc.want) {
			t.Errorf("LoadBalance %v: %v, %v; want %q", tc.req, st, err, tc.want)
		}
	}

	reads := startReads(ctx, cli, name, vecs)
	time.Sleep(500 * time.Millisecond)
	st, err := raw.LoadBalance(ctx, &milvuspb.LoadBalanceRequest{CollectionName: name, SrcNodeID: src, DstNodeIDs: []int64{dst}})
	if err != nil || st.GetCode() != 0 {
		t.Fatalf("LoadBalance off node %d: %v, %v", src, st, err)
	}
	time.Sleep(time.Second)
	reads.halt()
	t.Logf("reads while node %d's shards moved to node %d: %v", src, dst, reads)
	if reads.failed.Load() > 0 {
		t.Fatalf("reads failed during LoadBalance: %v", reads)
	}
	after := segments()
	if len(after[src]) != 0 || len(after[dst]) != len(before[src])+len(before[dst]) {
		t.Fatalf("segments per node before %v, after %v; want all of them on node %d", before, after, dst)
	}
	for _, sh := range describeReplicas(t, ctx, cli, name)[0].Shards {
		if sh.ShardLeader != dst {
			t.Fatalf("shard %s led by node %d after the balance, want %d", sh.ChannelName, sh.ShardLeader, dst)
		}
	}
	checkSearch(t, ctx, cli, name, vecs, 3, 300)
	// With queryCoord.autoBalance off, the checker (every 3 s otherwise)
	// does not even the two nodes out again.
	time.Sleep(4 * time.Second)
	if again := segments(); len(again[src]) != 0 {
		t.Fatalf("segments moved back to node %d with the automatic balance off: %v", src, again)
	}
}
