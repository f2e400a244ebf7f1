package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestGroupBySearchJSON: group_by_field on a dynamic key and on a JSON
// field's path, with json_path / json_type (search params, as the SDK has
// no option for them), over flushed and growing segments, against a
// grouping computed here: with group_size 1 the hits are the leaders of
// the `limit` best groups, where a row whose value is absent or of another
// type than json_type is in the null group.
func TestGroupBySearchJSON(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "groupjson", 4, 400
	schema := entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("doc").WithDataType(entity.FieldTypeJSON)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).WithShardNum(2)))
	r := rand.New(rand.NewPCG(31, 32))
	vecs := randomVectors(r, n, dim)
	idsIn := make([]int64, n)
	metas, docs := make([][]byte, n), make([][]byte, n)
	for i := range idsIn {
		idsIn[i] = int64(i)
		switch r.IntN(5) {
		case 0, 1:
			metas[i] = fmt.Appendf(nil, `{"color":%d}`, r.IntN(6))
		case 2:
			metas[i] = fmt.Appendf(nil, `{"color":"c%d"}`, r.IntN(4))
		case 3:
			metas[i] = fmt.Appendf(nil, `{"color":%d.5}`, r.IntN(2))
		default:
			metas[i] = []byte(`{"shape":1}`)
		}
		if r.IntN(4) == 0 {
			docs[i] = []byte(`{"a":{"b":"text"}}`)
		} else {
			docs[i] = fmt.Appendf(nil, `{"a":{"b":%d}}`, r.IntN(8))
		}
	}
	insert := func(lo, hi int) {
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idsIn[lo:hi]).
			WithFloatVectorColumn("vec", dim, vecs[lo:hi]).
			WithColumns(column.NewColumnJSONBytes("doc", docs[lo:hi]), column.NewColumnJSONBytes("", metas[lo:hi]).WithIsDynamic(true)))
		must(t, err)
	}
	insert(0, n/2)
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	must(t, err)
	must(t, ft.Await(ctx))
	insert(n/2, n) // these stay in growing segments
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	q := vecs[11]
	order := make([]int, n)
	dist := make([]float32, n)
	for i, v := range vecs {
		order[i] = i
		for j := range v {
			x := v[j] - q[j]
			dist[i] += x * x
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(dist[a], dist[b]) })
	// valueAt decodes row i's value at path of its document (the dynamic
	// field's or doc's) and casts it as json_type does; nil: the null group.
	valueAt := func(i int, jsonType string, inDoc bool) any {
		var v any
		if inDoc {
			var d struct{ A struct{ B any } }
			must(t, json.Unmarshal(docs[i], &d))
			v = d.A.B
		} else {
			var m map[string]any
			must(t, json.Unmarshal(metas[i], &m))
			v = m["color"]
		}
		switch x := v.(type) {
		case float64:
			if jsonType == "Int64" && x == float64(int64(x)) {
				return int64(x)
			}
		case string:
			if jsonType == "VarChar" {
				return x
			}
		}
		return nil
	}
	for _, tc := range []struct {
		field, path, jsonType string
		inDoc                 bool
		limit                 int
	}{
		{"color", "color", "Int64", false, 4},
		{"color", `$meta["color"]`, "Int64", false, 10}, // more groups than exist: all 7
		{"color", "color", "VarChar", false, 3},
		{"doc", `doc["a"]["b"]`, "Int64", true, 5},
	} {
		desc := fmt.Sprintf("group by %s at %s as %s", tc.field, tc.path, tc.jsonType)
		var wantIDs []int64
		var wantVals []any
		seen := map[any]bool{}
		for _, i := range order {
			v := valueAt(i, tc.jsonType, tc.inDoc)
			if !seen[v] && len(wantIDs) < tc.limit {
				seen[v] = true
				wantIDs, wantVals = append(wantIDs, int64(i)), append(wantVals, v)
			}
		}
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption(name, tc.limit, []entity.Vector{entity.FloatVector(q)}).
			WithGroupByField(tc.field).WithSearchParam("json_path", tc.path).WithSearchParam("json_type", tc.jsonType).
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		got := ids(t, rs[0])
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("%s: hits %v, want %v", desc, got, wantIDs)
		}
		gv := rs[0].GroupByValue
		if gv == nil || gv.Len() != len(got) {
			t.Fatalf("%s: group values %v", desc, gv)
		}
		for i, want := range wantVals {
			var v any
			null, err := gv.IsNull(i)
			if err != nil {
				t.Fatal(err)
			}
			if !null {
				if v, err = gv.Get(i); err != nil {
					t.Fatal(err)
				}
			}
			if v != want {
				t.Fatalf("%s: hit %d (id %d) group value %v (%T), want %v (%T)", desc, i, got[i], v, v, want, want)
			}
		}
	}

	// The errors Milvus gives: a json_path of another field, and a value
	// that does not cast under strict_cast.
	search := func(kv ...string) error {
		opt := milvusclient.NewSearchOption(name, 3, []entity.Vector{entity.FloatVector(q)}).WithGroupByField("color").
			WithConsistencyLevel(entity.ClStrong)
		for i := 0; i+1 < len(kv); i += 2 {
			opt = opt.WithSearchParam(kv[i], kv[i+1])
		}
		_, err := cli.Search(ctx, opt)
		return err
	}
	if err := search("json_path", "doc"); err == nil || !strings.Contains(err.Error(), "fieldID not match with field name") {
		t.Fatalf("json_path of another field: %v", err)
	}
	if err := search("json_path", "color", "json_type", "Int64", "strict_cast", "true"); err == nil ||
		!strings.Contains(err.Error(), "failed to cast json value to int64_t, wrong json data inner type") {
		t.Fatalf("strict_cast: %v", err)
	}
}
