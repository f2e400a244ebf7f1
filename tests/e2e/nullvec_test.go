package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// nullVecInsert inserts (or upserts) rows pks with float vectors vecs, a
// nil vector being null, as Milvus 2.6 clients send them: the vectors of
// the valid rows only, plus valid_data. (The Go SDK v2.6.2 has no nullable
// vector columns; later SDKs do.)
func nullVecInsert(t *testing.T, raw milvuspb.MilvusServiceClient, name string, dim int, pks []int64, vecs [][]float32, upsert bool) {
	t.Helper()
	valid := make([]bool, len(vecs))
	var flat []float32
	for i, v := range vecs {
		if v != nil {
			valid[i] = true
			flat = append(flat, v...)
		}
	}
	fields := []*schemapb.FieldData{
		{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
			Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: pks}}}}},
		{FieldName: "vec", Type: schemapb.DataType_FloatVector, ValidData: valid, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{
			Dim: int64(dim), Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: flat}}}}},
	}
	ctx := testContext(t)
	if upsert {
		resp, err := raw.Upsert(ctx, &milvuspb.UpsertRequest{CollectionName: name, NumRows: uint32(len(pks)), FieldsData: fields})
		must(t, statusErr(resp.GetStatus(), err))
		return
	}
	resp, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: name, NumRows: uint32(len(pks)), FieldsData: fields})
	must(t, statusErr(resp.GetStatus(), err))
}

// rawVectors reads a query result's float vector column, as an SDK with
// nullable vectors does: the payload holds the valid rows only.
func rawVectors(t *testing.T, fd *schemapb.FieldData) [][]float32 {
	t.Helper()
	data := fd.GetVectors().GetFloatVector().GetData()
	dim := int(fd.GetVectors().GetDim())
	valid := fd.GetValidData()
	out := make([][]float32, len(valid))
	j := 0
	for i, ok := range valid {
		if ok {
			if (j+1)*dim > len(data) {
				t.Fatalf("payload has %d values for %d valid rows of dim %d", len(data), j+1, dim)
			}
			out[i] = data[j*dim : (j+1)*dim]
			j++
		}
	}
	if j*dim != len(data) {
		t.Fatalf("payload has %d values for %d valid rows of dim %d", len(data), j, dim)
	}
	return out
}

// TestNullableVectors drives a nullable FloatVector field as Milvus 2.6
// users do: column-based inserts with null vectors and without the column, search
// skipping them (growing by scan, sealed through an HNSW index built over
// the valid rows), query returning them as null, and all of it again after
// a restart.
func TestNullableVectors(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const dim, n = 8, 7500 // enough valid rows (5000) that sealed searches go through the index
	schema := entity.NewSchema().WithName("nv").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim).WithNullable(true))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("nv", schema).WithConsistencyLevel(entity.ClStrong)))

	// Column-based: every third row null, the payload holds the valid rows only.
	r := rand.New(rand.NewPCG(3, 4))
	all := randomVectors(r, n, dim)
	pks := make([]int64, n)
	vecs := make([][]float32, n)
	isNull := map[int64]bool{}
	for i := range n {
		pks[i] = int64(i)
		if i%3 != 0 {
			vecs[i] = all[i]
		} else {
			isNull[int64(i)] = true
		}
	}
	raw := rawService(t, srv)
	nullVecInsert(t, raw, "nv", dim, pks, vecs, false)
	// A missing nullable vector column is all null.
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("nv").WithInt64Column("id", []int64{n}))
	must(t, err)
	isNull[n] = true
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption("nv").WithInt64Column("id", []int64{n + 1}).
		WithFloatVectorColumn("vec", dim, [][]float32{all[1]}))
	must(t, err)

	checkSearch := func(stage string) {
		t.Helper()
		rs, err := cli.Search(ctx, milvusclient.NewSearchOption("nv", 50, []entity.Vector{entity.FloatVector(all[0]), entity.FloatVector(all[1])}).
			WithANNSField("vec").WithOutputFields("vec"))
		must(t, err)
		for q, res := range rs {
			if res.ResultCount != 50 {
				t.Fatalf("%s: query %d: %d hits, want 50", stage, q, res.ResultCount)
			}
			for i := range res.ResultCount {
				id, _ := res.IDs.GetAsInt64(i)
				if isNull[id] {
					t.Fatalf("%s: query %d returned the null-vector row %d", stage, q, id)
				}
				if v, err := res.GetColumn("vec").Get(i); err != nil || len(v.(entity.FloatVector)) != dim {
					t.Fatalf("%s: hit %d (id %d) has no vector (%v)", stage, i, id, err)
				}
			}
		}
		// Row 0's vector is null: the best hit for it is not row 0.
		if id, _ := rs[1].IDs.GetAsInt64(0); id != 1 && id != n+1 {
			t.Errorf("%s: best hit for row 1's vector is %d", stage, id)
		}
	}
	checkQuery := func(stage string) {
		t.Helper()
		qr, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: "nv", Expr: fmt.Sprintf("id in [0, 1, 2, 3, %d, %d]", n, n+1),
			OutputFields: []string{"id", "vec"}, ConsistencyLevel: 2 /* Strong */})
		must(t, statusErr(qr.GetStatus(), err))
		var ids []int64
		var vs [][]float32
		for _, fd := range qr.GetFieldsData() {
			switch fd.GetFieldName() {
			case "id":
				ids = fd.GetScalars().GetLongData().GetData()
			case "vec":
				vs = rawVectors(t, fd)
			}
		}
		if len(ids) != 6 || len(vs) != 6 {
			t.Fatalf("%s: query: %d ids, %d vectors", stage, len(ids), len(vs))
		}
		for i, id := range ids {
			if null := vs[i] == nil; null != isNull[id] {
				t.Errorf("%s: id %d: null %v, want %v", stage, id, null, isNull[id])
				continue
			}
			want := all[id%int64(n)]
			if id == n+1 {
				want = all[1]
			}
			if vs[i] != nil && !slices.Equal(vs[i], want) {
				t.Errorf("%s: id %d: vector %v, want %v", stage, id, vs[i], want)
			}
		}
	}

	indexAndLoad(t, ctx, cli, "nv", "vec", index.NewFlatIndex(entity.L2)) // growing data: scanned
	checkSearch("growing")
	checkQuery("growing")

	flush(t, ctx, cli, "nv")
	must(t, cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption("nv")))
	must(t, cli.DropIndex(ctx, milvusclient.NewDropIndexOption("nv", "vec")))
	indexAndLoad(t, ctx, cli, "nv", "vec", index.NewHNSWIndex(entity.L2, 8, 64))
	checkSearch("sealed, HNSW")
	checkQuery("sealed, HNSW")

	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	raw = rawService(t, srv)
	load(t, ctx, cli, "nv")
	checkSearch("after restart")
	checkQuery("after restart")

	// Search by primary keys: a row whose vector is null gets no hits.
	sr, err := raw.Search(ctx, &milvuspb.SearchRequest{CollectionName: "nv", DslType: commonpb.DslType_BoolExprV1,
		SearchParams:     []*commonpb.KeyValuePair{{Key: "topk", Value: "5"}, {Key: "anns_field", Value: "vec"}},
		SearchInput:      &milvuspb.SearchRequest_Ids{Ids: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{3, 2}}}}},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong})
	must(t, statusErr(sr.GetStatus(), err))
	if res := sr.GetResults(); res.GetNumQueries() != 2 || !slices.Equal(res.GetTopks(), []int64{0, 5}) || res.GetIds().GetIntId().GetData()[0] != 2 {
		t.Fatalf("search by ids [3 (null), 2]: nq %d topks %v ids %v", res.GetNumQueries(), res.GetTopks(), res.GetIds().GetIntId().GetData())
	}

	// Deleting a valid row and upserting a null one over it.
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption("nv").WithInt64IDs("id", []int64{1}))
	must(t, err)
	nullVecInsert(t, raw, "nv", dim, []int64{n + 1}, [][]float32{nil}, true)
	isNull[n+1] = true
	rs, err := cli.Search(ctx, milvusclient.NewSearchOption("nv", 10, []entity.Vector{entity.FloatVector(all[1])}).WithANNSField("vec"))
	must(t, err)
	for i := range rs[0].ResultCount {
		if id, _ := rs[0].IDs.GetAsInt64(i); id == 1 || id == n+1 {
			t.Errorf("hit %d is row %d, deleted or now null", i, id)
		}
	}
}

// TestNullableVectorRules pins Milvus's schema rules: every vector type
// may be nullable, none may have a default value.
func TestNullableVectorRules(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cli := srv.client(t)
	ctx := testContext(t)
	pk := entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)
	for _, ft := range []entity.FieldType{entity.FieldTypeFloatVector, entity.FieldTypeBinaryVector, entity.FieldTypeFloat16Vector,
		entity.FieldTypeBFloat16Vector, entity.FieldTypeInt8Vector, entity.FieldTypeSparseVector} {
		f := entity.NewField().WithName("v").WithDataType(ft).WithNullable(true)
		if ft != entity.FieldTypeSparseVector {
			f.WithDim(16)
		}
		must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("ok"+ft.Name(), entity.NewSchema().WithName("ok"+ft.Name()).WithField(pk).WithField(f))))
		d := entity.NewField().WithName("v").WithDataType(ft).WithDefaultValueFloat(1)
		if ft != entity.FieldTypeSparseVector {
			d.WithDim(16)
		}
		err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("bad"+ft.Name(), entity.NewSchema().WithName("bad"+ft.Name()).WithField(pk).WithField(d)))
		wantCode(t, err, 1100, "type not support default_value")
	}
}

// TestRESTNullableVectors inserts rows with null (and missing) vectors
// through REST v2, searches (null rows never hit) and queries them back as
// null.
func TestRESTNullableVectors(t *testing.T) {
	srv := startServer(t, "")
	base := "http://" + srv.addr
	ctx := testContext(t)
	cli := srv.client(t)
	schema := entity.NewSchema().WithName("rnv").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(4).WithNullable(true))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("rnv", schema)))
	indexAndLoad(t, ctx, cli, "rnv", "vec", index.NewFlatIndex(entity.L2))

	rows := []map[string]any{
		{"id": 1, "vec": []float32{0, 0, 0, 1}},
		{"id": 2, "vec": nil},
		{"id": 3, "vec": []float32{0, 1, 0, 0}},
		{"id": 4},
	}
	ins := restOK(t, base, "/entities/insert", map[string]any{"collectionName": "rnv", "data": rows}).(map[string]any)
	if restInt(t, ins["insertCount"]) != 4 {
		t.Fatalf("insert: %v", ins)
	}
	hits := restRows(t, restOK(t, base, "/entities/search", map[string]any{"collectionName": "rnv",
		"data": [][]float32{{0, 0, 0, 0}}, "limit": 10, "outputFields": []string{"vec"}, "consistencyLevel": "Strong"}))
	if len(hits) != 2 {
		t.Fatalf("search: %d hits, want the 2 rows with a vector: %v", len(hits), hits)
	}
	for _, h := range hits {
		if id := restInt(t, h["id"]); id != 1 && id != 3 {
			t.Errorf("search hit row %d, whose vector is null", id)
		}
	}
	got := restRows(t, restOK(t, base, "/entities/query", map[string]any{"collectionName": "rnv", "filter": "id > 0",
		"outputFields": []string{"id", "vec"}, "consistencyLevel": "Strong"}))
	if len(got) != 4 {
		t.Fatalf("query: %v", got)
	}
	for _, r := range got {
		id := restInt(t, r["id"])
		if null := r["vec"] == nil; null != (id == 2 || id == 4) {
			t.Errorf("row %d: vec %v", id, r["vec"])
		}
	}
}
