package e2e

import (
	"context"
	"encoding/binary"
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
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/protobuf/proto"
)

// Struct array fields (Milvus 2.6): the schema and index through the Go
// SDK; inserts, searches with embedding lists and queries through the raw
// gRPC service with the messages SDK 2.6.5 sends (SDK v2.6.2, which this
// module pins, has no vector-array columns or embedding-list vectors).

const saDim = 4

// saRow is one row of the test collection: id and its clips.
type saRow struct {
	id     int64
	labels []string
	embs   [][]float32
}

func saRows(r *rand.Rand, from, n int) []saRow {
	out := make([]saRow, n)
	for i := range out {
		id := int64(from + i)
		out[i].id = id
		for j := range 1 + r.IntN(3) {
			out[i].labels = append(out[i].labels, fmt.Sprintf("r%d_e%d", id, j))
			out[i].embs = append(out[i].embs, randomVectors(r, 1, saDim)[0])
		}
	}
	return out
}

// saFields is the insert request's fields_data for rows, as SDK 2.6.5's
// WithStructArrayColumn builds it.
func saFields(rows []saRow) []*schemapb.FieldData {
	ids := make([]int64, len(rows))
	vec := make([]float32, 0, len(rows)*saDim)
	var labels []*schemapb.ScalarField
	var embs []*schemapb.VectorField
	for i, row := range rows {
		ids[i] = row.id
		vec = append(vec, row.embs[0]...)
		labels = append(labels, &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: row.labels}}})
		var flat []float32
		for _, e := range row.embs {
			flat = append(flat, e...)
		}
		embs = append(embs, &schemapb.VectorField{Dim: saDim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: flat}}})
	}
	return []*schemapb.FieldData{
		{Type: schemapb.DataType_Int64, FieldName: "id", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: ids}}}}},
		{Type: schemapb.DataType_FloatVector, FieldName: "vec", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: saDim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: vec}}}}},
		{Type: schemapb.DataType_ArrayOfStruct, FieldName: "clips", Field: &schemapb.FieldData_StructArrays{StructArrays: &schemapb.StructArrayField{Fields: []*schemapb.FieldData{
			{Type: schemapb.DataType_Array, FieldName: "label", Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: labels, ElementType: schemapb.DataType_VarChar}}}}},
			{Type: schemapb.DataType_ArrayOfVector, FieldName: "emb", Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: saDim,
				Data: &schemapb.VectorField_VectorArray{VectorArray: &schemapb.VectorArray{Dim: saDim, Data: embs, ElementType: schemapb.DataType_FloatVector}}}}},
		}}}},
	}
}

// wideBeam is a search beam as wide as the test's element graphs: the
// tests compare with an exact oracle, and a graph (built in parallel, so
// not the same graph each run) is approximate at the default beam of 4K.
var wideBeam = &commonpb.KeyValuePair{Key: "params", Value: `{"ef": 1000}`}

// saSearch runs a MAX_SIM search of clips[emb] with one embedding list.
func saSearch(ctx context.Context, raw milvuspb.MilvusServiceClient, query [][]float32, k int, extra ...*commonpb.KeyValuePair) (*milvuspb.SearchResults, error) {
	ph := embListPlaceholder(query)
	params := append([]*commonpb.KeyValuePair{{Key: "anns_field", Value: "clips[emb]"}, {Key: "topk", Value: fmt.Sprint(k)}}, extra...)
	res, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: "sa", SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: ph}, Nq: 1, SearchParams: params,
		OutputFields: []string{"clips"}, ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	if err == nil {
		err = merr.Error(res.GetStatus())
	}
	return res, err
}

// saHybrid runs a hybrid search of vec (one vector) and clips[emb] (one
// embedding list) fused by the weighted ranker with weights [0, 1], so the
// fused order is the embedding-list search's; it outputs clips.
func saHybrid(ctx context.Context, raw milvuspb.MilvusServiceClient, query [][]float32, k int) (*milvuspb.SearchResults, error) {
	vec, _ := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{Tag: "$0", Type: commonpb.PlaceholderType_FloatVector,
		Values: [][]byte{floatBytes(query[0])}}}})
	sub := func(field string, ph []byte) *milvuspb.SearchRequest {
		return &milvuspb.SearchRequest{SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: ph}, DslType: commonpb.DslType_BoolExprV1, Nq: 1,
			SearchParams: []*commonpb.KeyValuePair{{Key: "anns_field", Value: field}, {Key: "topk", Value: fmt.Sprint(k)}, wideBeam}}
	}
	res, err := raw.HybridSearch(ctx, &milvuspb.HybridSearchRequest{CollectionName: "sa",
		Requests:     []*milvuspb.SearchRequest{sub("vec", vec), sub("clips[emb]", embListPlaceholder(query))},
		RankParams:   []*commonpb.KeyValuePair{{Key: "strategy", Value: "weighted"}, {Key: "params", Value: `{"weights": [0, 1]}`}, {Key: "limit", Value: fmt.Sprint(k)}},
		OutputFields: []string{"clips"}, ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	if err == nil {
		err = merr.Error(res.GetStatus())
	}
	return res, err
}

func floatBytes(v []float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// embListPlaceholder is the serialized placeholder group of one embedding
// list query.
func embListPlaceholder(query [][]float32) []byte {
	var b []byte
	for _, v := range query {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	ph, _ := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{Tag: "$0", Type: commonpb.PlaceholderType_EmbListFloatVector, Values: [][]byte{b}}}})
	return ph
}

// saOracle ranks rows by MAX_SIM_IP: the sum over the query's vectors of
// the largest inner product with a row's vectors.
func saOracle(rows map[int64]saRow, query [][]float32, k int) []int64 {
	type hit struct {
		id    int64
		score float64
	}
	var hits []hit
	for _, row := range rows {
		var sum float64
		for _, q := range query {
			best := math.Inf(-1)
			for _, e := range row.embs {
				var d float64
				for j := range q {
					d += float64(q[j]) * float64(e[j])
				}
				best = max(best, d)
			}
			sum += best
		}
		hits = append(hits, hit{row.id, sum})
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].score > hits[b].score })
	var ids []int64
	for _, h := range hits[:k] {
		ids = append(ids, h.id)
	}
	return ids
}

func TestStructArrayEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli, raw := srv.client(t), rawService(t, srv)
	ctx := testContext(t)

	clip := entity.NewStructSchema().
		WithField(entity.NewField().WithName("label").WithDataType(entity.FieldTypeVarChar).WithMaxLength(32).WithMaxCapacity(8)).
		WithField(entity.NewField().WithName("emb").WithDataType(entity.FieldTypeFloatVector).WithDim(saDim).WithMaxCapacity(8))
	schema := entity.NewSchema().WithName("sa").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(saDim)).
		WithField(entity.NewField().WithName("clips").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeStruct).
			WithMaxCapacity(8).WithStructSchema(clip))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("sa", schema)))

	// SDK v2.6.2 does not read struct_array_fields back: describe raw.
	desc, err := raw.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: "sa"})
	must(t, err)
	must(t, merr.Error(desc.GetStatus()))
	var names []string
	for _, f := range desc.GetSchema().GetFields() {
		names = append(names, f.GetName())
	}
	if !slices.Equal(names, []string{"id", "vec"}) {
		t.Fatalf("described fields %v", names)
	}
	sfs := desc.GetSchema().GetStructArrayFields()
	if len(sfs) != 1 || sfs[0].GetName() != "clips" || len(sfs[0].GetFields()) != 2 ||
		sfs[0].GetFields()[0].GetName() != "label" || sfs[0].GetFields()[0].GetDataType() != schemapb.DataType_Array ||
		sfs[0].GetFields()[1].GetName() != "emb" || sfs[0].GetFields()[1].GetDataType() != schemapb.DataType_ArrayOfVector ||
		sfs[0].GetFields()[1].GetElementType() != schemapb.DataType_FloatVector {
		t.Fatalf("described struct fields %v", sfs)
	}

	r := rand.New(rand.NewPCG(4, 2))
	all := map[int64]saRow{}
	insert := func(rows []saRow, upsert bool) {
		t.Helper()
		var st *commonpb.Status
		if upsert {
			res, err := raw.Upsert(ctx, &milvuspb.UpsertRequest{CollectionName: "sa", FieldsData: saFields(rows), NumRows: uint32(len(rows))})
			must(t, err)
			st = res.GetStatus()
		} else {
			res, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: "sa", FieldsData: saFields(rows), NumRows: uint32(len(rows))})
			must(t, err)
			st = res.GetStatus()
		}
		must(t, merr.Error(st))
		for _, row := range rows {
			all[row.id] = row
		}
	}
	insert(saRows(r, 0, 60), false)
	flush(t, ctx, cli, "sa")
	insert(saRows(r, 60, 20), false) // growing

	// A row whose sub-fields disagree on its element count is refused.
	bad := saFields(saRows(r, 500, 1))
	bad[2].GetStructArrays().Fields[0].GetScalars().GetArrayData().Data[0].GetStringData().Data = []string{"a", "b", "c", "d"}
	res, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: "sa", FieldsData: bad, NumRows: 1})
	if err == nil && merr.Error(res.GetStatus()) == nil {
		t.Fatal("a struct row with uneven sub-fields was inserted")
	}

	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption("sa", "vec", index.NewHNSWIndex(entity.L2, 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))
	it, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption("sa", "clips[emb]", index.NewHNSWIndex(entity.MetricType("MAX_SIM_IP"), 8, 32)))
	must(t, err)
	must(t, it.Await(ctx))
	if _, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption("sa", "clips[emb]", index.NewHNSWIndex(entity.L2, 8, 32)).WithIndexName("other")); err == nil {
		t.Fatal("a second index on clips[emb] was accepted")
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("sa"))
	must(t, err)
	must(t, lt.Await(ctx))

	query := randomVectors(r, 3, saDim)
	var checkHits func(string, func(context.Context, milvuspb.MilvusServiceClient, [][]float32, int) (*milvuspb.SearchResults, error))
	check := func(stage string) {
		t.Helper()
		checkHits(stage+": search", func(ctx context.Context, raw milvuspb.MilvusServiceClient, q [][]float32, k int) (*milvuspb.SearchResults, error) {
			return saSearch(ctx, raw, q, k, wideBeam)
		})
		checkHits(stage+": hybrid search", saHybrid)
	}
	checkHits = func(stage string, search func(context.Context, milvuspb.MilvusServiceClient, [][]float32, int) (*milvuspb.SearchResults, error)) {
		t.Helper()
		res, err := search(ctx, raw, query, 5)
		must(t, err)
		got := res.GetResults().GetIds().GetIntId().GetData()
		if want := saOracle(all, query, 5); !slices.Equal(got, want) {
			t.Fatalf("%s: MAX_SIM_IP top 5 %v, want %v", stage, got, want)
		}
		var clips *schemapb.FieldData
		for _, fd := range res.GetResults().GetFieldsData() {
			if fd.GetFieldName() == "clips" {
				clips = fd
			}
		}
		if clips.GetType() != schemapb.DataType_ArrayOfStruct || len(clips.GetStructArrays().GetFields()) != 2 {
			t.Fatalf("%s: clips output %v", stage, clips)
		}
		labels, embs := clips.GetStructArrays().GetFields()[0], clips.GetStructArrays().GetFields()[1]
		if labels.GetFieldName() != "label" || embs.GetFieldName() != "emb" {
			t.Fatalf("%s: sub-fields %q, %q", stage, labels.GetFieldName(), embs.GetFieldName())
		}
		for i, id := range got {
			if l := labels.GetScalars().GetArrayData().GetData()[i].GetStringData().GetData(); !slices.Equal(l, all[id].labels) {
				t.Fatalf("%s: hit %d labels %v, want %v", stage, id, l, all[id].labels)
			}
			var want []float32
			for _, e := range all[id].embs {
				want = append(want, e...)
			}
			if e := embs.GetVectors().GetVectorArray().GetData()[i].GetFloatVector().GetData(); !slices.Equal(e, want) {
				t.Fatalf("%s: hit %d embedding list %v, want %v", stage, id, e, want)
			}
		}
	}
	check("sealed and growing")

	if _, err := saSearch(ctx, raw, query, 5, &commonpb.KeyValuePair{Key: "params", Value: `{"radius": 0.1, "range_filter": 0.5}`}); err == nil || !strings.Contains(err.Error(), "range search") {
		t.Fatalf("range search on an embedding list: %v", err)
	}

	// Delete one row, upsert another: the search follows.
	dres, err := raw.Delete(ctx, &milvuspb.DeleteRequest{CollectionName: "sa", Expr: "id in [3, 70]"})
	must(t, err)
	must(t, merr.Error(dres.GetStatus()))
	delete(all, 3)
	delete(all, 70)
	up := saRows(r, 5, 1)
	up[0].embs = [][]float32{query[0], query[1], query[2]} // ranks high for MAX_SIM_IP
	up[0].labels = []string{"x", "y", "z"}
	insert(up, true)
	check("after delete and upsert")
	srv.stop()
	srv = startServer(t, dir)
	cli, raw = srv.client(t), rawService(t, srv)
	lt, err = cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption("sa"))
	must(t, err)
	must(t, lt.Await(ctx))
	check("after restart")
}
