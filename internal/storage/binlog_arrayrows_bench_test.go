package storage

import (
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// BenchmarkArrayMerge: a flush's merge of an Array field from 100 pieces of
// 200 rows (the Go SDK suite's group-by collections), through decoded
// columns (before) and through stored rows (ArrayRows).
func BenchmarkArrayMerge(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, et := range []schemapb.DataType{schemapb.DataType_Int64, schemapb.DataType_VarChar} {
		var files [][]byte
		for range 100 {
			c := scalarOf(r, schemapb.DataType_Array, 200, false, func() *schemapb.ScalarField { return randArray(r, et) })
			c.ElementType = et
			f, err := EncodeColumn(c)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, f)
		}
		b.Run(et.String()+"/columns", func(b *testing.B) {
			for b.Loop() {
				cols := make([]column.Column, 0, len(files))
				for _, f := range files {
					c, err := DecodeColumn(f)
					if err != nil {
						b.Fatal(err)
					}
					cols = append(cols, c)
				}
				if _, err := EncodeColumn(column.Concat(cols)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(et.String()+"/rows", func(b *testing.B) {
			for b.Loop() {
				parts := make([]*ArrayRows, 0, len(files))
				for _, f := range files {
					a, err := DecodeArrayRows(f, nil)
					if err != nil {
						b.Fatal(err)
					}
					parts = append(parts, a)
				}
				m, err := ConcatArrayRows(parts)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := EncodeArrayRows(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
