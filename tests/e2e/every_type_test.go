package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// everyTypeSchema has a field of every type Milvus 2.6 has at the top
// level of a collection (struct array fields, which the Go SDK v2.6.2
// cannot insert, are tested in structarray_test.go), with the dynamic
// field enabled: six vector types and every scalar type.
func everyTypeSchema(name string) *entity.Schema {
	f := func(n string, t entity.FieldType) *entity.Field { return entity.NewField().WithName(n).WithDataType(t) }
	return entity.NewSchema().WithName(name).WithDynamicFieldEnabled(true).
		WithField(f("id", entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(f("b", entity.FieldTypeBool)).
		WithField(f("i8", entity.FieldTypeInt8)).
		WithField(f("i16", entity.FieldTypeInt16)).
		WithField(f("i32", entity.FieldTypeInt32)).
		WithField(f("i64", entity.FieldTypeInt64)).
		WithField(f("fl", entity.FieldTypeFloat)).
		WithField(f("db", entity.FieldTypeDouble)).
		WithField(f("s", entity.FieldTypeVarChar).WithMaxLength(64)).
		WithField(f("j", entity.FieldTypeJSON)).
		WithField(f("ai", entity.FieldTypeArray).WithElementType(entity.FieldTypeInt64).WithMaxCapacity(4)).
		WithField(f("as", entity.FieldTypeArray).WithElementType(entity.FieldTypeVarChar).WithMaxCapacity(4).WithMaxLength(16)).
		WithField(f("g", entity.FieldTypeGeometry)).
		WithField(f("ts", entity.FieldType(schemapb.DataType_Timestamptz))).
		WithField(f("fv", entity.FieldTypeFloatVector).WithDim(4)).
		WithField(f("bv", entity.FieldTypeBinaryVector).WithDim(16)).
		WithField(f("hv", entity.FieldTypeFloat16Vector).WithDim(4)).
		WithField(f("bfv", entity.FieldTypeBFloat16Vector).WithDim(4)).
		WithField(f("iv", entity.FieldTypeInt8Vector).WithDim(4)).
		WithField(f("sp", entity.FieldTypeSparseVector))
}

// TestEveryTypeFixture inserts a row of every type through the Go SDK's
// column-based encodings (Timestamptz as ISO strings, the only form the
// SDK v2.6.2 can encode; a column the schema lacks goes to the dynamic
// field), indexes every vector field, and reads every value back by query
// and a search of each vector field, before and after a restart.
func TestEveryTypeFixture(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	ctx := testContext(t)
	const name, n = "every_type", 24
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, everyTypeSchema(name))))

	r := rand.New(rand.NewPCG(9, 9))
	ids := make([]int64, n)
	bs, i8s, i16s, i32s, i64s := make([]bool, n), make([]int8, n), make([]int16, n), make([]int32, n), make([]int64, n)
	fls, dbs, ss, js := make([]float32, n), make([]float64, n), make([]string, n), make([][]byte, n)
	ais, ass, gs, tss, colors := make([][]int64, n), make([][]string, n), make([]string, n), make([]string, n), make([]string, n)
	fvs, hvs, bfvs := make([][]float32, n), make([][]float32, n), make([][]float32, n)
	bvs, ivs := make([][]byte, n), make([][]int8, n)
	sps := make([]entity.SparseEmbedding, n)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		ids[i] = int64(i)
		bs[i], i8s[i], i16s[i], i32s[i], i64s[i] = i%2 == 0, int8(i-10), int16(1000*i), int32(-70000*i), int64(i)<<40
		fls[i], dbs[i], ss[i] = float32(i)/4, float64(i)*1.5e10, fmt.Sprintf("str-%02d", i)
		js[i] = []byte(fmt.Sprintf(`{"k":%d,"tags":["t%d"]}`, i, i%3))
		ais[i], ass[i] = []int64{int64(i), int64(2 * i)}[:1+i%2], []string{fmt.Sprint("a", i)}
		gs[i] = fmt.Sprintf("POINT (%d %d)", i, -i)
		tss[i] = base.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
		colors[i] = []string{"red", "green", "blue"}[i%3]
		// Values exact in float16 and bfloat16, so they read back equal.
		fvs[i] = randomVectors(r, 1, 4)[0]
		hvs[i] = []float32{float32(i), 0.5, -1, 2}
		bfvs[i] = []float32{-float32(i), 1, 0.25, 4}
		bvs[i] = []byte{byte(i), byte(255 - i)}
		ivs[i] = []int8{int8(i), -1, 2, int8(-i)}
		se, err := entity.NewSliceSparseEmbedding([]uint32{uint32(i), uint32(i + 100)}, []float32{1, 0.5})
		must(t, err)
		sps[i] = se
	}
	jsonCol := column.NewColumnJSONBytes("j", js)
	_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).
		WithInt64Column("id", ids).WithBoolColumn("b", bs).WithInt8Column("i8", i8s).WithInt16Column("i16", i16s).
		WithInt32Column("i32", i32s).WithInt64Column("i64", i64s).
		WithColumns(column.NewColumnFloat("fl", fls), column.NewColumnDouble("db", dbs), jsonCol,
			column.NewColumnInt64Array("ai", ais), column.NewColumnVarCharArray("as", ass),
			column.NewColumnGeometryWKT("g", gs), isoColumn{column.NewColumnVarChar("ts", tss)},
			column.NewColumnSparseVectors("sp", sps), column.NewColumnVarChar("color", colors)).
		WithVarcharColumn("s", ss).
		WithFloatVectorColumn("fv", 4, fvs).WithFloat16VectorColumn("hv", 4, hvs).WithBFloat16VectorColumn("bfv", 4, bfvs).
		WithBinaryVectorColumn("bv", 16, bvs).WithInt8VectorColumn("iv", 4, ivs))
	if err != nil {
		t.Fatalf("insert: %v", err)
	}

	indexes := map[string]index.Index{
		"fv": index.NewFlatIndex(entity.L2), "hv": index.NewFlatIndex(entity.IP), "bfv": index.NewFlatIndex(entity.IP),
		"bv": index.NewBinFlatIndex(entity.HAMMING), "iv": index.NewHNSWIndex(entity.L2, 8, 32),
		"sp": index.NewSparseInvertedIndex(entity.IP, 0),
	}
	for field, idx := range indexes {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, field, idx))
		must(t, err)
		must(t, it.Await(ctx))
	}
	load(t, ctx, cli, name)

	check := func(stage string) {
		t.Helper()
		rs, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("*").
			WithConsistencyLevel(entity.ClStrong))
		if err != nil {
			t.Fatalf("%s: query: %v", stage, err)
		}
		if rs.ResultCount != n {
			t.Fatalf("%s: %d rows, want %d", stage, rs.ResultCount, n)
		}
		got := func(field string, i int) any {
			t.Helper()
			c := rs.GetColumn(field)
			if c == nil {
				t.Fatalf("%s: no column %s", stage, field)
			}
			v, err := c.Get(i)
			must(t, err)
			return v
		}
		for i := range n {
			id := got("id", i).(int64)
			want := map[string]any{
				"b": bs[id], "i8": i8s[id], "i16": i16s[id], "i32": i32s[id], "i64": i64s[id], "fl": fls[id], "db": dbs[id],
				"s": ss[id], "g": gs[id], "ts": base.Add(time.Duration(id) * time.Hour).UnixMicro(),
			}
			for field, w := range want {
				if g := got(field, i); fmt.Sprint(g) != fmt.Sprint(w) {
					t.Fatalf("%s: id %d %s = %v (%T), want %v", stage, id, field, g, g, w)
				}
			}
			var jv map[string]any
			must(t, json.Unmarshal(got("j", i).([]byte), &jv))
			if fmt.Sprint(jv["k"]) != fmt.Sprint(id) {
				t.Fatalf("%s: id %d json %v", stage, id, jv)
			}
			if g := got("ai", i).([]int64); !slices.Equal(g, ais[id]) {
				t.Fatalf("%s: id %d ai %v, want %v", stage, id, g, ais[id])
			}
			if g := got("as", i).([]string); !slices.Equal(g, ass[id]) {
				t.Fatalf("%s: id %d as %v, want %v", stage, id, g, ass[id])
			}
			if g := got("fv", i).(entity.FloatVector); !slices.Equal([]float32(g), fvs[id]) {
				t.Fatalf("%s: id %d fv %v", stage, id, g)
			}
			if g := got("hv", i).(entity.Float16Vector); !slices.Equal(g.ToFloat32Vector(), entity.FloatVector(hvs[id])) {
				t.Fatalf("%s: id %d hv %v, want %v", stage, id, g.ToFloat32Vector(), hvs[id])
			}
			if g := got("bfv", i).(entity.BFloat16Vector); !slices.Equal(g.ToFloat32Vector(), entity.FloatVector(bfvs[id])) {
				t.Fatalf("%s: id %d bfv %v, want %v", stage, id, g.ToFloat32Vector(), bfvs[id])
			}
			if g := got("bv", i).(entity.BinaryVector); !slices.Equal([]byte(g), bvs[id]) {
				t.Fatalf("%s: id %d bv %v", stage, id, g)
			}
			if g := got("iv", i).(entity.Int8Vector); !slices.Equal([]int8(g), ivs[id]) {
				t.Fatalf("%s: id %d iv %v", stage, id, g)
			}
			if g := got("sp", i).(entity.SparseEmbedding); g.Len() != 2 {
				t.Fatalf("%s: id %d sparse %v", stage, id, g)
			}
		}
		// The dynamic key, asked for by name.
		dyn, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("color").
			WithConsistencyLevel(entity.ClStrong))
		if err != nil || dyn.ResultCount != n {
			t.Fatalf("%s: query color: %v", stage, err)
		}
		for i := range n {
			id, err := dyn.GetColumn("id").GetAsInt64(i)
			must(t, err)
			if g, err := dyn.GetColumn("color").GetAsString(i); err != nil || g != colors[id] {
				t.Fatalf("%s: id %d dynamic color %q (%v), want %q", stage, id, g, err, colors[id])
			}
		}

		// A filter on each type.
		for expr, want := range map[string]int{
			"b == true": n / 2, "i8 < 0": 10, "i16 >= 20000": n - 20, "i32 < -70000": n - 2, "i64 > 0": n - 1,
			"fl >= 5.0": n - 20, "db < 1.5e10": 1, `s like "str-1%"`: 10, `j["k"] < 3`: 3, "array_contains(ai, 5)": 1,
			`array_contains(as, "a7")`: 1, "ST_WITHIN(g, 'POLYGON ((-0.5 0.5, 3.5 0.5, 3.5 -3.5, -0.5 -3.5, -0.5 0.5))')": 4,
			`ts >= ISO '2025-03-01T20:00:00Z'`: n - 8, `color == "red"`: n / 3,
		} {
			res, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(expr).WithOutputFields("id").
				WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				t.Fatalf("%s: filter %s: %v", stage, expr, err)
			}
			if res.ResultCount != want {
				t.Fatalf("%s: filter %s: %d rows, want %d", stage, expr, res.ResultCount, want)
			}
		}

		// A search of each vector field finds the row its query is.
		queries := map[string]entity.Vector{
			"fv": entity.FloatVector(fvs[5]), "hv": entity.FloatVector(hvs[5]).ToFloat16Vector(),
			"bfv": entity.FloatVector(bfvs[5]).ToBFloat16Vector(), "bv": entity.BinaryVector(bvs[5]),
			"iv": entity.Int8Vector(ivs[5]), "sp": sps[5],
		}
		for field, q := range queries {
			res, err := cli.Search(ctx, milvusclient.NewSearchOption(name, 3, []entity.Vector{q}).WithANNSField(field).
				WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				t.Fatalf("%s: search %s: %v", stage, field, err)
			}
			if res[0].ResultCount == 0 {
				t.Fatalf("%s: search %s: no hits", stage, field)
			}
			if field == "fv" || field == "bv" || field == "iv" {
				if top, _ := res[0].IDs.GetAsInt64(0); top != 5 {
					t.Fatalf("%s: search %s: top hit %d, want 5", stage, field, top)
				}
			}
		}
	}
	check("growing")
	flush(t, ctx, cli, name)
	check("sealed")
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	load(t, ctx, cli, name)
	check("after restart")
}
