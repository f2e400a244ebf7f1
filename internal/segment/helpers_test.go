package segment

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
)

// Field IDs of the test schema.
const (
	fPK     int64 = 100
	fAge    int64 = 101 // Int64, row value drives the fake filters
	fName   int64 = 102 // VarChar, nullable
	fScore  int64 = 103 // Double
	fFlag   int64 = 104 // Bool
	fTags   int64 = 105 // Array of Int32
	fDoc    int64 = 106 // JSON, nullable
	fMeta   int64 = 107 // $meta
	fI8     int64 = 108 // Int8
	fI16    int64 = 109 // Int16
	fI32    int64 = 110 // Int32
	fF32    int64 = 111 // Float
	fVec    int64 = 120 // FloatVector
	fBin    int64 = 121 // BinaryVector
	fSparse int64 = 122 // SparseFloatVector
	fF16    int64 = 123 // Float16Vector
	fBF16   int64 = 124 // BFloat16Vector
	fI8Vec  int64 = 125 // Int8Vector
)

const (
	testDim    = 16
	testBinDim = 64
)

func dimParam(d int) []*commonpb.KeyValuePair {
	return []*commonpb.KeyValuePair{{Key: "dim", Value: strconv.Itoa(d)}}
}

// testSchema has every column type; pkType is Int64 or VarChar.
func testSchema(pkType schemapb.DataType) *schemapb.CollectionSchema {
	pk := &schemapb.FieldSchema{FieldID: fPK, Name: "pk", IsPrimaryKey: true, DataType: pkType}
	if pkType == schemapb.DataType_VarChar {
		pk.TypeParams = []*commonpb.KeyValuePair{{Key: "max_length", Value: "64"}}
	}
	return &schemapb.CollectionSchema{
		Name:               "test",
		EnableDynamicField: true,
		Fields: []*schemapb.FieldSchema{
			{FieldID: 0, Name: "RowID", DataType: schemapb.DataType_Int64},
			{FieldID: 1, Name: "Timestamp", DataType: schemapb.DataType_Int64},
			pk,
			{FieldID: fAge, Name: "age", DataType: schemapb.DataType_Int64},
			{FieldID: fName, Name: "name", DataType: schemapb.DataType_VarChar, Nullable: true},
			{FieldID: fScore, Name: "score", DataType: schemapb.DataType_Double},
			{FieldID: fFlag, Name: "flag", DataType: schemapb.DataType_Bool},
			{FieldID: fTags, Name: "tags", DataType: schemapb.DataType_Array, ElementType: schemapb.DataType_Int32},
			{FieldID: fDoc, Name: "doc", DataType: schemapb.DataType_JSON, Nullable: true},
			{FieldID: fMeta, Name: "$meta", DataType: schemapb.DataType_JSON, IsDynamic: true},
			{FieldID: fI8, Name: "i8", DataType: schemapb.DataType_Int8},
			{FieldID: fI16, Name: "i16", DataType: schemapb.DataType_Int16},
			{FieldID: fI32, Name: "i32", DataType: schemapb.DataType_Int32},
			{FieldID: fF32, Name: "f32", DataType: schemapb.DataType_Float},
			{FieldID: fVec, Name: "vec", DataType: schemapb.DataType_FloatVector, TypeParams: dimParam(testDim)},
			{FieldID: fBin, Name: "bin", DataType: schemapb.DataType_BinaryVector, TypeParams: dimParam(testBinDim)},
			{FieldID: fSparse, Name: "sparse", DataType: schemapb.DataType_SparseFloatVector},
			{FieldID: fF16, Name: "f16", DataType: schemapb.DataType_Float16Vector, TypeParams: dimParam(testDim)},
			{FieldID: fBF16, Name: "bf16", DataType: schemapb.DataType_BFloat16Vector, TypeParams: dimParam(testDim)},
			{FieldID: fI8Vec, Name: "i8vec", DataType: schemapb.DataType_Int8Vector, TypeParams: dimParam(testDim)},
		},
	}
}

// rows is generated test data: primary keys from firstPK on, ages 0..99.
type rows struct {
	n    int
	ts   []uint64
	cols map[int64]column.Column
}

func pkString(k int64) string { return fmt.Sprintf("k%08d", k) }

// genRows returns n rows with keys firstPK.. and timestamp ts each.
func genRows(rng *rand.Rand, pkType schemapb.DataType, firstPK int64, n int, ts uint64) rows {
	r := rows{n: n, ts: make([]uint64, n), cols: map[int64]column.Column{}}
	for i := range r.ts {
		r.ts[i] = ts
	}
	if pkType == schemapb.DataType_VarChar {
		c := &column.Scalar[string]{Type: pkType}
		for i := range n {
			c.Data = append(c.Data, pkString(firstPK+int64(i)))
		}
		r.cols[fPK] = c
	} else {
		c := &column.Scalar[int64]{Type: pkType}
		for i := range n {
			c.Data = append(c.Data, firstPK+int64(i))
		}
		r.cols[fPK] = c
	}
	age := &column.Scalar[int64]{Type: schemapb.DataType_Int64}
	name := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Valid: make([]bool, n)}
	score := &column.Scalar[float64]{Type: schemapb.DataType_Double}
	flag := &column.Scalar[bool]{Type: schemapb.DataType_Bool}
	tags := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int32}
	doc := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Valid: make([]bool, n)}
	meta := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON}
	i8 := &column.Scalar[int8]{Type: schemapb.DataType_Int8}
	i16 := &column.Scalar[int16]{Type: schemapb.DataType_Int16}
	i32 := &column.Scalar[int32]{Type: schemapb.DataType_Int32}
	f32 := &column.Scalar[float32]{Type: schemapb.DataType_Float}
	vec := &column.FloatVector{Dim: testDim}
	bin := &column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: testBinDim}
	sparse := &column.SparseVector{}
	f16 := &column.ByteVector{Type: schemapb.DataType_Float16Vector, Dim: testDim}
	bf16 := &column.ByteVector{Type: schemapb.DataType_BFloat16Vector, Dim: testDim}
	i8v := &column.ByteVector{Type: schemapb.DataType_Int8Vector, Dim: testDim}
	for i := range n {
		age.Data = append(age.Data, int64(rng.IntN(100)))
		name.Valid[i] = rng.IntN(4) != 0
		if name.Valid[i] {
			name.Data = append(name.Data, fmt.Sprintf("name-%d", rng.IntN(1000)))
		} else {
			name.Data = append(name.Data, "")
		}
		score.Data = append(score.Data, rng.Float64())
		flag.Data = append(flag.Data, rng.IntN(2) == 0)
		tags.Data = append(tags.Data, &schemapb.ScalarField{Data: &schemapb.ScalarField_IntData{IntData: &schemapb.IntArray{Data: []int32{int32(i), int32(rng.IntN(9))}}}})
		doc.Valid[i] = rng.IntN(3) != 0
		if doc.Valid[i] {
			doc.Data = append(doc.Data, fmt.Appendf(nil, `{"x":%d}`, rng.IntN(50)))
		} else {
			doc.Data = append(doc.Data, nil)
		}
		meta.Data = append(meta.Data, fmt.Appendf(nil, `{"dyn":%d}`, i))
		i8.Data = append(i8.Data, int8(rng.IntN(256)-128))
		i16.Data = append(i16.Data, int16(rng.IntN(1<<16)-1<<15))
		i32.Data = append(i32.Data, rng.Int32())
		f32.Data = append(f32.Data, rng.Float32())
		for range testDim {
			vec.Data = append(vec.Data, rng.Float32()*2-1)
			f16.Data = binary.LittleEndian.AppendUint16(f16.Data, distance.Float32ToFloat16(rng.Float32()*2-1))
			bf16.Data = binary.LittleEndian.AppendUint16(bf16.Data, distance.Float32ToBFloat16(rng.Float32()*2-1))
			i8v.Data = append(i8v.Data, byte(int8(rng.IntN(255)-127)))
		}
		for range testBinDim / 8 {
			bin.Data = append(bin.Data, byte(rng.IntN(256)))
		}
		sparse.Rows = append(sparse.Rows, randSparse(rng, 40, 6))
	}
	sparse.Dim = 40
	for id, c := range map[int64]column.Column{fAge: age, fName: name, fScore: score, fFlag: flag, fTags: tags, fDoc: doc, fMeta: meta,
		fI8: i8, fI16: i16, fI32: i32, fF32: f32, fVec: vec, fBin: bin, fSparse: sparse, fF16: f16, fBF16: bf16, fI8Vec: i8v} {
		r.cols[id] = c
	}
	return r
}

func randSparse(rng *rand.Rand, dim, nnz int) []byte {
	var out []byte
	idx := rng.Perm(dim)[:1+rng.IntN(nnz)]
	sortInts(idx)
	for _, j := range idx {
		out = binary.LittleEndian.AppendUint32(out, uint32(j))
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(rng.Float32()))
	}
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// concat joins row sets (all columns appended in order).
func concat(parts ...rows) rows {
	out := rows{cols: map[int64]column.Column{}}
	for _, p := range parts {
		out.n += p.n
		out.ts = append(out.ts, p.ts...)
		for id, c := range p.cols {
			if out.cols[id] == nil {
				out.cols[id] = c.Empty()
			}
			out.cols[id].Append(c)
		}
	}
	return out
}

// ageFilter is a fake filter on the age column, evaluated through the
// batch like the real filter engine.
type ageFilter struct {
	keep  func(age int64) bool
	evals atomic.Int32
}

func (f *ageFilter) Eval(_ context.Context, b column.Batch) (*bitset.Set, error) {
	f.evals.Add(1)
	c, err := b.Column(fAge)
	if err != nil {
		return nil, err
	}
	ages := c.(*column.Scalar[int64]).Data
	if len(ages) != b.Len() {
		return nil, fmt.Errorf("age column has %d rows, batch %d", len(ages), b.Len())
	}
	s := bitset.New(b.Len())
	for i, a := range ages {
		if f.keep(a) {
			s.Set(i)
		}
	}
	return s, nil
}

func (f *ageFilter) PrimaryKeyIn() ([]int64, []string, bool) { return nil, nil, false }

// pkFilter is "pk in [...]"; Eval must not be called.
type pkFilter struct {
	ints  []int64
	strs  []string
	evals atomic.Int32
}

func (f *pkFilter) Eval(context.Context, column.Batch) (*bitset.Set, error) {
	f.evals.Add(1)
	return nil, fmt.Errorf("pkFilter.Eval called")
}

func (f *pkFilter) PrimaryKeyIn() ([]int64, []string, bool) { return f.ints, f.strs, true }

// prunedFilter rules out any segment with stats; Eval counts calls.
type prunedFilter struct {
	ageFilter
	mayMatch bool
}

func (f *prunedFilter) MayMatch(stats func(int64) (any, any, bool)) bool {
	if _, _, ok := stats(fAge); !ok {
		return true
	}
	return f.mayMatch
}
