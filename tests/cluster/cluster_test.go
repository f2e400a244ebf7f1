//go:build linux

package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/testsupport/clusterproc"
)

// binary returns the milvago binary: MILVAGO_BIN, or the one TestMain built.
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MILVAGO_BIN"); p != "" {
		return p
	}
	return builtBinary
}

// role is one `milvago run ROLE` process; cluster is the storage servers
// and the role processes (internal/testsupport/clusterproc, shared with
// tests/e2e's cluster mode).
type (
	role    = clusterproc.Role
	cluster = clusterproc.Cluster
)

func tail(path string) string { return clusterproc.Tail(path) }

// startCluster starts etcd, NATS and S3, then the given roles (name:role,
// e.g. "proxy-2:proxy"), each in its own process on loopback.
func startCluster(t *testing.T, specs ...string) *cluster {
	t.Helper()
	c, _ := startClusterWith(t, clusterOpts{logLevel: "debug", storageNodes: 3}, specs...)
	return c
}

// clusterOpts are the settings of startClusterWith (clusterproc.Opts).
type clusterOpts struct {
	logLevel string
	// storageNodes is the size of the etcd and NATS clusters: 3 as the
	// issue asks (etcd quorum of 2, JetStream streams with 3 replicas), or 1.
	storageNodes int
	// ip is the address the roles bind and advertise ("": 127.0.0.1).
	ip string
	// kafkaBrokers > 0 runs the log on Kafka (mq.type: kafka, a kfake
	// process with that many brokers; cluster_kafka_test.go) instead of NATS.
	kafkaBrokers int
	// args are configuration flags every role gets (--key=value).
	args []string
	// env adds environment variables to the roles named (clusterproc.Opts.Env).
	env map[string][]string
}

// startClusterWith is startCluster with options; it also returns the
// storage servers' process IDs (the benchmark measures their CPU).
func startClusterWith(t *testing.T, o clusterOpts, specs ...string) (*cluster, procs) {
	t.Helper()
	c, ps := clusterproc.Start(t, clusterproc.Opts{Bin: binary(t), LogLevel: o.logLevel, StorageNodes: o.storageNodes,
		IP: o.ip, KafkaBrokers: o.kafkaBrokers, Args: o.args, Env: o.env}, specs...)
	return c, procs(ps)
}

func connect(t *testing.T, ctx context.Context, addr string) *milvusclient.Client {
	t.Helper()
	cli, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: addr})
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { cli.Close(context.Background()) })
	return cli
}

const dim = 8

func vectors(r *rand.Rand, n int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, dim)
		for j := range v {
			v[j] = r.Float32()
		}
		out[i] = v
	}
	return out
}

// flow creates, fills, indexes and loads a collection through cli and
// returns its vectors.
func flow(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, n int) [][]float32 {
	t.Helper()
	return flowReplicas(t, ctx, cli, name, n, 1)
}

// flowReplicas is flow loading the collection in replicas copies, into
// the resource groups given (none: the default group).
func flowReplicas(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, n, replicas int, groups ...string) [][]float32 {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	vecs := vectors(rand.New(rand.NewPCG(7, 9)), n)
	ids := make([]int64, n)
	tags := make([]string, n)
	for i := range ids {
		ids[i] = int64(i)
		tags[i] = fmt.Sprintf("t%d", i%5)
	}
	res, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vecs))
	if err != nil || res.InsertCount != int64(n) {
		t.Fatalf("insert: %v rows, %v", res.InsertCount, err)
	}
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatalf("flush await: %v", err)
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "v", index.NewHNSWIndex(entity.L2, 16, 64)))
	if err != nil {
		t.Fatalf("create index: %v", err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("index await: %v", err)
	}
	lo := milvusclient.NewLoadCollectionOption(name).WithReplica(replicas)
	if len(groups) > 0 {
		lo = lo.WithResourceGroup(groups...)
	}
	lt, err := cli.LoadCollection(ctx, lo)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load await: %v", err)
	}
	return vecs
}

// checkSearch searches for stored vectors: each finds itself first.
func checkSearch(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, vecs [][]float32, ids ...int) {
	t.Helper()
	var qs []entity.Vector
	for _, id := range ids {
		qs = append(qs, entity.FloatVector(vecs[id]))
	}
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, qs).WithANNSField("v").
		WithOutputFields("tag").WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(rs) != len(ids) {
		t.Fatalf("search: %d result sets for %d queries", len(rs), len(ids))
	}
	for i, want := range ids {
		got, _ := rs[i].IDs.GetAsInt64(0)
		if rs[i].ResultCount != 5 || got != int64(want) || rs[i].Scores[0] != 0 {
			t.Fatalf("query %d: %d hits, first %d (score %v), want %d", i, rs[i].ResultCount, got, rs[i].Scores[0], want)
		}
		tag, err := rs[i].GetColumn("tag").GetAsString(0)
		if err != nil || tag != fmt.Sprintf("t%d", want%5) {
			t.Fatalf("query %d: tag %q, %v", i, tag, err)
		}
	}
}

func count(t *testing.T, ctx context.Context, cli *milvusclient.Client, name, filter string) int64 {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(filter).WithOutputFields("count(*)").
		WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("count %q: %v", filter, err)
	}
	n, err := rs.GetColumn("count(*)").GetAsInt64(0)
	if err != nil {
		t.Fatalf("count %q: %v", filter, err)
	}
	return n
}

// TestClusterFlow runs mixcoord, a streaming node, data node, query node,
// index node and two proxies as separate processes, and drives the whole
// life cycle of a collection through both proxies.
func TestClusterFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cli1 := connect(t, ctx, c.ProxyAddr("proxy-1"))
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))

	const n = 2000
	vecs := flow(t, ctx, cli1, "docs", n)
	checkSearch(t, ctx, cli1, "docs", vecs, 3, 1500)
	checkSearch(t, ctx, cli2, "docs", vecs, 42, 1999)
	if got := count(t, ctx, cli2, "docs", `tag == "t1"`); got != n/5 {
		t.Fatalf("count through proxy-2: %d, want %d", got, n/5)
	}

	// Writes through one proxy are read through the other.
	del, err := cli2.Delete(ctx, milvusclient.NewDeleteOption("docs").WithExpr("id in [1, 2, 3]"))
	if err != nil || del.DeleteCount != 3 {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if got := count(t, ctx, cli1, "docs", "id < 10"); got != 7 {
		t.Fatalf("after delete, count through proxy-1: %d, want 7", got)
	}
	more := vectors(rand.New(rand.NewPCG(11, 13)), 10)
	ids := []int64{5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009}
	tags := make([]string, len(ids))
	for i := range tags {
		tags[i] = "late"
	}
	if _, err := cli1.Insert(ctx, milvusclient.NewColumnBasedInsertOption("docs").WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, more)); err != nil {
		t.Fatalf("insert growing rows: %v", err)
	}
	if got := count(t, ctx, cli2, "docs", `tag == "late"`); got != 10 {
		t.Fatalf("growing rows through proxy-2: %d, want 10", got)
	}

	// Errors keep their Milvus codes across every hop.
	_, err = cli2.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("nope"))
	if err == nil || !strings.Contains(err.Error(), "can't find collection[database=default][collection=nope]") {
		t.Fatalf("describe a missing collection: %v", err)
	}

	if err := cli2.DropCollection(ctx, milvusclient.NewDropCollectionOption("docs")); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if has, err := cli1.HasCollection(ctx, milvusclient.NewHasCollectionOption("docs")); err != nil || has {
		t.Fatalf("after drop, has = %v, %v", has, err)
	}
}
