package e2e

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
)

// quotaLimits are the configuration's defaults (quotaAndLimits on, as in
// Milvus) with a short sampling interval.
func quotaLimits(change func(*config.Limits)) func(*app.StandaloneConfig) {
	return func(c *app.StandaloneConfig) {
		c.Public.Limits = config.Default(config.Standalone).Limits
		c.Public.Limits.CollectInterval = 0.1
		if change != nil {
			change(&c.Public.Limits)
		}
	}
}

// writeOption is an insert or upsert option.
type writeOption interface {
	milvusclient.InsertOption
	milvusclient.UpsertOption
}

// vectorRows is an insert of n rows of dim random floats into part ("":
// the default partition) with IDs from first.
func vectorRows(coll, part string, first int64, n, dim int) writeOption {
	r := rand.New(rand.NewPCG(uint64(first), 7))
	ids := make([]int64, n)
	vecs := make([][]float32, n)
	for i := range vecs {
		ids[i] = first + int64(i)
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = r.Float32()
		}
	}
	opt := milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", ids).WithFloatVectorColumn("vector", dim, vecs)
	if part != "" {
		opt = opt.WithPartition(part)
	}
	return opt
}

func createIDColl(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, dim int64, props map[string]string) {
	t.Helper()
	opt := milvusclient.SimpleCreateCollectionOptions(name, dim).WithAutoID(false)
	for k, v := range props {
		opt = opt.WithProperty(k, v)
	}
	must(t, cli.CreateCollection(ctx, opt))
}

// TestLimits2DatabaseForceDeny: the database properties
// database.force.deny.writing and database.force.deny.reading refuse
// writes (inserts, upserts, deletes) and reads (search, query) of that
// database only, with Milvus's code and text, until they are dropped.
func TestLimits2DatabaseForceDeny(t *testing.T) {
	srv, _ := startConfigured(t, quotaLimits(nil))
	ctx := testContext(t)
	cli := srv.client(t)
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("ro")))
	must(t, cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("ro")))
	createIDColl(t, ctx, cli, "c", 8, nil)
	if _, err := cli.Insert(ctx, vectorRows("c", "", 0, 10, 8)); err != nil {
		t.Fatal(err)
	}
	indexAndLoadDefault(t, ctx, cli, "c")
	must(t, cli.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("ro").WithProperty("database.force.deny.writing", "true")))
	const denyW = "quota exceeded[reason=access has been disabled by the administrator: force deny writing in database properties]"
	_, err := cli.Insert(ctx, vectorRows("c", "", 100, 1, 8))
	wantCode(t, err, 9, denyW)
	_, err = cli.Upsert(ctx, vectorRows("c", "", 0, 1, 8))
	wantCode(t, err, 9, denyW)
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption("c").WithInt64IDs("id", []int64{1}))
	wantCode(t, err, 9, denyW)
	// Reads and the default database go on.
	if _, err := cli.Query(ctx, milvusclient.NewQueryOption("c").WithFilter("id >= 0").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong)); err != nil {
		t.Fatalf("query in a write-denied database: %v", err)
	}
	other := srv.client(t)
	createIDColl(t, ctx, other, "d", 8, nil)
	if _, err := other.Insert(ctx, vectorRows("d", "", 0, 1, 8)); err != nil {
		t.Fatalf("insert into the default database: %v", err)
	}

	must(t, cli.DropDatabaseProperties(ctx, milvusclient.NewDropDatabasePropertiesOption("ro", "database.force.deny.writing")))
	if _, err := cli.Insert(ctx, vectorRows("c", "", 100, 1, 8)); err != nil {
		t.Fatalf("insert once the property is dropped: %v", err)
	}
	must(t, cli.AlterDatabaseProperties(ctx, milvusclient.NewAlterDatabasePropertiesOption("ro").WithProperty("database.force.deny.reading", "true")))
	const denyR = "quota exceeded[reason=access has been disabled by the administrator: force deny reading in database properties]"
	_, err = cli.Query(ctx, milvusclient.NewQueryOption("c").WithFilter("id >= 0").WithOutputFields("count(*)"))
	wantCode(t, err, 9, denyR)
	_, err = cli.Search(ctx, milvusclient.NewSearchOption("c", 3, []entity.Vector{entity.FloatVector(make([]float32, 8))}))
	wantCode(t, err, 9, denyR)
	if _, err := cli.Insert(ctx, vectorRows("c", "", 200, 1, 8)); err != nil {
		t.Fatalf("insert into a read-denied database: %v", err)
	}
}

func indexAndLoadDefault(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string) {
	t.Helper()
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	must(t, lt.Await(ctx))
}

// TestLimits2ScopedRates: quotaAndLimits.dml.insertRate.partition.max and
// .db.max bind per partition and per database; each refusal is Milvus's
// rate-limit error (code 8). A bucket admits while its tokens are not
// negative (Milvus's limiter), so rates of 0.1 MB/s admit one 0.88 MB
// request and then refuse for seconds, which keeps the test free of timing
// on a loaded machine.
func TestLimits2ScopedRates(t *testing.T) {
	const dim, rows = 128, 1800 // 0.88 MB
	t.Run("partition", func(t *testing.T) {
		srv, _ := startConfigured(t, quotaLimits(func(l *config.Limits) {
			l.DMLEnabled = true
			l.Insert.Partition = 0.1 // MB/s
		}))
		ctx := testContext(t)
		cli := srv.client(t)
		createIDColl(t, ctx, cli, "p", dim, nil)
		for _, p := range []string{"p1", "p2"} {
			must(t, cli.CreatePartition(ctx, milvusclient.NewCreatePartitionOption("p", p)))
		}
		if _, err := cli.Insert(ctx, vectorRows("p", "p1", 0, rows, dim)); err != nil {
			t.Fatal(err)
		}
		_, err := cli.Insert(ctx, vectorRows("p", "p1", 10000, rows, dim))
		wantCode(t, err, 8, srv.rateLimited(0.1))
		for _, part := range []string{"p2", ""} {
			if _, err := cli.Insert(ctx, vectorRows("p", part, 20000, rows, dim)); err != nil {
				t.Fatalf("insert into another partition %q: %v", part, err)
			}
		}
	})
	t.Run("database", func(t *testing.T) {
		srv, _ := startConfigured(t, quotaLimits(func(l *config.Limits) {
			l.DMLEnabled = true
			l.Insert.DB = 0.1 // MB/s
		}))
		ctx := testContext(t)
		cli := srv.client(t)
		createIDColl(t, ctx, cli, "a", dim, nil)
		createIDColl(t, ctx, cli, "b", dim, nil)
		if _, err := cli.Insert(ctx, vectorRows("a", "", 0, rows, dim)); err != nil {
			t.Fatal(err)
		}
		_, err := cli.Insert(ctx, vectorRows("b", "", 0, rows, dim))
		wantCode(t, err, 8, "rate limit exceeded"+srv.rateShare(0.1))
		must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("other")))
		must(t, cli.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("other")))
		createIDColl(t, ctx, cli, "a", dim, nil)
		if _, err := cli.Insert(ctx, vectorRows("a", "", 0, rows, dim)); err != nil {
			t.Fatalf("insert into another database: %v", err)
		}
	})
}

// TestLimits2CollectionRateProperty: the collection property
// collection.insertRate.max.mb limits that collection's inserts even with
// the DML rates off (Milvus's getCollectionMaxLimit), and other
// collections not at all.
func TestLimits2CollectionRateProperty(t *testing.T) {
	srv, _ := startConfigured(t, quotaLimits(nil))
	ctx := testContext(t)
	cli := srv.client(t)
	const dim, rows = 128, 1800 // 0.88 MB
	createIDColl(t, ctx, cli, "slow", dim, map[string]string{"collection.insertRate.max.mb": "0.05"})
	createIDColl(t, ctx, cli, "fast", dim, nil)
	if _, err := cli.Insert(ctx, vectorRows("slow", "", 0, rows, dim)); err != nil {
		t.Fatal(err)
	}
	_, err := cli.Insert(ctx, vectorRows("slow", "", 10000, rows, dim))
	wantCode(t, err, 8, "rate limit exceeded"+srv.rateShare(0.05))
	for i := range 3 {
		if _, err := cli.Insert(ctx, vectorRows("fast", "", int64(i*rows), rows, dim)); err != nil {
			t.Fatalf("insert %d into another collection: %v", i, err)
		}
	}
	// Altering the property takes effect at once.
	must(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("slow").WithProperty("collection.insertRate.max.mb", "100")))
	if _, err := cli.Insert(ctx, vectorRows("slow", "", 20000, rows, dim)); err != nil {
		t.Fatalf("insert after raising the rate: %v", err)
	}
}

// TestLimits2DiskQuotas: once a collection's flushed binlogs reach its
// quota (the collection property collection.diskProtection.diskQuota.mb,
// or a database's database.diskQuota.mb) its inserts are refused with
// Milvus's disk-quota error while deletes, reads and other collections
// go on.
func TestLimits2DiskQuotas(t *testing.T) {
	srv, _ := startConfigured(t, quotaLimits(func(l *config.Limits) { l.FlushEnabled = false }))
	ctx := testContext(t)
	cli := srv.client(t)
	const dim, rows = 8, 2000
	createIDColl(t, ctx, cli, "capped", dim, map[string]string{"collection.diskProtection.diskQuota.mb": "0.01"})
	createIDColl(t, ctx, cli, "free", dim, nil)
	must(t, cli.CreateDatabase(ctx, milvusclient.NewCreateDatabaseOption("small").WithProperty("database.diskQuota.mb", "0.01")))
	small := srv.client(t)
	must(t, small.UseDatabase(ctx, milvusclient.NewUseDatabaseOption("small")))
	createIDColl(t, ctx, small, "s", dim, nil)
	for _, c := range []struct {
		cli  *milvusclient.Client
		name string
	}{{cli, "capped"}, {cli, "free"}, {small, "s"}} {
		if _, err := c.cli.Insert(ctx, vectorRows(c.name, "", 0, rows, dim)); err != nil {
			t.Fatal(err)
		}
		flush(t, ctx, c.cli, c.name)
	}
	const want = "quota exceeded[reason=disk quota exceeded, please allocate more resources: disk quota exceeded]"
	var err error
	eventually(t, 10*time.Second, "inserts into the capped collection refused", func() (bool, string) {
		_, err = cli.Insert(ctx, vectorRows("capped", "", rows, 1, dim))
		return err != nil, "insert accepted"
	})
	wantCode(t, err, 9, want)
	// The capped collection may have been refused by a sample taken
	// before the small database's flush was seen: wait for the next ones.
	eventually(t, 10*time.Second, "inserts into the small database refused", func() (bool, string) {
		_, err = small.Insert(ctx, vectorRows("s", "", rows, 1, dim))
		return err != nil, "insert accepted"
	})
	wantCode(t, err, 9, want)
	if _, err := cli.Insert(ctx, vectorRows("free", "", rows, 1, dim)); err != nil {
		t.Fatalf("insert into a collection under its quota: %v", err)
	}
	if _, err := cli.Delete(ctx, milvusclient.NewDeleteOption("capped").WithInt64IDs("id", []int64{1})); err != nil {
		t.Fatalf("delete from a collection over its quota: %v", err)
	}
	// Raising the quota admits writes again at the next sample.
	must(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption("capped").WithProperty("collection.diskProtection.diskQuota.mb", "100")))
	eventually(t, 10*time.Second, "inserts admitted once the quota is raised", func() (bool, string) {
		_, err = cli.Insert(ctx, vectorRows("capped", "", rows+1, 1, dim))
		return err == nil, "still refused"
	})
}
