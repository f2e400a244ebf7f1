//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestClusterAutoBalance loads a four-shard collection on one query node,
// then starts a second: the query coordinator's balance checker moves two
// shards onto it, each loaded there before the first node lets it go, so
// searches and queries running all along never fail.
func TestClusterAutoBalance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	createShards(t, ctx, cli, "spread", 4)
	const n = 800
	vecs := vectors(rand.New(rand.NewPCG(7, 9)), n)
	ids := make([]int64, n)
	tags := make([]string, n)
	for i := range ids {
		ids[i], tags[i] = int64(i), fmt.Sprintf("t%d", i%5)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("spread").WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vecs)); err != nil {
		t.Fatal(err)
	}
	flushAwait(t, ctx, cli, "spread")
	qn1 := serverID(c.Roles["querynode-1"], t)
	leaders := func() map[int64]int {
		out := map[int64]int{}
		for _, r := range describeReplicas(t, ctx, cli, "spread") {
			for _, sh := range r.Shards {
				out[sh.ShardLeader]++
			}
		}
		return out
	}
	if got := leaders(); got[qn1] != 4 {
		t.Fatalf("shard leaders %v, want all four on node %d", got, qn1)
	}
	reads := startReads(ctx, cli, "spread", vecs)
	time.Sleep(time.Second)
	c.Add(t, "querynode-2:querynode").WaitReady(t, 60*time.Second)
	qn2 := serverID(c.Roles["querynode-2"], t)
	start := time.Now()
	eventually(t, 90*time.Second, "shards balanced onto the new node", func() error {
		if got := leaders(); got[qn1] != 2 || got[qn2] != 2 {
			return fmt.Errorf("shard leaders %v", got)
		}
		return nil
	})
	balanced := time.Since(start)
	time.Sleep(5 * time.Second) // reads after the proxies' leader caches expired
	reads.halt()
	t.Logf("balanced %v after node 2 was ready; reads: %v", balanced.Round(time.Millisecond), reads)
	if reads.failed.Load() > 0 {
		t.Fatalf("reads failed while shards moved: %v", reads)
	}
	if got := count(t, ctx, cli, "spread", "id >= 0"); got != n {
		t.Fatalf("count after balancing: %d, want %d", got, n)
	}
	checkSearch(t, ctx, cli, "spread", vecs, 1, n-1)
}
