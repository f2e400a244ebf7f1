//go:build linux

package cluster

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestClusterMetaCache checks the proxies' metadata caches: every DDL
// acknowledged on proxy-1 is seen at once on proxy-2, whose cache held the
// old metadata (each step first reads through proxy-2 to fill it).
func TestClusterMetaCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode", "proxy-1:proxy", "proxy-2:proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cli1 := connect(t, ctx, c.ProxyAddr("proxy-1"))
	cli2 := connect(t, ctx, c.ProxyAddr("proxy-2"))

	vecs := flow(t, ctx, cli1, "mc", 200)
	checkSearch(t, ctx, cli2, "mc", vecs, 3) // fills proxy-2's cache

	// Drop and recreate the same name with another schema (a VarChar key
	// and another dimension): proxy-2 describes and writes the new one.
	if err := cli1.DropCollection(ctx, milvusclient.NewDropCollectionOption("mc")); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if _, err := cli2.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("mc")); !notFound(err) {
		t.Fatalf("describe a dropped collection through proxy-2: %v, want collection not found", err)
	}
	schema := entity.NewSchema().WithName("mc").
		WithField(entity.NewField().WithName("key").WithDataType(entity.FieldTypeVarChar).WithMaxLength(32).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("w").WithDataType(entity.FieldTypeFloatVector).WithDim(4))
	if err := cli1.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("mc", schema)); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	coll, err := cli2.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("mc"))
	if err != nil {
		t.Fatalf("describe the new collection through proxy-2: %v", err)
	}
	if pk := coll.Schema.PKField(); pk == nil || pk.Name != "key" {
		t.Fatalf("proxy-2 describes the old schema: %+v", coll.Schema.Fields)
	}
	if _, err := cli2.Insert(ctx, milvusclient.NewColumnBasedInsertOption("mc").
		WithVarcharColumn("key", []string{"a", "b"}).WithFloatVectorColumn("w", 4, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}})); err != nil {
		t.Fatalf("insert into the new schema through proxy-2: %v", err)
	}

	// Alias: proxy-2 searches "al" (collection a), then the alias moves to
	// collection b through proxy-1.
	va := flow(t, ctx, cli1, "ca", 50)
	vb := vectors(rand.New(rand.NewPCG(11, 13)), 50)
	_ = va
	schemaB := entity.NewSchema().WithName("cb").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	if err := cli1.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("cb", schemaB)); err != nil {
		t.Fatalf("create cb: %v", err)
	}
	ids := make([]int64, len(vb))
	tags := make([]string, len(vb))
	for i := range ids {
		ids[i] = int64(1000 + i)
		tags[i] = "b"
	}
	if _, err := cli1.Insert(ctx, milvusclient.NewColumnBasedInsertOption("cb").WithInt64Column("id", ids).
		WithVarcharColumn("tag", tags).WithFloatVectorColumn("v", dim, vb)); err != nil {
		t.Fatalf("insert cb: %v", err)
	}
	it, err := cli1.CreateIndex(ctx, milvusclient.NewCreateIndexOption("cb", "v", index.NewHNSWIndex(entity.L2, 16, 64)))
	if err != nil {
		t.Fatalf("index cb: %v", err)
	}
	if err := it.Await(ctx); err != nil {
		t.Fatalf("index cb await: %v", err)
	}
	lt, err := cli1.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("cb"))
	if err != nil {
		t.Fatalf("load cb: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("load cb await: %v", err)
	}
	if err := cli1.CreateAlias(ctx, milvusclient.NewCreateAliasOption("ca", "al")); err != nil {
		t.Fatalf("create alias: %v", err)
	}
	firstID := func(cli *milvusclient.Client, name string, q []float32) (int64, error) {
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 1, []entity.Vector{entity.FloatVector(q)}).
			WithANNSField("v").WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			return 0, err
		}
		return rs[0].IDs.GetAsInt64(0)
	}
	if id, err := firstID(cli2, "al", vb[0]); err != nil || id >= 1000 {
		t.Fatalf("search alias al (-> ca) through proxy-2: %d, %v", id, err)
	}
	if err := cli1.AlterAlias(ctx, milvusclient.NewAlterAliasOption("al", "cb")); err != nil {
		t.Fatalf("alter alias: %v", err)
	}
	if id, err := firstID(cli2, "al", vb[0]); err != nil || id != 1000 {
		t.Fatalf("search alias al (-> cb) through proxy-2 right after AlterAlias: %d, %v; want 1000", id, err)
	}

	// Rename: the old name is gone on proxy-2, the new one serves.
	if err := cli1.RenameCollection(ctx, milvusclient.NewRenameCollectionOption("ca", "ca2")); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, err := firstID(cli2, "ca", va[0]); !notFound(err) {
		t.Fatalf("search the old name through proxy-2: %v, want collection not found", err)
	}
	if id, err := firstID(cli2, "ca2", va[0]); err != nil || id != 0 {
		t.Fatalf("search the new name through proxy-2: %d, %v", id, err)
	}

	// AddCollectionField: proxy-2 describes the new field.
	if err := cli1.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption("cb",
		entity.NewField().WithName("extra").WithDataType(entity.FieldTypeInt64).WithNullable(true))); err != nil {
		t.Fatalf("add field: %v", err)
	}
	cb, err := cli2.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("cb"))
	if err != nil {
		t.Fatalf("describe cb through proxy-2: %v", err)
	}
	found := false
	for _, f := range cb.Schema.Fields {
		found = found || f.Name == "extra"
	}
	if !found {
		t.Fatalf("proxy-2 does not see the added field: %+v", cb.Schema.Fields)
	}

	// Release: proxy-2 (whose cache says loaded) refuses to search.
	if err := cli1.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("cb")); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := firstID(cli2, "cb", vb[0]); err == nil || !strings.Contains(err.Error(), "collection not loaded") {
		t.Fatalf("search a released collection through proxy-2: %v, want collection not loaded", err)
	}
	// And load again: served at once.
	lt, err = cli1.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("cb"))
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatalf("reload await: %v", err)
	}
	if id, err := firstID(cli2, "cb", vb[0]); err != nil || id != 1000 {
		t.Fatalf("search the reloaded collection through proxy-2: %d, %v", id, err)
	}

	// A proxy whose process is gone (its session expired) is skipped: DDL
	// still succeeds.
	c.Roles["proxy-2"].Stop()
	if err := cli1.DropAlias(ctx, milvusclient.NewDropAliasOption("al")); err != nil {
		t.Fatalf("drop alias with proxy-2 stopped: %v", err)
	}
}

// notFound: Milvus's texts for a missing collection (DescribeCollection
// says "can't find collection", the reads "collection not found").
func notFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "collection not found") || strings.Contains(err.Error(), "can't find collection"))
}
