package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestScalarIndexes creates every scalar index type (and two JSON path
// indexes on one JSON field) through the SDK, waits for the index nodes to
// build them on the sealed segments and for the query node to load them,
// and checks filters on indexed fields against answers computed here.
func TestScalarIndexes(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const coll, n, dim = "scalar_idx", 3000, 4

	schema := entity.NewSchema().WithName(coll).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("age").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("score").WithDataType(entity.FieldTypeDouble).WithNullable(true)).
		WithField(entity.NewField().WithName("tag").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16)).
		WithField(entity.NewField().WithName("name").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("note").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(entity.NewField().WithName("meta").WithDataType(entity.FieldTypeJSON)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema)))

	ids := make([]int64, n)
	ages := make([]int64, n)
	scores := make([]float64, n)
	scoreValid := make([]bool, n)
	tags := make([]string, n)
	names := make([]string, n)
	notes := make([]string, n)
	metas := make([][]byte, n)
	vecs := make([][]float32, n)
	syll := []string{"ka", "to", "mi", "ra", "su", "ne", "lo"}
	for i := range n {
		ids[i] = int64(i)
		ages[i] = int64(i*37%90) + 10
		scores[i], scoreValid[i] = float64(i%50)/2, i%9 != 0
		tags[i] = fmt.Sprintf("t%d", i%6)
		names[i] = syll[i%7] + syll[i/7%7] + syll[i/49%7]
		notes[i] = fmt.Sprintf("n%04d", i)
		m := map[string]any{"k": i % 40, "s": fmt.Sprintf("s%d", i%13)}
		if i%5 == 0 {
			m["k"] = fmt.Sprint(i % 40) // a string where numbers are indexed
		}
		metas[i], _ = json.Marshal(m)
		vecs[i] = []float32{float32(i % 7), float32(i % 11), 1, float32(i % 3)}
	}
	nullable := make([]float64, 0, n)
	for i, ok := range scoreValid {
		if ok {
			nullable = append(nullable, scores[i])
		}
	}
	scoreCol, err := column.NewNullableColumnDouble("score", nullable, scoreValid)
	must(t, err)
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", ids).WithInt64Column("age", ages).
		WithColumns(scoreCol).WithVarcharColumn("tag", tags).WithVarcharColumn("name", names).WithVarcharColumn("note", notes).
		WithColumns(column.NewColumnJSONBytes("meta", metas)).WithFloatVectorColumn("v", dim, vecs))
	must(t, err)
	flush(t, ctx, cli, coll)

	create := func(field string, idx index.Index, name string) {
		t.Helper()
		opt := milvusclient.NewCreateIndexOption(coll, field, idx)
		if name != "" {
			opt = opt.WithIndexName(name)
		}
		it, err := cli.CreateIndex(ctx, opt)
		if err != nil {
			t.Fatalf("create index on %s: %v", field, err)
		}
		must(t, it.Await(ctx))
	}
	create("v", index.NewFlatIndex(entity.L2), "")
	create("age", index.NewSortedIndex(), "")
	create("score", index.NewInvertedIndex(), "")
	create("tag", index.NewBitmapIndex(), "")
	create("name", index.NewTrieIndex(), "")
	create("note", index.NewGenericIndex("note_ngram", map[string]string{"index_type": "NGRAM", "min_gram": "2", "max_gram": "3"}), "note_ngram")
	create("meta", index.NewJSONPathIndex(index.Inverted, "double", `meta["k"]`), "")
	create("meta", index.NewJSONPathIndex(index.Inverted, "varchar", `meta["s"]`), "")

	// Milvus's parameter checks.
	_, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(coll, "meta", index.NewInvertedIndex()).WithIndexName("x"))
	wantCode(t, err, 1100, "json index must specify cast type")
	_, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(coll, "meta", index.NewJSONPathIndex(index.Inverted, "int", `meta["q"]`)))
	wantCode(t, err, 1100, "json_cast_type INT is not supported")
	_, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(coll, "note", index.NewGenericIndex("g", map[string]string{"index_type": "NGRAM"})).WithIndexName("g"))
	wantCode(t, err, 1100, "Ngram index must specify both min_gram and max_gram")
	_, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(coll, "age", index.NewTrieIndex()).WithIndexName("g"))
	wantCode(t, err, 1100, "TRIE are only supported on varchar field")

	descs, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(coll, "meta/k"))
	must(t, err)
	if descs.State != 3 || descs.IndexedRows != n { // Finished
		t.Fatalf("JSON path index: state %v, %d of %d rows indexed", descs.State, descs.IndexedRows, descs.TotalRows)
	}
	if _, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(coll, "meta/s")); err != nil {
		t.Fatal(err)
	}
	load(t, ctx, cli, coll)

	var checks []func()
	var run func(filter string, want func(i int) bool)
	check := func(filter string, want func(i int) bool) {
		t.Helper()
		checks = append(checks, func() { run(filter, want) })
		run(filter, want)
	}
	run = func(filter string, want func(i int) bool) {
		t.Helper()
		var exp []int64
		for i := range n {
			if want(i) {
				exp = append(exp, int64(i))
			}
		}
		eventually(t, 20*time.Second, filter, func() (bool, string) {
			rs, err := cli.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter(filter).WithOutputFields("id").
				WithConsistencyLevel(entity.ClStrong).WithLimit(n))
			if err != nil {
				return false, err.Error()
			}
			got := sortedCopy(int64Col(t, rs, "id"))
			if !slices.Equal(got, exp) {
				return false, fmt.Sprintf("got %d rows, want %d", len(got), len(exp))
			}
			return true, ""
		})
	}
	jk := func(i int) (float64, bool) {
		if i%5 == 0 {
			return 0, false
		}
		return float64(i % 40), true
	}
	check("age == 47", func(i int) bool { return ages[i] == 47 })
	check("age >= 30 and age < 35", func(i int) bool { return ages[i] >= 30 && ages[i] < 35 })
	check("age in [11, 12, 99]", func(i int) bool { return ages[i] == 11 || ages[i] == 12 || ages[i] == 99 })
	check("score > 23.5", func(i int) bool { return scoreValid[i] && scores[i] > 23.5 })
	check("score != 3", func(i int) bool { return scoreValid[i] && scores[i] != 3 })
	check(`tag == "t3"`, func(i int) bool { return tags[i] == "t3" })
	check(`tag not in ["t1", "t2", "t3", "t4"]`, func(i int) bool { return tags[i] == "t0" || tags[i] == "t5" })
	check(`name like "kato%"`, func(i int) bool { return strings.HasPrefix(names[i], "kato") })
	check(`note like "%123%"`, func(i int) bool { return strings.Contains(notes[i], "123") })
	check(`note like "n0%9"`, func(i int) bool { return strings.HasPrefix(notes[i], "n0") && strings.HasSuffix(notes[i], "9") })
	check(`meta["k"] == 7`, func(i int) bool { k, ok := jk(i); return ok && k == 7 })
	check(`meta["k"] < 3`, func(i int) bool { k, ok := jk(i); return ok && k < 3 })
	check(`meta["k"] == "5"`, func(i int) bool { return i%5 == 0 && fmt.Sprint(i%40) == "5" })
	check(`meta["s"] in ["s1", "s12"]`, func(i int) bool { return i%13 == 1 || i%13 == 12 })
	check(`meta["k"] != 7 and age > 90`, func(i int) bool { k, ok := jk(i); return (!ok || k != 7) && ages[i] > 90 })

	// After a restart the query node loads the built indexes again.
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	eventually(t, 60*time.Second, "loaded after the restart", func() (bool, string) {
		st, err := cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(coll))
		return err == nil && st.State == entity.LoadStateLoaded, fmt.Sprint(st, err)
	})
	for _, c := range checks {
		c()
	}
}
