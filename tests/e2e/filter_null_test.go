package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// nullRow is a row of the nullable collection; nil pointers are nulls.
type nullRow struct {
	id  int64
	ns  *string
	nd  *float64
	nj  map[string]any // nil: SQL null
	nai []int64        // nil: null
	vec []float32
}

// TestFilterNullableColumns checks Milvus's null semantics on nullable
// VarChar, Double, JSON and Array columns: a null row fails every
// comparison, function and their negations (three-valued logic), and is
// null finds it; exists is never null, and a missing JSON key in a
// non-null row is a valid false, so its negation selects the row.
func TestFilterNullableColumns(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const coll, n = "filter_nulls", 60

	schema := entity.NewSchema().WithName(coll).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("ns").WithDataType(entity.FieldTypeVarChar).WithMaxLength(16).WithNullable(true)).
		WithField(entity.NewField().WithName("nd").WithDataType(entity.FieldTypeDouble).WithNullable(true)).
		WithField(entity.NewField().WithName("nj").WithDataType(entity.FieldTypeJSON).WithNullable(true)).
		WithField(entity.NewField().WithName("nai").WithDataType(entity.FieldTypeArray).WithElementType(entity.FieldTypeInt64).WithMaxCapacity(4).WithNullable(true)).
		WithField(entity.NewField().WithName("v").WithDataType(entity.FieldTypeFloatVector).WithDim(filterDim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(coll, schema)))

	rows := make([]nullRow, n)
	for i := range rows {
		r := &rows[i]
		r.id = int64(i)
		if i%3 != 0 {
			s := fmt.Sprintf("v%d", i%5)
			r.ns = &s
		}
		if i%4 != 1 {
			d := float64(i) / 2
			r.nd = &d
		}
		if i%5 != 2 {
			r.nj = map[string]any{"x": i % 3}
			if i%2 == 0 {
				r.nj["k"] = i % 4
			}
		}
		if i%6 != 3 {
			r.nai = make([]int64, i%4)
			for k := range r.nai {
				r.nai[k] = int64(i+k) % 5
			}
		}
		r.vec = make([]float32, filterDim)
		for k := range r.vec {
			r.vec[k] = float32((i*13+k*7)%29) / 29
		}
	}
	insert := func(rows []nullRow) {
		var ids []int64
		var ns []string
		var nd []float64
		var nj [][]byte
		var nai [][]int64
		var vecs [][]float32
		vs, vd, vj, va := make([]bool, len(rows)), make([]bool, len(rows)), make([]bool, len(rows)), make([]bool, len(rows))
		for i, r := range rows {
			ids, vecs = append(ids, r.id), append(vecs, r.vec)
			if r.ns != nil {
				ns, vs[i] = append(ns, *r.ns), true
			}
			if r.nd != nil {
				nd, vd[i] = append(nd, *r.nd), true
			}
			if r.nj != nil {
				b, _ := json.Marshal(r.nj)
				nj, vj[i] = append(nj, b), true
			}
			if r.nai != nil {
				nai, va[i] = append(nai, r.nai), true
			}
		}
		cs, err := column.NewNullableColumnVarChar("ns", ns, vs)
		must(t, err)
		cd, err := column.NewNullableColumnDouble("nd", nd, vd)
		must(t, err)
		cj, err := column.NewNullableColumnJSONBytes("nj", nj, vj)
		must(t, err)
		ca, err := column.NewNullableColumnInt64Array("nai", nai, va)
		must(t, err)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(coll).WithInt64Column("id", ids).
			WithFloatVectorColumn("v", filterDim, vecs).WithColumns(cs, cd, cj, ca))
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	insert(rows[:n/2])
	flush(t, ctx, cli, coll)
	insert(rows[n/2:])
	indexAndLoad(t, ctx, cli, coll, "v", index.NewFlatIndex(entity.L2))

	jk := func(r *nullRow) (float64, bool) { v, ok := jnum(r.nj, "k"); return v, ok }
	cases := []struct {
		expr string
		want func(r *nullRow) bool
	}{
		{`ns is null`, func(r *nullRow) bool { return r.ns == nil }},
		{`ns is not null`, func(r *nullRow) bool { return r.ns != nil }},
		{`ns == "v1"`, func(r *nullRow) bool { return r.ns != nil && *r.ns == "v1" }},
		{`ns != "v1"`, func(r *nullRow) bool { return r.ns != nil && *r.ns != "v1" }},
		{`not (ns == "v1")`, func(r *nullRow) bool { return r.ns != nil && *r.ns != "v1" }},
		{`ns like "v%"`, func(r *nullRow) bool { return r.ns != nil && strings.HasPrefix(*r.ns, "v") }},
		{`ns in ["v2", "v3"]`, func(r *nullRow) bool { return r.ns != nil && (*r.ns == "v2" || *r.ns == "v3") }},
		{`ns not in ["v2", "v3"]`, func(r *nullRow) bool { return r.ns != nil && *r.ns != "v2" && *r.ns != "v3" }},
		{`"v1" <= ns < "v3"`, func(r *nullRow) bool { return r.ns != nil && *r.ns >= "v1" && *r.ns < "v3" }},
		{`nd > 10`, func(r *nullRow) bool { return r.nd != nil && *r.nd > 10 }},
		{`nd * 2 == 10`, func(r *nullRow) bool { return r.nd != nil && *r.nd == 5 }},
		{`nd is null or nd < 1`, func(r *nullRow) bool { return r.nd == nil || *r.nd < 1 }},
		{`not (nd > 10 or ns == "v1")`, func(r *nullRow) bool {
			// Three-valued logic: the or is false only when both sides are
			// false (not null), and not null is null.
			return r.nd != nil && !(*r.nd > 10) && r.ns != nil && *r.ns != "v1"
		}},
		{`not (nd > 10 and ns == "v1")`, func(r *nullRow) bool {
			// null and false is false, so its negation is true.
			return (r.nd != nil && !(*r.nd > 10)) || (r.ns != nil && *r.ns != "v1")
		}},
		{`nj is null`, func(r *nullRow) bool { return r.nj == nil }},
		{`nj is not null`, func(r *nullRow) bool { return r.nj != nil }},
		{`nj["k"] == 2`, func(r *nullRow) bool { v, ok := jk(r); return ok && v == 2 }},
		{`nj["k"] != 2`, func(r *nullRow) bool { v, ok := jk(r); return r.nj != nil && (!ok || v != 2) }},
		{`not (nj["k"] == 2)`, func(r *nullRow) bool { v, ok := jk(r); return r.nj != nil && (!ok || v != 2) }},
		{`exists nj["k"]`, func(r *nullRow) bool { _, ok := jk(r); return ok }},
		// A path's is null is not exists (planparserv2); exists is never
		// null (a null JSON row has no key), so both select null rows.
		{`nj["k"] is null`, func(r *nullRow) bool { _, ok := jk(r); return !ok }},
		{`nj["k"] is not null`, func(r *nullRow) bool { _, ok := jk(r); return ok }},
		{`not exists nj["k"]`, func(r *nullRow) bool { _, ok := jk(r); return !ok }},
		{`nj["x"] in [0, 2]`, func(r *nullRow) bool { v, ok := jnum(r.nj, "x"); return ok && (v == 0 || v == 2) }},
		{`nai is null`, func(r *nullRow) bool { return r.nai == nil }},
		{`nai is not null`, func(r *nullRow) bool { return r.nai != nil }},
		{`array_contains(nai, 1)`, func(r *nullRow) bool { return slices.Contains(r.nai, 1) }},
		{`not array_contains(nai, 1)`, func(r *nullRow) bool { return r.nai != nil && !slices.Contains(r.nai, 1) }},
		{`array_length(nai) == 0`, func(r *nullRow) bool { return r.nai != nil && len(r.nai) == 0 }},
		{`nai[0] < 2`, func(r *nullRow) bool { return len(r.nai) > 0 && r.nai[0] < 2 }},
	}
	query := rows[5].vec

	// Nulls read back as nulls, values as written.
	qr, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(coll).WithFilter(`id < 12 or id >= 54`).WithOutputFields("*")))
	must(t, err)
	idc := int64Col(t, qr, "id")
	if len(idc) != 18 {
		t.Fatalf("query: %d rows, want 18", len(idc))
	}
	for i, id := range idc {
		r := &rows[id]
		null := func(name string) bool {
			isNull, err := qr.GetColumn(name).IsNull(i)
			must(t, err)
			return isNull
		}
		if null("ns") != (r.ns == nil) || null("nd") != (r.nd == nil) || null("nj") != (r.nj == nil) || null("nai") != (r.nai == nil) {
			t.Errorf("id %d: nulls ns %v nd %v nj %v nai %v, want %v %v %v %v", id, null("ns"), null("nd"), null("nj"), null("nai"),
				r.ns == nil, r.nd == nil, r.nj == nil, r.nai == nil)
			continue
		}
		if r.ns != nil {
			if v, _ := qr.GetColumn("ns").GetAsString(i); v != *r.ns {
				t.Errorf("id %d: ns = %q, want %q", id, v, *r.ns)
			}
		}
		if r.nd != nil {
			if v, _ := qr.GetColumn("nd").GetAsDouble(i); v != *r.nd {
				t.Errorf("id %d: nd = %v, want %v", id, v, *r.nd)
			}
		}
		if r.nai != nil {
			if v, _ := qr.GetColumn("nai").Get(i); !slices.Equal(v.([]int64), r.nai) {
				t.Errorf("id %d: nai = %v, want %v", id, v, r.nai)
			}
		}
		if r.nj != nil {
			v, _ := qr.GetColumn("nj").Get(i)
			var got map[string]any
			if err := json.Unmarshal(v.([]byte), &got); err != nil || fmt.Sprint(got) != fmt.Sprint(jsonRoundTrip(r.nj)) {
				t.Errorf("id %d: nj = %s, want %v", id, v, r.nj)
			}
		}
	}
	for _, c := range cases {
		var want []int64
		for i := range rows {
			if c.want(&rows[i]) {
				want = append(want, rows[i].id)
			}
		}
		t.Run(c.expr, func(t *testing.T) { checkFilter(t, cli, coll, c.expr, nil, want, query) })
	}
}

// jsonRoundTrip is v as encoding/json decodes it back.
func jsonRoundTrip(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
