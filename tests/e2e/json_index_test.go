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

// TestJSONCastAndFlatIndexes: a JSON path index with json_cast_function
// STRING_TO_DOUBLE and a JSON flat index (json_cast_type JSON) through the
// SDK, with Milvus's parameter errors; filters answer the same on the
// indexed sealed segment and on the growing one inserted after it (the
// cast is in the filter plan, not only in the index).
func TestJSONCastAndFlatIndexes(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	const coll, n, dim = "json_idx", 4000, 2

	schema := entity.NewSchema().WithName(coll).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("meta").WithDataType(entity.FieldTypeJSON)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema)))

	docs := make([]map[string]any, 2*n)
	for i := range docs {
		m := map[string]any{"o": map[string]any{"p": i % 50, "q": fmt.Sprintf("w%d", i%17), "l": []any{i % 7, "x"}}}
		switch i % 4 {
		case 0:
			m["k"] = float64(i%20) / 2
		case 1:
			m["k"] = fmt.Sprint(float64(i%20) / 2) // "3.5": a number under STRING_TO_DOUBLE
		case 2:
			m["k"] = fmt.Sprintf("%v kg", i%10) // "3 kg": std::stod reads 3
		default:
			m["k"] = "none"
		}
		docs[i] = m
	}
	insert := func(lo, hi int) {
		t.Helper()
		var ids []int64
		var metas [][]byte
		var vecs [][]float32
		for i := lo; i < hi; i++ {
			b, _ := json.Marshal(docs[i])
			ids, metas, vecs = append(ids, int64(i)), append(metas, b), append(vecs, []float32{float32(i), 1})
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", ids).
			WithColumns(column.NewColumnJSONBytes("meta", metas)).WithFloatVectorColumn("v", dim, vecs))
		must(t, err)
	}
	insert(0, n)
	flush(t, ctx, cli, coll)

	create := func(opt milvusclient.CreateIndexOption) {
		t.Helper()
		it, err := cli.CreateIndex(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		must(t, it.Await(ctx))
	}
	create(milvusclient.NewCreateIndexOption(coll, "v", index.NewFlatIndex(entity.L2)))
	castOpt := milvusclient.NewCreateIndexOption(coll, "meta", index.NewJSONPathIndex(index.Inverted, "double", `meta["k"]`))
	castOpt.WithExtraParam("json_cast_function", "string_to_double")
	create(castOpt)
	create(milvusclient.NewCreateIndexOption(coll, "meta", index.NewJSONPathIndex(index.Inverted, "json", `meta["o"]`)))

	// Milvus's checks (indexparamcheck.INVERTEDChecker).
	bad := milvusclient.NewCreateIndexOption(coll, "meta", index.NewJSONPathIndex(index.Inverted, "varchar", `meta["z"]`))
	bad.WithExtraParam("json_cast_function", "STRING_TO_DOUBLE")
	_, err := cli.CreateIndex(ctx, bad)
	wantCode(t, err, 1100, "json_cast_function STRING_TO_DOUBLE is not supported for json_cast_type VARCHAR")
	bad = milvusclient.NewCreateIndexOption(coll, "meta", index.NewJSONPathIndex(index.Inverted, "double", `meta["z"]`))
	bad.WithExtraParam("json_cast_function", "to_int")
	_, err = cli.CreateIndex(ctx, bad)
	wantCode(t, err, 1100, "json_cast_function TO_INT is not supported")

	load(t, ctx, cli, coll)
	insert(n, 2*n) // growing: scanned, with the same cast
	num := func(i int) (float64, bool) {
		switch i % 4 {
		case 0, 1:
			return float64(i%20) / 2, true
		case 2:
			return float64(i % 10), true
		}
		return 0, false
	}
	o := func(i int) map[string]any { return docs[i]["o"].(map[string]any) }
	for _, c := range []struct {
		filter string
		want   func(i int) bool
	}{
		{`meta["k"] == 3.5`, func(i int) bool { k, ok := num(i); return ok && k == 3.5 }},
		{`meta["k"] > 8`, func(i int) bool { k, ok := num(i); return ok && k > 8 }},
		{`meta["k"] in [3, 4]`, func(i int) bool { k, ok := num(i); return ok && (k == 3 || k == 4) }},
		{`meta["k"] == "3.5"`, func(i int) bool { return i%4 == 1 && float64(i%20)/2 == 3.5 }},
		{`meta["o"]["p"] == 7`, func(i int) bool { return o(i)["p"] == i%50 && i%50 == 7 }},
		{`meta["o"]["p"] >= 47`, func(i int) bool { return i%50 >= 47 }},
		{`meta["o"]["q"] like "w1%"`, func(i int) bool { return strings.HasPrefix(o(i)["q"].(string), "w1") }},
		{`json_contains(meta["o"]["l"], 3)`, func(i int) bool { return i%7 == 3 }},
	} {
		var exp []int64
		for i := range docs {
			if c.want(i) {
				exp = append(exp, int64(i))
			}
		}
		eventually(t, 20*time.Second, c.filter, func() (bool, string) {
			rs, err := cli.Query(ctx, milvusclient.NewQueryOption(coll).WithFilter(c.filter).WithOutputFields("id").
				WithConsistencyLevel(entity.ClStrong).WithLimit(2*n))
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
}
