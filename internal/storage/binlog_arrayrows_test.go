package storage

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// TestArrayRowsMergeMatchesColumns: joining Array binlogs through their
// stored rows (the flush's merge) writes the same bytes as decoding each
// piece, concatenating the columns and encoding the result, for every
// element type, with and without nulls, and when only some pieces carry
// validity flags.
func TestArrayRowsMergeMatchesColumns(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, et := range arrayElementTypes {
		for _, shape := range []string{"plain", "nullable", "mixed"} {
			t.Run(et.String()+"/"+shape, func(t *testing.T) {
				var files [][]byte
				var cols []column.Column
				for i, n := range []int{0, 1, 37, 200} {
					nullable := shape == "nullable" || (shape == "mixed" && i%2 == 1)
					c := scalarOf(r, schemapb.DataType_Array, n, nullable, func() *schemapb.ScalarField { return randArray(r, et) })
					c.ElementType = et
					b, err := EncodeColumn(c)
					if err != nil {
						t.Fatal(err)
					}
					files = append(files, b)
					cols = append(cols, c)
				}
				want, err := EncodeColumn(column.Concat(cols))
				if err != nil {
					t.Fatal(err)
				}
				var parts []*ArrayRows
				for _, b := range files {
					a, err := DecodeArrayRows(b, nil)
					if err != nil {
						t.Fatal(err)
					}
					parts = append(parts, a)
				}
				merged, err := ConcatArrayRows(parts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := EncodeArrayRows(merged)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("merged binlog differs from the column-wise merge (%d vs %d bytes)", len(got), len(want))
				}
				back, err := DecodeColumn(got)
				if err != nil {
					t.Fatal(err)
				}
				if err := columnsEqual(back, column.Concat(cols)); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestArrayRowsRejects: DecodeArrayRows checks what DecodeColumn checks
// (checksums, presence bytes) and refuses a binlog of another type;
// ConcatArrayRows refuses parts of different element types.
func TestArrayRowsRejects(t *testing.T) {
	ints, err := EncodeColumn(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeArrayRows(ints, nil); err == nil {
		t.Fatal("an Int64 binlog decoded as Array rows")
	}
	arr := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64,
		Data: []*schemapb.ScalarField{{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{7}}}}}}
	b, err := EncodeColumn(arr)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(b)
	flipped[len(flipped)-1] ^= 0xff
	if _, err := DecodeArrayRows(flipped, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a damaged binlog: err %v, want ErrCorrupt", err)
	}
	a, err := DecodeArrayRows(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := &ArrayRows{ElementType: schemapb.DataType_VarChar, Rows: [][]byte{nil}}
	if _, err := ConcatArrayRows([]*ArrayRows{a, other}); err == nil {
		t.Fatal("parts of Int64 and VarChar elements joined")
	}
}
