package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/protobuf/proto"
)

// Element-level filters on a struct array field (element_filter and
// MATCH_*), end to end: schema and queries through the Go SDK, inserts
// through the raw service (SDK v2.6.2 has no struct columns), checked
// against a direct evaluation of the rows, on sealed and growing segments,
// in a MAX_SIM search, with a scalar index on a sub-field, and after a
// restart.

// seElem is one element of structA: {int_val, color, emb}.
type seElem struct {
	i     int32
	color string
	emb   []float32
}

type seRow struct {
	id    int64
	doc   int64
	elems []seElem
}

var seColors = []string{"Red", "Blue", "Green"}

func seRows(r *rand.Rand, from, n int) []seRow {
	out := make([]seRow, n)
	for k := range out {
		row := seRow{id: int64(from + k), doc: int64(r.IntN(200))}
		for range 1 + r.IntN(4) {
			row.elems = append(row.elems, seElem{int32(r.IntN(100)), seColors[r.IntN(3)], randomVectors(r, 1, saDim)[0]})
		}
		out[k] = row
	}
	return out
}

func seFields(rows []seRow) []*schemapb.FieldData {
	ids, docs := make([]int64, len(rows)), make([]int64, len(rows))
	var ints, colors []*schemapb.ScalarField
	var embs []*schemapb.VectorField
	for k, row := range rows {
		ids[k], docs[k] = row.id, row.doc
		var iv []int32
		var cv []string
		var ev []float32
		for _, e := range row.elems {
			iv, cv, ev = append(iv, e.i), append(cv, e.color), append(ev, e.emb...)
		}
		ints = append(ints, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: iv}}})
		colors = append(colors, &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: cv}}})
		embs = append(embs, &schemapb.VectorField{Dim: saDim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: ev}}})
	}
	long := func(name string, xs []int64) *schemapb.FieldData {
		return &schemapb.FieldData{Type: schemapb.DataType_Int64, FieldName: name, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: xs}}}}}
	}
	arr := func(name string, t schemapb.DataType, rows []*schemapb.ScalarField) *schemapb.FieldData {
		return &schemapb.FieldData{Type: schemapb.DataType_Array, FieldName: name, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: rows, ElementType: t}}}}}
	}
	return []*schemapb.FieldData{
		long("id", ids), long("doc_int", docs),
		{Type: schemapb.DataType_FloatVector, FieldName: "vec", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: saDim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, saDim*len(rows))}}}}},
		{Type: schemapb.DataType_ArrayOfStruct, FieldName: "structA", Field: &schemapb.FieldData_StructArrays{StructArrays: &schemapb.StructArrayField{Fields: []*schemapb.FieldData{
			arr("int_val", schemapb.DataType_Int32, ints),
			arr("color", schemapb.DataType_VarChar, colors),
			{Type: schemapb.DataType_ArrayOfVector, FieldName: "emb", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: saDim,
				Data: &schemapb.VectorField_VectorArray{VectorArray: &schemapb.VectorArray{Dim: saDim, Data: embs, ElementType: schemapb.DataType_FloatVector}}}}},
		}}}},
	}
}

// seCase is a filter and its direct evaluation on a row.
type seCase struct {
	expr string
	want func(seRow) bool
}

func seCount(row seRow, pred func(seElem) bool) int {
	n := 0
	for _, e := range row.elems {
		if pred(e) {
			n++
		}
	}
	return n
}

func seCases() []seCase {
	red := func(e seElem) bool { return e.color == "Red" }
	redBig := func(e seElem) bool { return e.color == "Red" && e.i > 50 }
	big := func(e seElem) bool { return e.i > 30 }
	return []seCase{
		{`element_filter(structA, $[color] == "Red" && $[int_val] > 50)`, func(r seRow) bool { return seCount(r, redBig) > 0 }},
		{`doc_int > 100 && element_filter(structA, $[color] == "Red")`, func(r seRow) bool { return r.doc > 100 && seCount(r, red) > 0 }},
		{`MATCH_ANY(structA, $[int_val] > 30)`, func(r seRow) bool { return seCount(r, big) > 0 }},
		{`MATCH_ALL(structA, $[int_val] > 30)`, func(r seRow) bool { return seCount(r, big) == len(r.elems) }},
		{`MATCH_LEAST(structA, $[int_val] > 30, threshold=2)`, func(r seRow) bool { return seCount(r, big) >= 2 }},
		{`MATCH_MOST(structA, $[color] == "Red", threshold=1)`, func(r seRow) bool { return seCount(r, red) <= 1 }},
		{`MATCH_EXACT(structA, $[color] == "Red", threshold=2)`, func(r seRow) bool { return seCount(r, red) == 2 }},
		{`not element_filter(structA, $[color] in ["Red", "Blue"])`, func(r seRow) bool {
			return seCount(r, func(e seElem) bool { return e.color != "Green" }) == 0
		}},
		{`array_contains(structA[color], "Green")`, func(r seRow) bool {
			return seCount(r, func(e seElem) bool { return e.color == "Green" }) > 0
		}},
	}
}

func TestStructArrayElementFilters(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli, raw := srv.client(t), rawService(t, srv)
	ctx := testContext(t)

	sub := entity.NewStructSchema().
		WithField(entity.NewField().WithName("int_val").WithDataType(entity.FieldTypeInt32).WithMaxCapacity(8)).
		WithField(entity.NewField().WithName("color").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithMaxCapacity(8)).
		WithField(entity.NewField().WithName("emb").WithDataType(entity.FieldTypeFloatVector).WithDim(saDim).WithMaxCapacity(8))
	schema := entity.NewSchema().WithName("se").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("doc_int").WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(saDim)).
		WithField(entity.NewField().WithName("structA").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeStruct).
			WithMaxCapacity(8).WithStructSchema(sub))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("se", schema)))

	r := rand.New(rand.NewPCG(7, 11))
	all := map[int64]seRow{}
	insert := func(rows []seRow) {
		t.Helper()
		res, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: "se", FieldsData: seFields(rows), NumRows: uint32(len(rows))})
		must(t, err)
		must(t, merr.Error(res.GetStatus()))
		for _, row := range rows {
			all[row.id] = row
		}
	}
	insert(seRows(r, 0, 300))
	flush(t, ctx, cli, "se")
	insert(seRows(r, 300, 100)) // growing

	for _, f := range []struct {
		field string
		idx   index.Index
	}{
		{"vec", index.NewFlatIndex(entity.L2)},
		{"structA[emb]", index.NewHNSWIndex(entity.MetricType("MAX_SIM_IP"), 8, 32)},
		{"structA[color]", index.NewInvertedIndex()},
	} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption("se", f.field, f.idx))
		must(t, err)
		must(t, it.Await(ctx))
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("se"))
	must(t, err)
	must(t, lt.Await(ctx))

	check := func(stage string) {
		t.Helper()
		for _, c := range seCases() {
			var want []int64
			for id, row := range all {
				if c.want(row) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			rs, err := cli.Query(ctx, milvusclient.NewQueryOption("se").WithFilter(c.expr).WithOutputFields("id").
				WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			got := append([]int64(nil), rs.GetColumn("id").(*column.ColumnInt64).Data()...)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %s: got %d rows %v, want %d rows %v", stage, c.expr, len(got), got, len(want), want)
			}
			cnt, err := cli.Query(ctx, milvusclient.NewQueryOption("se").WithFilter(c.expr).WithOutputFields("count(*)").
				WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			if n, _ := cnt.GetColumn("count(*)").GetAsInt64(0); n != int64(len(want)) {
				t.Fatalf("%s: count(*) where %s = %d, want %d", stage, c.expr, n, len(want))
			}
		}

		// A MAX_SIM search filtered at element level ranks only the rows
		// the filter keeps, by the same scores as without the filter.
		query := [][]float32{all[5].elems[0].emb}
		filter := `element_filter(structA, $[color] == "Blue" && $[int_val] < 60)`
		res, err := seSearch(ctx, raw, query, 10, filter)
		must(t, err)
		keep := map[int64]saRow{}
		for id, row := range all {
			if seCount(row, func(e seElem) bool { return e.color == "Blue" && e.i < 60 }) > 0 {
				keep[id] = seRowAsSA(row)
			}
		}
		got := res.GetResults().GetIds().GetIntId().GetData()
		if want := saOracle(keep, query, 10); !slices.Equal(got, want) {
			t.Fatalf("%s: filtered MAX_SIM top 10 %v, want %v", stage, got, want)
		}
		// An element-level search (one plain vector, an element metric)
		// ranks each row by its best element among those element_filter
		// keeps.
		q := all[7].elems[0].emb
		blue := func(e seElem) bool { return e.color == "Blue" }
		type hit struct {
			id    int64
			score float64
		}
		var hits []hit
		for id, row := range all {
			best, ok := math.Inf(-1), false
			for _, e := range row.elems {
				if blue(e) {
					var d float64
					for j := range q {
						d += float64(q[j]) * float64(e.emb[j])
					}
					best, ok = math.Max(best, d), true
				}
			}
			if ok {
				hits = append(hits, hit{id, best})
			}
		}
		sort.Slice(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
		vres, err := cli.Search(ctx, milvusclient.NewSearchOption("se", 10, []entity.Vector{entity.FloatVector(q)}).
			WithANNSField("structA[emb]").WithSearchParam("metric_type", "IP").
			WithFilter(`element_filter(structA, $[color] == "Blue")`).WithConsistencyLevel(entity.ClStrong))
		must(t, err)
		for j := 0; j < 10; j++ {
			id, _ := vres[0].IDs.GetAsInt64(j)
			if id != hits[j].id && math.Abs(float64(vres[0].Scores[j])-hits[j].score) > 1e-4 {
				t.Fatalf("%s: element-level rank %d: id %d score %v, want id %d score %v", stage, j, id, vres[0].Scores[j], hits[j].id, hits[j].score)
			}
		}
	}
	check("sealed and growing")

	// Element-level errors are Milvus's parameter errors.
	for expr, want := range map[string]string{
		`$[int_val] > 1`: "$[int_val] syntax can only be used inside ElementFilter or MATCH_*",
		`element_filter(structA, element_filter(structA, $[int_val] > 1))`: "nested ElementFilter is not supported",
		`element_filter(structA, $[nope] > 1)`:                             "array field not found: structA[nope]",
		`MATCH_LEAST(structA, $[int_val] > 1, threshold=0)`:                "count in MATCH_LEAST must be positive",
	} {
		_, err := cli.Query(ctx, milvusclient.NewQueryOption("se").WithFilter(expr).WithOutputFields("id"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: got %v, want %q", expr, err, want)
		}
	}

	// Milvus 2.6 adds no struct array field to a live collection: its
	// AddCollectionField takes a FieldSchema, and the root coordinator
	// refuses an ArrayOfStruct one.
	err = cli.AddCollectionField(ctx, milvusclient.NewAddCollectionFieldOption("se",
		entity.NewField().WithName("structB").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeStruct).
			WithMaxCapacity(4).WithNullable(true)))
	if err == nil || !strings.Contains(err.Error(), "element type Struct is not supported") {
		t.Fatalf("adding a struct array field: %v", err)
	}
	fs, _ := proto.Marshal(&schemapb.FieldSchema{Name: "structC", DataType: schemapb.DataType_ArrayOfStruct, Nullable: true})
	st, err := raw.AddCollectionField(ctx, &milvuspb.AddCollectionFieldRequest{CollectionName: "se", Schema: fs})
	must(t, err)
	if err := merr.Error(st); err == nil || !strings.Contains(err.Error(), "failed to check field schema: Invalid field type, type:ArrayOfStruct, name:structC") {
		t.Fatalf("adding an ArrayOfStruct field: %v", err)
	}

	insert(seRows(r, 400, 50)) // growing again before the restart
	srv.stop()
	srv = startServer(t, dir)
	cli, raw = srv.client(t), rawService(t, srv)
	lt, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("se"))
	must(t, err)
	must(t, lt.Await(ctx))
	check("after restart")
}

// seRowAsSA is row as the MAX_SIM oracle's row.
func seRowAsSA(row seRow) saRow {
	out := saRow{id: row.id}
	for _, e := range row.elems {
		out.embs = append(out.embs, e.emb)
	}
	return out
}

func seSearch(ctx context.Context, raw milvuspb.MilvusServiceClient, query [][]float32, k int, filter string) (*milvuspb.SearchResults, error) {
	ph := embListPlaceholder(query)
	res, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: "se", Dsl: filter, DslType: commonpb.DslType_BoolExprV1,
		SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: ph}, Nq: 1,
		SearchParams:     []*commonpb.KeyValuePair{{Key: "anns_field", Value: "structA[emb]"}, {Key: "topk", Value: fmt.Sprint(k)}, wideBeam},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	if err == nil {
		err = merr.Error(res.GetStatus())
	}
	return res, err
}
