package storage

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

func int64Col(v ...int64) *column.Scalar[int64] {
	return &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: v}
}

func strCol(v ...string) *column.Scalar[string] {
	return &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: v}
}

func sampleStats() []*Stats {
	fields := map[int64]column.Column{}
	for i, nc := range sampleColumns(5, 50) {
		fields[int64(100+i)] = nc.col
	}
	fields[1] = &column.Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{math.NaN(), math.NaN()}}
	fields[2] = &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{4, 5}, Valid: []bool{false, false}}
	return []*Stats{
		BuildStats(int64Col(), nil),
		BuildStats(nil, nil),
		BuildStats(int64Col(5, -3, 9), fields),
		BuildStats(strCol("m", "a", "z", ""), nil),
		BuildStats(&column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{1, 2}}, nil),
	}
}

func statsEqual(a, b *Stats) error {
	if a.Rows != b.Rows || a.PK != b.PK {
		return fmt.Errorf("rows/pk differ: %+v / %+v", a.PK, b.PK)
	}
	if len(a.Blooms) != len(b.Blooms) {
		return fmt.Errorf("%d vs %d bloom filters", len(a.Blooms), len(b.Blooms))
	}
	for i := range a.Blooms {
		if !a.Blooms[i].Equal(b.Blooms[i]) {
			return fmt.Errorf("bloom filter %d differs", i)
		}
	}
	if len(a.Fields) != len(b.Fields) {
		return fmt.Errorf("%d vs %d fields", len(a.Fields), len(b.Fields))
	}
	for id, fa := range a.Fields {
		fb, ok := b.Fields[id]
		if !ok {
			return fmt.Errorf("field %d missing", id)
		}
		x, y := *fa, *fb
		// Compare floats bit for bit (-0 and +0 differ; NaN never appears).
		if math.Float64bits(x.MinFloat) != math.Float64bits(y.MinFloat) || math.Float64bits(x.MaxFloat) != math.Float64bits(y.MaxFloat) {
			return fmt.Errorf("field %d float bounds differ", id)
		}
		x.MinFloat, x.MaxFloat, y.MinFloat, y.MaxFloat = 0, 0, 0, 0
		if x != y {
			return fmt.Errorf("field %d: %+v vs %+v", id, x, y)
		}
	}
	return nil
}

func TestBuildStats(t *testing.T) {
	fields := map[int64]column.Column{
		10: &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{7, -2, 100, 3}, Valid: []bool{true, true, false, true}},
		11: &column.Scalar[float32]{Type: schemapb.DataType_Float, Data: []float32{1.5, float32(math.NaN()), -0.5, 2}},
		12: &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"pear", "apple", "zoo", "fig"}},
		13: &column.Scalar[bool]{Type: schemapb.DataType_Bool, Data: []bool{false, false, false, false}},
		14: &column.FloatVector{Dim: 1, Data: []float32{1, 2, 3, 4}},
		15: &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: make([][]byte, 4)},
		16: &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{1, 2, 3, 4}, Valid: []bool{false, false, false, false}},
	}
	st := BuildStats(int64Col(40, 10, 30, 20), fields)
	if st.Rows != 4 || st.PK.Type != schemapb.DataType_Int64 || !st.PK.HasBounds || st.PK.MinInt != 10 || st.PK.MaxInt != 40 {
		t.Fatalf("pk stats %+v", st.PK)
	}
	want := map[int64]FieldStats{
		10: {Type: schemapb.DataType_Int32, Rows: 4, Nulls: 1, HasBounds: true, MinInt: -2, MaxInt: 7},
		11: {Type: schemapb.DataType_Float, Rows: 4, HasBounds: true, MinFloat: -0.5, MaxFloat: 2},
		12: {Type: schemapb.DataType_VarChar, Rows: 4, HasBounds: true, MinStr: "apple", MaxStr: "zoo"},
		13: {Type: schemapb.DataType_Bool, Rows: 4, HasBounds: true, MinInt: 0, MaxInt: 0},
		16: {Type: schemapb.DataType_Int64, Rows: 4, Nulls: 4},
	}
	if len(st.Fields) != len(want) {
		t.Fatalf("stats for %d fields, want %d", len(st.Fields), len(want))
	}
	for id, w := range want {
		if got := st.Fields[id]; got == nil || *got != w {
			t.Errorf("field %d: got %+v, want %+v", id, got, w)
		}
	}
	for _, pk := range []int64{10, 20, 30, 40} {
		if !st.MayContainInt(pk) {
			t.Errorf("MayContainInt(%d) = false for a present key", pk)
		}
	}
	for _, pk := range []int64{9, 41, math.MinInt64, math.MaxInt64} {
		if st.MayContainInt(pk) {
			t.Errorf("MayContainInt(%d) = true outside the bounds", pk)
		}
	}
	if st.MayContainString("10") {
		t.Error("an Int64-keyed segment may contain a string key")
	}
	ss := BuildStats(strCol("b", "d", "c"), nil)
	if !ss.MayContainString("c") || ss.MayContainString("a") || ss.MayContainString("e") || ss.MayContainInt(1) {
		t.Error("string key membership is wrong")
	}
	empty := BuildStats(int64Col(), nil)
	if empty.MayContainInt(0) || empty.MayContainString("") {
		t.Error("an empty segment may contain a key")
	}
	unknown := BuildStats(&column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: []int32{1}}, nil)
	if !unknown.MayContainInt(5) || !unknown.MayContainString("x") {
		t.Error("stats without a primary key must not rule keys out")
	}
}

// TestBloomFalsePositiveRate measures the false-positive rate of the
// primary-key filter on keys inside the bounds (so they are not pruned by
// min/max) and holds it to twice the target.
func TestBloomFalsePositiveRate(t *testing.T) {
	const n, probes = 100_000, 200_000
	bound := 2 * BloomFalsePositiveRate
	pks := make([]int64, n)
	for i := range pks {
		pks[i] = int64(2 * i) // even keys present, odd keys absent
	}
	st := BuildStats(int64Col(pks...), nil)
	enc, err := EncodeStats(st)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = DecodeStats(enc); err != nil {
		t.Fatal(err)
	}
	for _, pk := range pks {
		if !st.MayContainInt(pk) {
			t.Fatalf("false negative for %d", pk)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	fp := 0
	for range probes {
		if st.MayContainInt(2*r.Int64N(n-1) + 1) {
			fp++
		}
	}
	rate := float64(fp) / probes
	t.Logf("Int64 keys: %d of %d absent keys passed: false-positive rate %.5f (target %.3f, bound %.3f), file %d bytes",
		fp, probes, rate, BloomFalsePositiveRate, bound, len(enc))
	if rate > bound {
		t.Fatalf("false-positive rate %.5f above %.4f", rate, bound)
	}

	strs := make([]string, n)
	for i := range strs {
		strs[i] = fmt.Sprintf("key-%08d-a", i)
	}
	ss := BuildStats(strCol(strs...), nil)
	fp = 0
	for i := range n {
		if ss.MayContainString(strs[i][:len(strs[i])-1] + "b") {
			fp++
		}
	}
	rate = float64(fp) / n
	t.Logf("VarChar keys: false-positive rate %.5f", rate)
	if rate > bound {
		t.Fatalf("string false-positive rate %.5f above %.4f", rate, bound)
	}
}

func TestStatsRoundTrip(t *testing.T) {
	for i, st := range sampleStats() {
		enc, err := EncodeStats(st)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := DecodeStats(enc)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if err := statsEqual(st, got); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		again, err := EncodeStats(got)
		if err != nil || !slices.Equal(again, enc) {
			t.Fatalf("%d: re-encoding changed the bytes (err %v)", i, err)
		}
	}
}

func TestStringBoundsAreShortened(t *testing.T) {
	long := func(c byte, tail string) string { return strings.Repeat(string([]byte{c}), 100) + tail }
	vals := []string{long('b', "x"), long('b', "a"), "c", long('q', ""), long(0xff, "z")}
	st := BuildStats(strCol(vals...), map[int64]column.Column{7: strCol(vals[:4]...)})
	if st.PK.MinStr != strings.Repeat("b", MaxBoundLen) || st.PK.MaxStr != long(0xff, "z") {
		t.Errorf("pk bounds %q..%q", st.PK.MinStr, st.PK.MaxStr)
	}
	if f := st.Fields[7]; f.MinStr != strings.Repeat("b", MaxBoundLen) || f.MaxStr != strings.Repeat("q", MaxBoundLen-1)+"r" {
		t.Errorf("field bounds %q..%q", f.MinStr, f.MaxStr)
	}
	for _, v := range vals {
		if !st.MayContainString(v) {
			t.Errorf("shortened bounds rule out %q", v)
		}
	}
	for _, v := range []string{"a", strings.Repeat("b", 63)} {
		if st.MayContainString(v) {
			t.Errorf("%q is below the minimum", v)
		}
	}
	if got := upperBound(strings.Repeat("\xff", 70)); got != strings.Repeat("\xff", 70) {
		t.Errorf("all-0xff upper bound shortened to %q", got)
	}
	if got := upperBound(strings.Repeat("a", 63) + "\xff\xff"); got != strings.Repeat("a", 62)+"b" {
		t.Errorf("carry: %q", got)
	}
}

func TestMergeStats(t *testing.T) {
	a := BuildStats(int64Col(1, 5, 9), map[int64]column.Column{
		10: &column.Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{1, 2}},
		11: &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"x"}, Valid: []bool{false}},
	})
	b := BuildStats(int64Col(100, 200), map[int64]column.Column{
		10: &column.Scalar[float64]{Type: schemapb.DataType_Double, Data: []float64{-4, 0}},
		11: &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"k", "b"}},
		12: &column.Scalar[int8]{Type: schemapb.DataType_Int8, Data: []int8{3}},
	})
	m, err := MergeStats(a, nil, BuildStats(int64Col(), nil), b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 5 || m.PK.MinInt != 1 || m.PK.MaxInt != 200 || m.PK.Rows != 5 || len(m.Blooms) != 3 {
		t.Fatalf("merged pk %+v, %d rows, %d filters", m.PK, m.Rows, len(m.Blooms))
	}
	for _, pk := range []int64{1, 5, 9, 100, 200} {
		if !m.MayContainInt(pk) {
			t.Errorf("merged stats lost key %d", pk)
		}
	}
	if f := m.Fields[10]; f.MinFloat != -4 || f.MaxFloat != 2 || f.Rows != 4 {
		t.Errorf("field 10 %+v", f)
	}
	if f := m.Fields[11]; f.MinStr != "b" || f.MaxStr != "k" || f.Nulls != 1 || f.Rows != 3 {
		t.Errorf("field 11 %+v", f)
	}
	if f := m.Fields[12]; f.MinInt != 3 || f.Rows != 1 {
		t.Errorf("field 12 %+v", f)
	}
	// It survives encoding.
	enc, err := EncodeStats(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeStats(enc); err != nil || statsEqual(m, got) != nil {
		t.Fatalf("merged stats round trip: %v", err)
	}
	// The merge shares nothing with its inputs.
	m.Fields[10].MinFloat = 99
	if a.Fields[10].MinFloat == 99 {
		t.Error("merged field stats alias an input")
	}
	if _, err := MergeStats(a, BuildStats(strCol("a"), nil)); err == nil {
		t.Error("merged Int64 and VarChar keyed stats")
	}
	c := BuildStats(int64Col(1), map[int64]column.Column{10: int64Col(1)})
	if _, err := MergeStats(a, c); err == nil {
		t.Error("merged a Double field with an Int64 one")
	}
	cp := a.Copy()
	if statsEqual(a, cp) != nil || cp.Blooms[0] == a.Blooms[0] {
		t.Error("Copy is not a deep copy")
	}
}

func TestDecodeStatsCorrupt(t *testing.T) {
	for i, st := range sampleStats() {
		enc, err := EncodeStats(st)
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(enc)/2000)
		for j := 0; j < len(enc); j += step {
			b := slices.Clone(enc)
			b[j] ^= 0x44
			if _, err := DecodeStats(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d: byte %d flipped: err = %v", i, j, err)
			}
			if _, err := DecodeStats(reseal(b)); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d: byte %d flipped and resealed: %v does not wrap ErrCorrupt", i, j, err)
			}
		}
		for n := 0; n < len(enc); n += step {
			if _, err := DecodeStats(enc[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d: truncated to %d: err = %v", i, n, err)
			}
		}
	}
}

func TestEncodeStatsRejects(t *testing.T) {
	f := func(name string, st *Stats) {
		t.Helper()
		if _, err := EncodeStats(st); err == nil {
			t.Errorf("%s: encoded without error", name)
		}
	}
	f("nil", nil)
	f("float pk", &Stats{PK: FieldStats{Type: schemapb.DataType_Float}})
	f("json field", &Stats{Fields: map[int64]*FieldStats{1: {Type: schemapb.DataType_JSON}}})
	f("nil field", &Stats{Fields: map[int64]*FieldStats{1: nil}})
	f("negative rows", &Stats{Rows: -1})
	f("nulls above rows", &Stats{Fields: map[int64]*FieldStats{1: {Type: schemapb.DataType_Int64, Rows: 1, Nulls: 2}}})
	f("int bounds", &Stats{Fields: map[int64]*FieldStats{1: {Type: schemapb.DataType_Int64, HasBounds: true, MinInt: 2, MaxInt: 1}}})
	f("NaN bounds", &Stats{Fields: map[int64]*FieldStats{1: {Type: schemapb.DataType_Float, HasBounds: true, MinFloat: math.NaN()}}})
	f("string bounds", &Stats{Fields: map[int64]*FieldStats{1: {Type: schemapb.DataType_VarChar, HasBounds: true, MinStr: "b", MaxStr: "a"}}})
	f("blooms without pk", &Stats{Rows: 1, Blooms: BuildStats(int64Col(1), nil).Blooms})
}
