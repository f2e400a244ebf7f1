//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// eventually retries f until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
}

func searchFinds(ctx context.Context, cli *milvusclient.Client, name string, vec []float32, want int64) error {
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(vec)}).
		WithANNSField("v").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		return err
	}
	if got, _ := rs[0].IDs.GetAsInt64(0); got != want {
		return errorf("first hit %d, want %d", got, want)
	}
	return nil
}

// TestClusterSeparateCoordinators runs the four coordinators as four
// processes: their calls to each other (ID allocation, segment lists,
// flush and index notifications, drop fan-out) cross the network.
func TestClusterSeparateCoordinators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "rootcoord", "datacoord", "indexcoord", "querycoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	vecs := flow(t, ctx, cli, "split", 1000)
	checkSearch(t, ctx, cli, "split", vecs, 0, 999)
	if got := count(t, ctx, cli, "split", `tag == "t4"`); got != 200 {
		t.Fatalf("count: %d, want 200", got)
	}
	if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("split")); err != nil {
		t.Fatalf("drop: %v", err)
	}
}

// TestClusterQueryNodeKilled kills the query node with SIGKILL and starts
// a new one: the query coordinator sees the new session and loads the
// collections onto it, and reads work again.
func TestClusterQueryNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	vecs := flow(t, ctx, cli, "kill", 1000)
	checkSearch(t, ctx, cli, "kill", vecs, 10)

	c.Roles["querynode"].Kill()
	if err := searchFinds(ctx, cli, "kill", vecs[10], 10); err == nil {
		t.Fatal("search succeeded with no query node")
	}
	c.Add(t, "querynode-2:querynode").WaitReady(t, 60*time.Second)
	eventually(t, 60*time.Second, "search after the query node was replaced", func() error {
		return searchFinds(ctx, cli, "kill", vecs[10], 10)
	})
	checkSearch(t, ctx, cli, "kill", vecs, 10, 500)
}

// TestClusterQueryNodeFailover runs two query nodes, the collection's two
// shards spread over them. Killing one leaves the collection served by the
// other once the dead node's session expires: querycoord, which watches
// the sessions, moves the dead node's shard onto it and the proxy's shard
// leaders follow. Killing that one too and starting a third brings reads
// back on the newcomer.
func TestClusterQueryNodeFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode-1:querynode", "querynode-2:querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	vecs := flow(t, ctx, cli, "twonodes", 800)
	checkSearch(t, ctx, cli, "twonodes", vecs, 5)

	c.Roles["querynode-1"].Kill()
	eventually(t, 60*time.Second, "search with querynode-1 killed", func() error {
		return searchFinds(ctx, cli, "twonodes", vecs[5], 5)
	})
	c.Roles["querynode-2"].Kill()
	c.Add(t, "querynode-3:querynode").WaitReady(t, 60*time.Second)
	eventually(t, 60*time.Second, "search on querynode-3", func() error {
		return searchFinds(ctx, cli, "twonodes", vecs[5], 5)
	})
	checkSearch(t, ctx, cli, "twonodes", vecs, 5, 700)
}

// TestClusterWritePathKilled kills the streaming node and the data node
// with SIGKILL after acknowledged inserts, starts new ones, and checks that
// every acknowledged row is still there and that flush still completes:
// the log keeps what was acknowledged, the data node replays it from its
// checkpoint, and the new streaming node continues the channels.
func TestClusterWritePathKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	vecs := flow(t, ctx, cli, "writes", 600)
	insert := func(from, n int) error {
		ids := make([]int64, n)
		tags := make([]string, n)
		for i := range ids {
			ids[i], tags[i] = int64(from+i), "w"
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("writes").WithInt64Column("id", ids).
			WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vectors(rand.New(rand.NewPCG(uint64(from), 1)), n)))
		return err
	}
	if err := insert(10000, 50); err != nil {
		t.Fatal(err)
	}
	c.Roles["streamingnode"].Kill()
	c.Roles["datanode"].Kill()
	if err := insert(20000, 1); err == nil {
		t.Fatal("insert acknowledged with no streaming node")
	}
	c.Add(t, "streamingnode-2:streamingnode").WaitReady(t, 60*time.Second)
	c.Add(t, "datanode-2:datanode").WaitReady(t, 60*time.Second)
	eventually(t, 60*time.Second, "insert after the write path was replaced", func() error { return insert(30000, 50) })
	if got := count(t, ctx, cli, "writes", `tag == "w"`); got != 100 {
		t.Fatalf("acknowledged rows after the kill: %d, want 100", got)
	}
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption("writes"))
	if err != nil {
		t.Fatalf("flush after the kill: %v", err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("flush await after the kill: %v", err)
	}
	if got := count(t, ctx, cli, "writes", "id >= 0"); got != 700 {
		t.Fatalf("rows after flush: %d, want 700", got)
	}
	checkSearch(t, ctx, cli, "writes", vecs, 1, 599)
}

// TestClusterCoordinatorFailover runs two mixcoords: one is active, the
// other stands by; killing the active one with SIGKILL hands over once its
// session lease expires, and the cluster keeps serving DDL and reads.
func TestClusterCoordinatorFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord-1:mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy")
	standby := c.Add(t, "mixcoord-2:mixcoord")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	vecs := flow(t, ctx, cli, "failover", 500)

	c.Roles["mixcoord-1"].Kill()
	standby.WaitReady(t, 60*time.Second)
	eventually(t, 60*time.Second, "search after failover", func() error {
		return searchFinds(ctx, cli, "failover", vecs[7], 7)
	})
	eventually(t, 30*time.Second, "create a collection after failover", func() error {
		return cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("after", 4))
	})
	if has, err := cli.HasCollection(ctx, milvusclient.NewHasCollectionOption("failover")); err != nil || !has {
		t.Fatalf("collection lost in failover: %v, %v", has, err)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
