package storage

import (
	"math/rand/v2"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

func benchColumns() []namedColumn {
	r := rand.New(rand.NewPCG(1, 1))
	fv := &column.FloatVector{Dim: 768, Data: make([]float32, 100_000*768)}
	for i := range fv.Data {
		fv.Data[i] = r.Float32()
	}
	iv := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, 1_000_000)}
	for i := range iv.Data {
		iv.Data[i] = r.Int64()
	}
	sv := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, 100_000)}
	for i := range sv.Data {
		sv.Data[i] = randString(r)
	}
	return []namedColumn{
		{"FloatVector/100kx768", fv},
		{"Int64/1M", iv},
		{"VarChar/100k", sv},
	}
}

func BenchmarkEncodeColumn(b *testing.B) {
	for _, nc := range benchColumns() {
		b.Run(nc.name, func(b *testing.B) {
			enc := mustEncode(b, nc.col)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeColumn(nc.col); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendColumn reuses one buffer, as a data node flushing many
// segments can: no fresh allocation to fault in on every encode.
func BenchmarkAppendColumn(b *testing.B) {
	for _, nc := range benchColumns() {
		b.Run(nc.name, func(b *testing.B) {
			buf := mustEncode(b, nc.col)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendColumn(buf[:0], nc.col); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeColumn(b *testing.B) {
	for _, nc := range benchColumns() {
		b.Run(nc.name, func(b *testing.B) {
			enc := mustEncode(b, nc.col)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeColumn(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBuildStats(b *testing.B) {
	pks := make([]int64, 1_000_000)
	for i := range pks {
		pks[i] = int64(i)
	}
	pk := int64Col(pks...)
	b.ReportAllocs()
	for b.Loop() {
		BuildStats(pk, nil)
	}
}

func BenchmarkMayContainInt(b *testing.B) {
	pks := make([]int64, 1_000_000)
	for i := range pks {
		pks[i] = int64(2 * i)
	}
	st := BuildStats(int64Col(pks...), nil)
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		st.MayContainInt(i)
		i += 7
	}
}
