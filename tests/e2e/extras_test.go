package e2e

import (
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestSDKConveniences covers SDK features built on the basic calls:
// the query iterator, filter templates, count(*) with filters and
// partitions, search output "*", round_decimal and collection properties.
func TestSDKConveniences(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	f := newSemanticsFixture(t, cli, "extras", 2, 300)
	ctx := testContext(t)
	name := f.name

	t.Run("query iterator", func(t *testing.T) {
		it, err := cli.QueryIterator(ctx, milvusclient.NewQueryIteratorOption(name).WithFilter("score >= 50").
			WithOutputFields("tag").WithBatchSize(40).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		var all []int64
		for {
			rs, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			must(t, err)
			if rs.ResultCount > 40 {
				t.Fatalf("batch of %d rows, batch size 40", rs.ResultCount)
			}
			all = append(all, int64Col(t, rs, "id")...)
		}
		if len(all) != 250 || !slices.IsSorted(all) || all[0] != 50 || all[249] != 299 {
			t.Fatalf("iterator returned %d ids", len(all))
		}
		// With an overall limit.
		it, err = cli.QueryIterator(ctx, milvusclient.NewQueryIteratorOption(name).WithBatchSize(7).
			WithIteratorLimit(20).WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		n := 0
		for {
			rs, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			must(t, err)
			n += rs.ResultCount
		}
		if n != 20 {
			t.Fatalf("iterator with limit 20 returned %d rows", n)
		}
	})

	t.Run("templates", func(t *testing.T) {
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id in {ids} and score > {min}").
			WithTemplateParam("ids", []int64{1, 5, 9, 200}).WithTemplateParam("min", 4).
			WithOutputFields("id").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if got := sortedCopy(int64Col(t, qr, "id")); !slices.Equal(got, []int64{5, 9, 200}) {
			t.Fatalf("template query: %v", got)
		}
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(f.vecs[0])}).
			WithANNSField("l2").WithFilter(`tag == {t}`).WithTemplateParam("t", "t7").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if got := ids(t, rs[0]); !slices.Equal(got, []int64{7}) {
			t.Fatalf("template search: %v", got)
		}
	})

	t.Run("count", func(t *testing.T) {
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("score < 10 or id >= 290").
			WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if n, _ := qr.GetColumn("count(*)").GetAsInt64(0); n != 20 {
			t.Fatalf("count with a filter = %d, want 20", n)
		}
		qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithPartitions("_default").
			WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		if n, _ := qr.GetColumn("count(*)").GetAsInt64(0); n != 300 {
			t.Fatalf("count in _default = %d, want 300", n)
		}
	})

	t.Run("search output star and round_decimal", func(t *testing.T) {
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(f.vecs[11])}).
			WithANNSField("ip").WithOutputFields("*").WithSearchParam("round_decimal", "2").WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		for _, col := range []string{"id", "tag", "score", "l2", "ip", "cos"} {
			if c := rs[0].GetColumn(col); c == nil || c.Len() != 3 {
				t.Fatalf("search with output *: column %s missing (%v)", col, columnNames(rs[0]))
			}
		}
		for _, s := range rs[0].Scores {
			if r := float32(int64(s*100+sign(s)*0.5)) / 100; !near(s, r) {
				t.Fatalf("round_decimal 2: score %v", s)
			}
		}
	})

	t.Run("properties", func(t *testing.T) {
		must(t, cli.AlterCollectionProperties(ctx, milvusclient.NewAlterCollectionPropertiesOption(name).
			WithProperty("collection.ttl.seconds", 3600)))
		coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
		must(t, err)
		if coll.Properties["collection.ttl.seconds"] != "3600" {
			t.Fatalf("properties after alter: %v", coll.Properties)
		}
		must(t, cli.DropCollectionProperties(ctx, milvusclient.NewDropCollectionPropertiesOption(name, "collection.ttl.seconds")))
		coll, err = cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
		must(t, err)
		if _, ok := coll.Properties["collection.ttl.seconds"]; ok {
			t.Fatalf("properties after drop: %v", coll.Properties)
		}
	})
}

func sign(x float32) float32 {
	if x < 0 {
		return -1
	}
	return 1
}

// TestEmptyCollectionReads reads a loaded collection with no rows, and one
// whose rows are all deleted: empty answers, one result set per query
// vector, no errors.
func TestEmptyCollectionReads(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim = "empty", 4
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("s").WithDataType(entity.FieldTypeVarChar).WithMaxLength(8)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	indexAndLoad(t, ctx, cli, name, "vec", index.NewHNSWIndex(entity.L2, 8, 32))
	q := []entity.Vector{entity.FloatVector(make([]float32, dim)), entity.FloatVector([]float32{1, 2, 3, 4})}
	check := func(when string) {
		t.Helper()
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 5, q).WithOutputFields("s", "vec").WithConsistencyLevel(entity.ClStrong))
		if err != nil || len(rs) != 2 || rs[0].ResultCount != 0 || rs[1].ResultCount != 0 {
			t.Fatalf("%s: search: %d result sets, %v", when, len(rs), err)
		}
		qr, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("s", "vec").
			WithConsistencyLevel(entity.ClStrong))
		if err != nil || qr.ResultCount != 0 {
			t.Fatalf("%s: query: %d rows, %v", when, qr.ResultCount, err)
		}
		qr, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("%s: count: %v", when, err)
		}
		if n, _ := qr.GetColumn("count(*)").GetAsInt64(0); n != 0 {
			t.Fatalf("%s: count %d", when, n)
		}
	}
	check("never written")
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2, 3}).
		WithVarcharColumn("s", []string{"a", "b", "c"}).WithFloatVectorColumn("vec", dim, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}))
	must(t, err)
	flush(t, ctx, cli, name)
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("id in [1, 2, 3]"))
	must(t, err)
	check("all deleted")
}
