//go:build linux

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/kv"
)

// meta opens the cluster's etcd under the test's root path, to read the
// coordinators' state.
func meta(c *cluster, t *testing.T, ctx context.Context) kv.Store {
	t.Helper()
	store, err := kv.NewEtcd(ctx, kv.EtcdConfig{Endpoints: c.Etcd, RootPath: "cluster-test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// channelOwners reads the data coordinator's pchannel → data node table.
func channelOwners(t *testing.T, ctx context.Context, store kv.Store) map[string]int64 {
	t.Helper()
	es, err := store.List(ctx, "data/channel/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range es {
		var r struct {
			Node int64 `json:"node"`
		}
		if err := json.Unmarshal(e.Value, &r); err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(e.Key, "data/channel/")] = r.Node
	}
	return out
}

var serverIDRe = regexp.MustCompile(`msg="session registered".*server_id=(\d+)`)

// serverID is the server ID a role process registered under (its log).
func serverID(r *role, t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(r.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	m := serverIDRe.FindAllSubmatch(b, -1)
	if len(m) == 0 {
		t.Fatalf("%s: no session in its log", r.Name)
	}
	id, _ := strconv.ParseInt(string(m[len(m)-1][1]), 10, 64)
	return id
}

// createShards creates a collection of shards shards and loads it.
func createShards(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, shards int32) {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(shards)); err != nil {
		t.Fatalf("create collection %s: %v", name, err)
	}
	if _, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewFlatIndex(entity.L2))); err != nil {
		t.Fatalf("create index: %v", err)
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load await: %v", err)
	}
}

func insertRange(ctx context.Context, cli *milvusclient.Client, name string, from, n int) error {
	ids := make([]int64, n)
	tags := make([]string, n)
	for i := range ids {
		ids[i], tags[i] = int64(from+i), "r"
	}
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vectors(rand.New(rand.NewPCG(uint64(from), 2)), n)))
	return err
}

func flushAwait(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush %s: %v", name, err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("flush await %s: %v", name, err)
	}
}

// TestClusterDataNodes runs two data nodes: the data coordinator deals the
// collections' pchannels to both; a data node killed under a load of
// inserts and deletes has its pchannels moved to the other, which replays
// them from their checkpoints; every acknowledged write is there after a
// flush (exact counts) and the flush completes, which needs every segment
// flushed once. A third data node joining takes the pchannels of new
// collections. The index builds of the flushed segments spread over the
// two index nodes.
func TestClusterDataNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode-1:datanode", "datanode-2:datanode", "querynode",
		"indexnode-1:indexnode", "indexnode-2:indexnode", "proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := connect(t, ctx, c.ProxyAddr("proxy"))
	store := meta(c, t, ctx)
	dn1, dn2 := serverID(c.Roles["datanode-1"], t), serverID(c.Roles["datanode-2"], t)

	createShards(t, ctx, cli, "shared", 4)
	owners := channelOwners(t, ctx, store)
	per := map[int64]int{}
	for _, n := range owners {
		per[n]++
	}
	if len(owners) != 4 || per[dn1] != 2 || per[dn2] != 2 {
		t.Fatalf("pchannel owners %v, want two each on %d and %d", owners, dn1, dn2)
	}
	const base = 2000
	for i := 0; i < base; i += 500 {
		if err := insertRange(ctx, cli, "shared", i, 500); err != nil {
			t.Fatal(err)
		}
	}
	flushAwait(t, ctx, cli, "shared")
	if got := count(t, ctx, cli, "shared", "id >= 0"); got != base {
		t.Fatalf("rows flushed by two data nodes: %d, want %d", got, base)
	}
	// The flushed segments' index builds went to both index nodes.
	in1, in2 := serverID(c.Roles["indexnode-1"], t), serverID(c.Roles["indexnode-2"], t)
	eventually(t, 60*time.Second, "index builds on both index nodes", func() error {
		b, err := os.ReadFile(c.Roles["mixcoord"].LogPath())
		if err != nil {
			return err
		}
		for _, id := range []int64{in1, in2} {
			if !regexp.MustCompile(fmt.Sprintf(`msg="index build dispatched".* node=%d\b`, id)).Match(b) {
				return fmt.Errorf("no build dispatched to index node %d", id)
			}
		}
		return nil
	})

	// Kill data node 1 under load.
	w := startWrites(ctx, "shared", cli)
	time.Sleep(2 * time.Second)
	killed := time.Now()
	c.Roles["datanode-1"].Kill()
	eventually(t, 60*time.Second, "data node 1's pchannels to move", func() error {
		for pc, n := range channelOwners(t, ctx, store) {
			if n != dn2 {
				return fmt.Errorf("%s still on %d", pc, n)
			}
		}
		return nil
	})
	moved := time.Since(killed)
	time.Sleep(2 * time.Second)
	w.halt()
	t.Logf("writes while data node 1 died: %v; its pchannels moved %v after the kill", w, moved.Round(time.Millisecond))
	if w.failures() > 0 {
		t.Fatalf("writes failed while a data node died: %v", w)
	}
	flushAwait(t, ctx, cli, "shared")
	w.mu.Lock()
	want := int64(base + len(w.live))
	w.mu.Unlock()
	if got := count(t, ctx, cli, "shared", "id >= 0"); got != want {
		t.Fatalf("rows after the data node died and a flush: %d, want %d", got, want)
	}
	if got := count(t, ctx, cli, "shared", fmt.Sprintf("id >= %d", writeBase)); got != want-base {
		t.Fatalf("written rows: %d, want %d", got, want-base)
	}

	// A data node joining takes the pchannels of a new collection.
	c.Add(t, "datanode-3:datanode").WaitReady(t, 60*time.Second)
	dn3 := serverID(c.Roles["datanode-3"], t)
	eventually(t, 30*time.Second, "the coordinator to see data node 3", func() error {
		createShards(t, ctx, cli, "joined", 2)
		for _, pc := range ownersOfNew(t, ctx, store, owners) {
			if pc == dn3 {
				return nil
			}
		}
		if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("joined")); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("no new pchannel on data node 3: %v", channelOwners(t, ctx, store))
	})
	if err := insertRange(ctx, cli, "joined", 0, 300); err != nil {
		t.Fatal(err)
	}
	flushAwait(t, ctx, cli, "joined")
	if got := count(t, ctx, cli, "joined", "id >= 0"); got != 300 {
		t.Fatalf("rows of the new collection: %d, want 300", got)
	}
}

// ownersOfNew returns the owners of pchannels not in before.
func ownersOfNew(t *testing.T, ctx context.Context, store kv.Store, before map[string]int64) []int64 {
	var out []int64
	for pc, n := range channelOwners(t, ctx, store) {
		if _, ok := before[pc]; !ok {
			out = append(out, n)
		}
	}
	return out
}
