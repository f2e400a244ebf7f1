package segment

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/scalarindex"
)

// A sealed segment serves its attached scalar indexes to the filter engine
// (expr.ScalarIndexes), by field and JSON path; counts through the index
// equal counts by scan, deletes included; bad attachments are refused.
func TestSealedScalarIndexes(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	schema := testSchema(schemapb.DataType_Int64)
	r := genRows(rng, schemapb.DataType_Int64, 0, 3000, 10)
	plain, err := NewSealed(1, 2, schema, r.ts, r.cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	indexed, err := NewSealed(1, 2, schema, r.ts, r.cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	build := func(field int64, params map[string]string) *scalarindex.Index {
		x, err := scalarindex.Build(ctx, params, r.cols[field])
		if err != nil {
			t.Fatal(err)
		}
		x.SetFieldID(field)
		return x
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(indexed.AddScalarIndex(build(fAge, map[string]string{"index_type": "STL_SORT"})))
	must(indexed.AddScalarIndex(build(fDoc, map[string]string{"index_type": "INVERTED", "json_path": "", "json_cast_type": "DOUBLE"})))

	must(indexed.AddScalarIndex(build(fDoc, map[string]string{"index_type": "INVERTED", "json_path": "/x", "json_cast_type": "DOUBLE"})))
	must(indexed.AddScalarIndex(build(fName, map[string]string{"index_type": "TRIE"})))
	onVec := build(fAge, map[string]string{"index_type": "INVERTED"})
	onVec.SetFieldID(fVec)
	if err := indexed.AddScalarIndex(onVec); err == nil || !strings.Contains(err.Error(), "vector field") {
		t.Fatalf("a scalar index on a vector field: %v", err)
	}
	wrongPath := build(fAge, map[string]string{"index_type": "INVERTED"})
	wrongPath.SetFieldID(fDoc)
	if err := indexed.AddScalarIndex(wrongPath); err == nil || !strings.Contains(err.Error(), "JSON path") {
		t.Fatalf("index without a path on a JSON field: %v", err)
	}
	shortCols := map[int64]column.Column{}
	for id, c := range r.cols {
		shortCols[id] = c.Slice(0, 10)
	}
	short, err := NewSealed(3, 2, schema, r.ts[:10], shortCols, nil)
	must(err)
	if err := short.AddScalarIndex(build(fAge, map[string]string{"index_type": "STL_SORT"})); err == nil || !strings.Contains(err.Error(), "holds 3000 rows") {
		t.Fatalf("index of another row count: %v", err)
	}
	if got := indexed.snapshot().ScalarIndex(fAge, nil); got == nil {
		t.Fatal("no index for age")
	}
	if got := indexed.snapshot().ScalarIndex(fDoc, []string{"x"}); got == nil {
		t.Fatal("no index for doc/x")
	}
	if got := indexed.snapshot().ScalarIndex(fDoc, []string{"b"}); got != nil {
		t.Fatal("an index for doc/b")
	}
	var pks []int64
	var ts []uint64
	for k := int64(0); k < 3000; k += 3 {
		pks, ts = append(pks, k), append(ts, 20)
	}
	for _, seg := range []*Sealed{plain, indexed} {
		seg.Delete(pks, nil, ts)
	}
	for _, f := range []string{`age == 7`, `10 < age < 13`, `age in [1, 99]`, `doc["x"] == 3`, `doc["x"] in [4, 40]`, `name like "name-12%"`, `name == "name-7"`} {
		e, err := expr.Parse(schema, f, nil)
		must(err)
		want, err := plain.Count(ctx, e, 30)
		must(err)
		got, err := indexed.Count(ctx, e, 30)
		must(err)
		if got != want {
			t.Errorf("%s: %d rows with indexes, %d by scan", f, got, want)
		}
	}
}
