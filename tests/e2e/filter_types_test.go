package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestFilterOtherTypes covers the types outside the main filter
// collection: a VarChar primary key, Int8, Int16 and Float (compared in
// float32, as segcore does) columns, and Bool, Float and Double arrays.
func TestFilterOtherTypes(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const coll, n = "filter_types", 120

	schema := entity.NewSchema().WithName(coll).
		WithField(entity.NewField().WithName("pk").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("i8").WithDataType(entity.FieldTypeInt8)).
		WithField(entity.NewField().WithName("i16").WithDataType(entity.FieldTypeInt16)).
		WithField(entity.NewField().WithName("f").WithDataType(entity.FieldTypeFloat)).
		WithField(entity.NewField().WithName("ab").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeBool).WithMaxCapacity(4)).
		WithField(entity.NewField().WithName("af").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeFloat).WithMaxCapacity(4)).
		WithField(entity.NewField().WithName("ad").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeDouble).WithMaxCapacity(4)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(filterDim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema)))

	type row struct {
		pk  string
		i8  int8
		i16 int16
		f   float32
		ab  []bool
		af  []float32
		ad  []float64
		vec []float32
	}
	rows := make([]row, n)
	for i := range rows {
		r := &rows[i]
		r.pk = fmt.Sprintf("k%03d", i)
		r.i8 = int8(i*7%256 - 128)
		r.i16 = int16(i*523%65536 - 32768)
		r.f = float32(i) / 10 // 0.1, 0.3 ... are not exact
		for k := range i % 4 {
			r.ab = append(r.ab, (i+k)%2 == 0)
			r.af = append(r.af, float32(i+k)/10)
			r.ad = append(r.ad, float64(i+k)/4)
		}
		r.vec = make([]float32, filterDim)
		for k := range r.vec {
			r.vec[k] = float32((i*11+k*5)%23) / 23
		}
	}
	insert := func(rows []row) {
		var pks []string
		var i8 []int8
		var i16 []int16
		var f []float32
		var ab [][]bool
		var af [][]float32
		var ad [][]float64
		var vecs [][]float32
		for _, r := range rows {
			pks, i8, i16, f = append(pks, r.pk), append(i8, r.i8), append(i16, r.i16), append(f, r.f)
			ab, af, ad, vecs = append(ab, r.ab), append(af, r.af), append(ad, r.ad), append(vecs, r.vec)
		}
		_, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithVarcharColumn("pk", pks).
			WithInt8Column("i8", i8).WithInt16Column("i16", i16).WithFloatVectorColumn("v", filterDim, vecs).
			WithColumns(column.NewColumnFloat("f", f), column.NewColumnBoolArray("ab", ab),
				column.NewColumnFloatArray("af", af), column.NewColumnDoubleArray("ad", ad)))
		must(t, err)
	}
	insert(rows[:n/2])
	flush(t, ctx, cli, coll)
	insert(rows[n/2:])
	indexAndLoad(t, ctx, cli, coll, "v", index.NewFlatIndex(entity.L2))

	cases := []struct {
		expr string
		want func(r *row) bool
	}{
		{`pk == "k007"`, func(r *row) bool { return r.pk == "k007" }},
		{`pk in ["k001", "k100", "zzz"]`, func(r *row) bool { return r.pk == "k001" || r.pk == "k100" }},
		{`pk not in ["k001", "k100"]`, func(r *row) bool { return r.pk != "k001" && r.pk != "k100" }},
		{`pk like "k1%"`, func(r *row) bool { return strings.HasPrefix(r.pk, "k1") }},
		{`pk like "%_5"`, func(r *row) bool { return strings.HasSuffix(r.pk, "5") }},
		{`"k050" <= pk < "k060"`, func(r *row) bool { return r.pk >= "k050" && r.pk < "k060" }},
		{`i8 < -100`, func(r *row) bool { return r.i8 < -100 }},
		{`i8 > 200`, func(r *row) bool { return false }},
		{`i8 >= -128 and i8 < 1000`, func(r *row) bool { return true }},
		{`i8 % 5 == -3`, func(r *row) bool { return r.i8%5 == -3 }},
		{`i8 in [-128, 127, 0, 300]`, func(r *row) bool { return r.i8 == -128 || r.i8 == 127 || r.i8 == 0 }},
		{`i16 > 30000 or i16 < -30000`, func(r *row) bool { return r.i16 > 30000 || r.i16 < -30000 }},
		{`i16 * 2 > 10000`, func(r *row) bool { return int64(r.i16)*2 > 10000 }},
		{`i8 < i16`, func(r *row) bool { return int16(r.i8) < r.i16 }},
		{`f == 0.3`, func(r *row) bool { return r.f == float32(0.3) }},
		{`f in [0.1, 0.7, 11.9]`, func(r *row) bool { return r.f == float32(0.1) || r.f == float32(0.7) || r.f == float32(11.9) }},
		{`f > 5.5`, func(r *row) bool { return r.f > 5.5 }},
		{`1.15 < f <= 2.2`, func(r *row) bool { return float64(r.f) > 1.15 && r.f <= float32(2.2) }},
		{`f < i8`, func(r *row) bool { return r.f < float32(r.i8) }},
		{`f * 10 == 33`, func(r *row) bool { return r.f*10 == 33 }},
		{`array_contains(ab, true)`, func(r *row) bool { return slices.Contains(r.ab, true) }},
		{`ab[0] == false`, func(r *row) bool { return len(r.ab) > 0 && !r.ab[0] }},
		{`array_contains(af, 0.5)`, func(r *row) bool { return slices.Contains(r.af, float32(0.5)) }},
		{`af[1] > 10`, func(r *row) bool { return len(r.af) > 1 && r.af[1] > 10 }},
		{`array_contains_any(ad, [1.25, 20])`, func(r *row) bool { return slices.Contains(r.ad, 1.25) || slices.Contains(r.ad, 20) }},
		{`array_contains_all(ad, [2.5, 2.75])`, func(r *row) bool { return slices.Contains(r.ad, 2.5) && slices.Contains(r.ad, 2.75) }},
		{`ad[2] >= 25`, func(r *row) bool { return len(r.ad) > 2 && r.ad[2] >= 25 }},
		{`array_length(ab) == 2 and array_length(ad) == 2`, func(r *row) bool { return len(r.ab) == 2 }},
	}
	query := rows[9].vec
	for _, c := range cases {
		var want []string
		for i := range rows {
			if c.want(&rows[i]) {
				want = append(want, rows[i].pk)
			}
		}
		t.Run(c.expr, func(t *testing.T) {
			qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(coll).WithFilter(c.expr).WithOutputFields("pk")))
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			got := slices.Clone(qr.GetColumn("pk").(*column.ColumnVarChar).Data())
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("query: got %d %v, want %d %v", len(got), trimStrs(got), len(want), trimStrs(want))
			}
			cr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(coll).WithFilter(c.expr).WithOutputFields("count(*)")))
			if err != nil {
				t.Fatalf("count: %v", err)
			}
			if cnt, _ := cr.GetColumn("count(*)").GetAsInt64(0); cnt != int64(len(want)) {
				t.Errorf("count(*) = %d, want %d", cnt, len(want))
			}
			sr, err := cli.Search(ctx, strong(milvusclient.NewSearchOption(coll, n, []entity.Vector{entity.FloatVector(query)}).
				WithANNSField("v").WithFilter(c.expr)))
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			var sgot []string
			if sr[0].IDs != nil {
				sgot = slices.Clone(sr[0].IDs.(*column.ColumnVarChar).Data())
			}
			slices.Sort(sgot)
			if !slices.Equal(sgot, want) {
				t.Errorf("search: got %d %v, want %d %v", len(sgot), trimStrs(sgot), len(want), trimStrs(want))
			}
		})
	}
}

func trimStrs(x []string) []string {
	if len(x) > 10 {
		return x[:10]
	}
	return x
}
