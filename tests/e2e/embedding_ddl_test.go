package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/embedding/embeddingtest"
)

// teFunction is a TEI text_embedding function from text to dense.
func teFunction(name, endpoint string, params ...string) *schemapb.FunctionSchema {
	fn := &schemapb.FunctionSchema{Name: name, Type: schemapb.FunctionType_TextEmbedding,
		InputFieldNames: []string{"text"}, OutputFieldNames: []string{"dense"},
		Params: []*commonpb.KeyValuePair{{Key: "provider", Value: "TEI"}, {Key: "endpoint", Value: endpoint}}}
	for i := 0; i+1 < len(params); i += 2 {
		fn.Params = append(fn.Params, &commonpb.KeyValuePair{Key: params[i], Value: params[i+1]})
	}
	return fn
}

// denseOf queries the dense vectors of ids, by id.
func denseOf(t *testing.T, ctx context.Context, cli *milvusclient.Client, name string, n int) map[int64][]float32 {
	t.Helper()
	rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("dense").
		WithConsistencyLevel(entity.ClStrong).WithLimit(100))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if rs.ResultCount != n {
		t.Fatalf("query: %d rows, want %d", rs.ResultCount, n)
	}
	out := map[int64][]float32{}
	ids := rs.GetColumn("id").(*column.ColumnInt64).Data()
	vecs := rs.GetColumn("dense").(*column.ColumnFloatVector).Data()
	for i, id := range ids {
		out[id] = vecs[i]
	}
	return out
}

// TestTextEmbeddingFunctionDDL: a TextEmbedding function added to a live,
// loaded collection (gRPC, then REST) with Milvus's checks and texts; rows
// written before it keep their vectors, rows written after it get the
// model's, raw-text searches are embedded; the function survives a
// restart; altering it changes later writes; dropping it makes the vector
// field ordinary again.
func TestTextEmbeddingFunctionDDL(t *testing.T) {
	tei := embeddingtest.Start(embeddingtest.Options{Dim: teDim})
	defer tei.Close()
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	raw := rawClient(t, srv)
	ctx := testContext(t)
	const name = "te_ddl"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("text").WithDataType(entity.FieldTypeVarChar).WithMaxLength(512)).
		WithField(entity.NewField().WithName("dense").WithDataType(entity.FieldTypeFloatVector).WithDim(teDim)).
		WithField(entity.NewField().WithName("small").WithDataType(entity.FieldTypeFloatVector).WithDim(8))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatal(err)
	}
	// Rows before the function carry their own vectors.
	unit := make([]float32, teDim)
	unit[0] = 1
	small := make([]float32, 8)
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{0, 1}).
		WithVarcharColumn("text", []string{"old alpha", "old beta"}).WithFloatVectorColumn("dense", teDim, [][]float32{unit, unit}).
		WithFloatVectorColumn("small", 8, [][]float32{small, small})); err != nil {
		t.Fatalf("insert before the function: %v", err)
	}
	for _, f := range []string{"dense", "small"} {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, f, index.NewFlatIndex(entity.COSINE)))
		must(t, err)
		must(t, it.Await(ctx))
	}
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	must(t, err)
	must(t, lt.Await(ctx))

	add := func(fn *schemapb.FunctionSchema) *commonpb.Status {
		t.Helper()
		st, err := raw.AddCollectionFunction(ctx, &milvuspb.AddCollectionFunctionRequest{CollectionName: name, FunctionSchema: fn})
		must(t, err)
		return st
	}
	wantReason := func(what string, st *commonpb.Status, msg string) {
		t.Helper()
		if !strings.Contains(st.GetReason(), msg) {
			t.Errorf("%s: %v; want %q", what, st, msg)
		}
	}
	missing := teFunction("te", tei.URL())
	missing.OutputFieldNames = []string{"nope"}
	wantReason("missing output", add(missing), "function output field not found: nope")
	wrongDim := teFunction("te", tei.URL())
	wrongDim.OutputFieldNames = []string{"small"}
	wantReason("wrong dim", add(wrongDim), "check function [te:TextEmbedding] failed, the err is: the required embedding dim is [8], but the embedding obtained from the model is [64]")
	wantReason("unreachable", add(teFunction("te", "http://127.0.0.1:1")), "call service failed")
	wantReason("no schema", add(nil), "function schema is empty")

	if st := add(teFunction("te", tei.URL())); st.GetCode() != 0 {
		t.Fatalf("add function: %v", st)
	}
	wantReason("same name", add(teFunction("te", tei.URL())), "duplicate function name: te")
	other := teFunction("te2", tei.URL())
	wantReason("output owned", add(other), "duplicate function output field: function te2, field dense")

	// The SDK refreshes its schema (code 109) and sends text only.
	newTexts := []string{"new gamma ray", "new delta river"}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{2, 3}).
		WithVarcharColumn("text", newTexts).WithFloatVectorColumn("small", 8, [][]float32{small, small})); err != nil {
		t.Fatalf("insert after the function: %v", err)
	}
	check := func(when string, n int, want map[int64][]float32) {
		t.Helper()
		got := denseOf(t, ctx, cli, name, n)
		for id, v := range want {
			if !slices.Equal(got[id], v) {
				t.Fatalf("%s: row %d's vector is not the expected one", when, id)
			}
		}
	}
	want := map[int64][]float32{0: unit, 1: unit, 2: tei.Embed(newTexts[0]), 3: tei.Embed(newTexts[1])}
	check("after add", 4, want)
	search := func(when, q string, wantID int64) {
		t.Helper()
		res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 2, []entity.Vector{entity.Text(q)}).WithANNSField("dense").
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("%s: search: %v", when, err)
		}
		if got := res[0].IDs.(*column.ColumnInt64).Data(); len(got) == 0 || got[0] != wantID {
			t.Fatalf("%s: search %q: ids %v, want %d first", when, q, got, wantID)
		}
	}
	search("after add", "delta river", 3)

	d, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	if len(d.Schema.Functions) != 1 || d.Schema.Functions[0].Name != "te" {
		t.Fatalf("described functions: %+v", d.Schema.Functions)
	}

	// Restart: the function is stored.
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	raw = rawClient(t, srv)
	insertSmall := func(ids []int64, texts []string) {
		t.Helper()
		smalls := make([][]float32, len(ids))
		for i := range smalls {
			smalls[i] = small
		}
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithVarcharColumn("text", texts).WithFloatVectorColumn("small", 8, smalls)); err != nil {
			t.Fatalf("insert %v: %v", ids, err)
		}
	}
	insertSmall([]int64{4}, []string{"restart epsilon"})
	want[4] = tei.Embed("restart epsilon")
	check("after restart", 5, want)
	search("after restart", "epsilon", 4)

	// Alter: a name that does not match, an absent function, then a new
	// ingestion prompt for later writes.
	alter := func(fnName string, fn *schemapb.FunctionSchema) *commonpb.Status {
		t.Helper()
		st, err := raw.AlterCollectionFunction(ctx, &milvuspb.AlterCollectionFunctionRequest{CollectionName: name, FunctionName: fnName, FunctionSchema: fn})
		must(t, err)
		return st
	}
	wantReason("alter name mismatch", alter("x", teFunction("te", tei.URL())), "invalid function config, name not match")
	wantReason("alter absent", alter("x", teFunction("x", tei.URL())), "function x not found")
	if st := alter("te", teFunction("te", tei.URL(), "ingestion_prompt", "passage: ")); st.GetCode() != 0 {
		t.Fatalf("alter: %v", st)
	}
	insertSmall([]int64{5}, []string{"zeta"})
	want[5] = tei.Embed("passage: zeta")
	check("after alter", 6, want)

	// Drop: dense is an ordinary field again, which writes must carry.
	st, err := raw.DropCollectionFunction(ctx, &milvuspb.DropCollectionFunctionRequest{CollectionName: name, FunctionName: "te"})
	if err != nil || st.GetCode() != 0 {
		t.Fatalf("drop: %v %v", st, err)
	}
	d, err = cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	if len(d.Schema.Functions) != 0 {
		t.Fatalf("functions after drop: %+v", d.Schema.Functions)
	}
	if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{6}).
		WithVarcharColumn("text", []string{"eta"}).WithFloatVectorColumn("dense", teDim, [][]float32{unit}).
		WithFloatVectorColumn("small", 8, [][]float32{small})); err != nil {
		t.Fatalf("insert with vectors after the drop: %v", err)
	}
	want[6] = unit
	check("after drop", 7, want)

	// REST: add_function and alter_function on the same collection.
	base := "http://" + srv.addr
	fn := map[string]any{"name": "te", "type": "TextEmbedding", "inputFieldNames": []string{"text"}, "outputFieldNames": []string{"dense"},
		"params": map[string]any{"provider": "TEI", "endpoint": tei.URL()}}
	restOK(t, base, "/collections/add_function", map[string]any{"collectionName": name, "function": fn})
	restOK(t, base, "/entities/insert", map[string]any{"collectionName": name, "data": []map[string]any{
		{"id": 7, "text": "theta rest", "small": small}}})
	want[7] = tei.Embed("theta rest")
	check("after REST add", 8, want)
	fn["params"] = map[string]any{"provider": "TEI", "endpoint": tei.URL(), "ingestion_prompt": "doc: "}
	restOK(t, base, "/collections/alter_function", map[string]any{"collectionName": name, "functionName": "te", "function": fn})
	restOK(t, base, "/entities/insert", map[string]any{"collectionName": name, "data": []map[string]any{
		{"id": 8, "text": "iota", "small": small}}})
	want[8] = tei.Embed("doc: iota")
	check("after REST alter", 9, want)
	m := restPost(t, base, "/collections/alter_function", map[string]any{"collectionName": name, "functionName": "te",
		"function": map[string]any{"name": "te", "type": "TextEmbedding", "inputFieldNames": []string{"text"}, "outputFieldNames": []string{"small"},
			"params": map[string]any{"provider": "TEI", "endpoint": tei.URL()}}})
	if !strings.Contains(m["message"].(string), "the required embedding dim is [8]") {
		t.Fatalf("REST alter to a field of another dim: %v", m)
	}
}
