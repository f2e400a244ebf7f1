package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
)

// plainCollection creates a collection (id, vector of dim 8) without the
// SDK's quick-setup index and load, so that it is one collection DDL.
func plainCollection(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) error {
	t.Helper()
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vector").WithDataType(entity.FieldTypeFloatVector).WithDim(8))
	return cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema))
}

// rateLimited is Milvus's rate limit error for a configured rate: a proxy
// reports its share of it, the rate divided among the proxies (two in
// cluster mode), as Milvus's proxies report the rate the quota center
// sent them.
func (s *server) rateLimited(rate float64) string {
	return "request is rejected by grpc RateLimiter middleware, please retry later: rate limit exceeded" + s.rateShare(rate)
}

// rateShare is "[rate=R]" for one proxy's share of a configured rate.
func (s *server) rateShare(rate float64) string {
	return fmt.Sprintf("[rate=%v]", rate/float64(max(len(s.proxies), 1)))
}

// TestSafetyDDLRates: quotaAndLimits.indexRate, compactionRate, dbRate and
// the ddl.db rates refuse the second call within 10 s at 0.1/s with
// Milvus's rate limit error (code 8); the database rates bind per
// database. The rates are the cluster's: with two proxies each enforces
// 0.05/s (one call per 20 s).
func TestSafetyDDLRates(t *testing.T) {
	srv, _ := startConfigured(t, quotaLimits(func(l *config.Limits) {
		l.IndexEnabled, l.IndexRateDB = true, 0.1
		l.CompactionEnabled, l.CompactionRate = true, 0.1
		l.DBRateEnabled, l.DBRate = true, 0.1
		l.DDLEnabled, l.CollectionRateDB = true, 0.1
	}))
	ctx := testContext(t)
	cli := srv.client(t)
	rateLimited01 := srv.rateLimited(0.1)

	// dbRate.max: CreateDatabase, AlterDatabase, DropDatabase share it.
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("a")))
	err := cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("b"))
	wantCode(t, err, 8, rateLimited01)
	err = cli.DropDatabase(ctx, milvusclient.NewDropDatabaseOption("a"))
	wantCode(t, err, 8, rateLimited01)

	// ddl.db.collectionRate: one collection DDL per 10 s in each database.
	must(t, plainCollection(t, ctx, cli, "c1"))
	wantCode(t, plainCollection(t, ctx, cli, "c2"), 8, rateLimited01)
	other := srv.client(t)
	must(t, other.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("a")))
	must(t, plainCollection(t, ctx, other, "c1"))

	// indexRate.db.max: CreateIndex and DropIndex of one database.
	if _, err := cli.Insert(ctx, vectorRows("c1", "", 0, 10, 8)); err != nil {
		t.Fatal(err)
	}
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption("c1", "vector", index.NewFlatIndex(entity.L2)))
	if err != nil {
		t.Fatalf("first CreateIndex: %v", err)
	}
	must(t, it.Await(ctx))
	err = cli.DropIndex(ctx, milvusclient.NewDropIndexOption("c1", "vector"))
	wantCode(t, err, 8, rateLimited01)
	if _, err := other.CreateIndex(ctx, milvusclient.NewCreateIndexOption("c1", "vector", index.NewFlatIndex(entity.L2))); err != nil {
		t.Fatalf("CreateIndex in another database: %v", err)
	}

	// compactionRate.max: one ManualCompaction per 10 s, all databases.
	first := time.Now()
	if _, err := cli.Compact(ctx, milvusclient.NewCompactOption("c1")); err != nil {
		t.Fatalf("first compaction: %v", err)
	}
	if !clusterMode() {
		_, err = other.Compact(ctx, milvusclient.NewCompactOption("c1"))
		wantCode(t, err, 8, rateLimited01)
		return
	}
	// Two proxies, each with its own bucket: each admits its first call
	// (as Milvus's: a proxy's limiter admits while it is not in debt), so
	// the cluster's burst is one call per proxy; the rate is the
	// cluster's: 11 s after its first call the first proxy still refuses,
	// where alone (0.1/s) it would admit one every 10 s.
	if _, err := other.Compact(ctx, milvusclient.NewCompactOption("c1")); err != nil {
		t.Fatalf("the other proxy's first compaction: %v", err)
	}
	time.Sleep(time.Until(first.Add(11 * time.Second)))
	_, err = cli.Compact(ctx, milvusclient.NewCompactOption("c1"))
	wantCode(t, err, 8, rateLimited01)
}

// TestSafetyMaxCollectionsPerDB: quotaAndLimits.limits.maxCollectionNumPerDB
// caps each database's collections with Milvus's error (code 102), the
// database property database.max.collections overrides it, and the other
// databases are not affected.
func TestSafetyMaxCollectionsPerDB(t *testing.T) {
	c := config.Default(config.Standalone)
	c.Limits.MaxCollectionNumPerDB = 2
	srv, _ := startConfigured(t, func(s *app.StandaloneConfig) {
		s.Root = app.StandaloneFromConfig(c).Root
	})
	ctx := testContext(t)
	cli := srv.client(t)
	createIDColl(t, ctx, cli, "c1", 8, nil)
	createIDColl(t, ctx, cli, "c2", 8, nil)
	err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("c3", 8))
	wantCode(t, err, 102, "exceeded the limit number of collections[dbName=default][limit=2]")

	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("big").WithProperty("database.max.collections", "3")))
	big := srv.client(t)
	must(t, big.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("big")))
	for _, name := range []string{"c1", "c2", "c3"} {
		createIDColl(t, ctx, big, name, 8, nil)
	}
	err = big.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("c4", 8))
	wantCode(t, err, 102, "exceeded the limit number of collections[dbName=big][limit=3]")

	// Dropping one makes room again.
	must(t, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption("c1")))
	createIDColl(t, ctx, cli, "c3", 8, nil)
}
