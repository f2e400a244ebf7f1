package segment

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
)

// withAddedFields is testSchema plus a nullable Int64 and a VarChar with a
// default, as AddCollectionField leaves it.
func withAddedFields(pkType schemapb.DataType) *schemapb.CollectionSchema {
	s := proto.Clone(testSchema(pkType)).(*schemapb.CollectionSchema)
	s.Fields = append(s.Fields,
		&schemapb.FieldSchema{FieldID: 900, Name: "added", DataType: schemapb.DataType_Int64, Nullable: true},
		&schemapb.FieldSchema{FieldID: 901, Name: "tag", DataType: schemapb.DataType_VarChar, Nullable: true,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "none"}}})
	return s
}

func TestWithSchemaKeepsRowsAndDeletes(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sealed := range []bool{false, true} {
		r := genRows(rng, schemapb.DataType_Int64, 0, 50, 10)
		var seg interface {
			Segment
			Fetch(context.Context, []int64, []int64) (map[int64]column.Column, error)
		}
		var next Segment
		if sealed {
			s, err := NewSealed(1, 2, testSchema(schemapb.DataType_Int64), r.ts, r.cols, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.SetStats(fAge, int64(0), int64(99))
			s.Delete([]int64{3, 4}, nil, []uint64{20, 20})
			ns, err := s.WithSchema(withAddedFields(schemapb.DataType_Int64))
			if err != nil {
				t.Fatal(err)
			}
			seg, next = ns, ns
			if ns.indexMinAllowed != s.indexMinAllowed || len(ns.stats.m) != 1 {
				t.Fatalf("sealed copy lost its settings or stats: %v", ns.stats.m)
			}
		} else {
			g, err := NewGrowing(1, 2, testSchema(schemapb.DataType_Int64))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Append(r.ts, r.cols); err != nil {
				t.Fatal(err)
			}
			g.Delete([]int64{3, 4}, nil, []uint64{20, 20})
			ng, err := g.WithSchema(withAddedFields(schemapb.DataType_Int64))
			if err != nil {
				t.Fatal(err)
			}
			// The copy takes new rows with the new field.
			more := genRows(rng, schemapb.DataType_Int64, 50, 2, 30)
			more.cols[900] = &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{7, 8}}
			if err := ng.Append(more.ts, more.cols); err != nil {
				t.Fatal(err)
			}
			seg, next = ng, ng
		}
		if next.NumDeleted() != 2 {
			t.Fatalf("sealed=%v: %d deleted, want 2", sealed, next.NumDeleted())
		}
		n, err := seg.Count(ctx, nil, 25)
		if err != nil || n != 48 {
			t.Fatalf("sealed=%v: count %d, %v; want 48", sealed, n, err)
		}
		cols, err := seg.Fetch(ctx, []int64{0, 49}, []int64{fAge, 900, 901})
		if err != nil {
			t.Fatal(err)
		}
		age := cols[fAge].(*column.Scalar[int64])
		if age.Data[0] != r.cols[fAge].(*column.Scalar[int64]).Data[0] {
			t.Fatalf("sealed=%v: age changed", sealed)
		}
		if !cols[900].IsNull(0) || !cols[900].IsNull(1) {
			t.Fatalf("sealed=%v: added field not null: %+v", sealed, cols[900])
		}
		if tag := cols[901].(*column.Scalar[string]); tag.Data[0] != "none" || tag.IsNull(0) {
			t.Fatalf("sealed=%v: defaulted field: %+v", sealed, tag)
		}
		if !sealed {
			cols, err := seg.Fetch(ctx, []int64{50, 51}, []int64{900})
			if err != nil || cols[900].(*column.Scalar[int64]).Data[1] != 8 || cols[900].IsNull(1) {
				t.Fatalf("new rows of the copy: %+v, %v", cols[900], err)
			}
		}
	}
}

func TestFillColumn(t *testing.T) {
	f := func(fs *schemapb.FieldSchema, ok bool, check func(column.Column) bool) {
		t.Helper()
		c, got := FillColumn(fs, 3)
		if got != ok || (ok && (c.Len() != 3 || !check(c))) {
			t.Fatalf("FillColumn(%s): %v, %v", fs.GetName(), c, got)
		}
	}
	f(&schemapb.FieldSchema{Name: "n", DataType: schemapb.DataType_Int32, Nullable: true}, true, func(c column.Column) bool { return c.IsNull(2) })
	f(&schemapb.FieldSchema{Name: "d", DataType: schemapb.DataType_Double,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_DoubleData{DoubleData: 1.5}}}, true,
		func(c column.Column) bool { return c.(*column.Scalar[float64]).Data[1] == 1.5 })
	f(&schemapb.FieldSchema{Name: "req", DataType: schemapb.DataType_Int64}, false, nil)
	f(&schemapb.FieldSchema{Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(4)}, false, nil)
}
