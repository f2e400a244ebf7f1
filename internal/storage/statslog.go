package storage

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// BloomFalsePositiveRate is the false-positive rate each primary-key bloom
// filter is sized for, given the segment's row count.
const BloomFalsePositiveRate = 0.001

// Stats is what a segment's stats log records: the row count, the primary
// key's bounds and bloom filters (to route deletes and skip point lookups)
// and per-field bounds of scalar fields (to prune segments by filter).
type Stats struct {
	// Rows is the number of rows the stats describe.
	Rows int64
	// PK holds the primary key's type and bounds. PK.Type is Int64,
	// VarChar, or None when the stats were built without a primary key.
	PK FieldStats
	// Blooms hold every primary key. A key may be in the segment if any
	// filter says so: a freshly built Stats has one filter, a merged one
	// keeps the filters of its inputs (see MergeStats).
	Blooms []*bloom.BloomFilter
	// Fields holds the bounds of each scalar field by field ID. Bool,
	// integer, Timestamptz, Float, Double, String, VarChar and Text fields
	// have bounds; other types are not recorded.
	Fields map[int64]*FieldStats
	// Centroids holds, by vector field ID, the k-means centroids the rows
	// of a vector clustering compaction's output segment were assigned to
	// (each of one field's centroids has the same length, its dimension).
	// Nil elsewhere.
	Centroids map[int64][][]float32
}

// FieldStats are the bounds of one field. Which of the Min/Max pairs is
// used depends on Type: MinInt/MaxInt for Bool (0 or 1), the integer types
// and Timestamptz; MinFloat/MaxFloat for Float and Double; MinStr/MaxStr for
// String, VarChar and Text. Bounds are exact except for strings longer than
// MaxBoundLen bytes, which are shortened to looser bounds.
type FieldStats struct {
	Type schemapb.DataType
	// Rows is the number of rows seen, Nulls how many of them were null.
	Rows, Nulls int64
	// HasBounds is false when no row had a comparable value (every row was
	// null or NaN); the Min/Max fields are then meaningless. NaN is ignored
	// when computing bounds: it satisfies no comparison, so it cannot keep
	// a segment from being pruned.
	HasBounds          bool
	MinInt, MaxInt     int64
	MinFloat, MaxFloat float64
	MinStr, MaxStr     string
}

type boundKind uint8

const (
	kindNone boundKind = iota
	kindInt
	kindFloat
	kindString
)

func kindOf(t schemapb.DataType) boundKind {
	switch t {
	case schemapb.DataType_Bool, schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32,
		schemapb.DataType_Int64, schemapb.DataType_Timestamptz:
		return kindInt
	case schemapb.DataType_Float, schemapb.DataType_Double:
		return kindFloat
	case schemapb.DataType_String, schemapb.DataType_VarChar, schemapb.DataType_Text:
		return kindString
	}
	return kindNone
}

// BuildStats computes the stats of a segment from its primary-key column
// (an Int64 or VarChar column; nil or any other type records no primary
// key) and its other columns by field ID. Columns of types without bounds
// are skipped.
func BuildStats(pk column.Column, fields map[int64]column.Column) *Stats {
	st := &Stats{Fields: make(map[int64]*FieldStats)}
	switch p := pk.(type) {
	case *column.Scalar[int64]:
		st.Rows = int64(len(p.Data))
		st.PK, _ = columnStats(p)
		st.PK.Type = schemapb.DataType_Int64
		bf := newBloom(len(p.Data))
		var key [8]byte
		for _, v := range p.Data {
			binary.LittleEndian.PutUint64(key[:], uint64(v))
			bf.Add(key[:])
		}
		st.Blooms = []*bloom.BloomFilter{bf}
	case *column.Scalar[string]:
		st.Rows = int64(len(p.Data))
		st.PK, _ = columnStats(p)
		st.PK.Type = schemapb.DataType_VarChar
		bf := newBloom(len(p.Data))
		for _, v := range p.Data {
			bf.AddString(v)
		}
		st.Blooms = []*bloom.BloomFilter{bf}
	default:
		if pk != nil {
			st.Rows = int64(pk.Len())
		}
	}
	for id, c := range fields {
		if fs, ok := columnStats(c); ok {
			st.Fields[id] = &fs
		}
	}
	return st
}

func newBloom(n int) *bloom.BloomFilter {
	return bloom.NewWithEstimates(uint(max(n, 1)), BloomFalsePositiveRate)
}

func columnStats(c column.Column) (FieldStats, bool) {
	switch s := c.(type) {
	case *column.Scalar[bool]:
		return scan(s, func(fs *FieldStats, v bool) {
			b := int64(0)
			if v {
				b = 1
			}
			fs.addInt(b)
		}), true
	case *column.Scalar[int8]:
		return scan(s, addInt[int8]), true
	case *column.Scalar[int16]:
		return scan(s, addInt[int16]), true
	case *column.Scalar[int32]:
		return scan(s, addInt[int32]), true
	case *column.Scalar[int64]:
		return scan(s, addInt[int64]), true
	case *column.Scalar[float32]:
		return scan(s, addFloat[float32]), true
	case *column.Scalar[float64]:
		return scan(s, addFloat[float64]), true
	case *column.Scalar[string]:
		fs := scan(s, (*FieldStats).addString)
		if fs.HasBounds {
			fs.MinStr, fs.MaxStr = lowerBound(fs.MinStr), upperBound(fs.MaxStr)
		}
		return fs, true
	}
	return FieldStats{}, false
}

// scan folds every non-null value of s into a FieldStats with add.
func scan[T any](s *column.Scalar[T], add func(*FieldStats, T)) FieldStats {
	fs := FieldStats{Type: s.Type, Rows: int64(len(s.Data))}
	for i, v := range s.Data {
		if s.Valid != nil && !s.Valid[i] {
			fs.Nulls++
			continue
		}
		add(&fs, v)
	}
	return fs
}

func addInt[T int8 | int16 | int32 | int64](fs *FieldStats, v T) { fs.addInt(int64(v)) }

func addFloat[T float32 | float64](fs *FieldStats, v T) { fs.addFloat(float64(v)) }

func (fs *FieldStats) addInt(v int64) {
	if !fs.HasBounds {
		fs.HasBounds, fs.MinInt, fs.MaxInt = true, v, v
		return
	}
	fs.MinInt, fs.MaxInt = min(fs.MinInt, v), max(fs.MaxInt, v)
}

func (fs *FieldStats) addFloat(v float64) {
	if math.IsNaN(v) {
		return
	}
	if !fs.HasBounds {
		fs.HasBounds, fs.MinFloat, fs.MaxFloat = true, v, v
		return
	}
	fs.MinFloat, fs.MaxFloat = min(fs.MinFloat, v), max(fs.MaxFloat, v)
}

// MaxBoundLen is the longest string bound a Stats records. A longer minimum
// is cut to its first MaxBoundLen bytes, a longer maximum is cut and its
// last byte that is below 0xff incremented (dropping the bytes after it), so
// both stay bounds while a Text field of long documents keeps its stats
// small.
const MaxBoundLen = 64

// lowerBound returns a copy of s cut to MaxBoundLen bytes, which sorts at or
// before s. The copy keeps the stats from pinning a decoded column's memory.
func lowerBound(s string) string {
	return strings.Clone(s[:min(len(s), MaxBoundLen)])
}

// upperBound returns a string of at most MaxBoundLen bytes that sorts at or
// after s (s itself if no shorter one exists, that is if its first
// MaxBoundLen bytes are all 0xff).
func upperBound(s string) string {
	if len(s) <= MaxBoundLen {
		return strings.Clone(s)
	}
	b := []byte(s[:MaxBoundLen])
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return strings.Clone(s)
}

func (fs *FieldStats) addString(v string) {
	if !fs.HasBounds {
		fs.HasBounds, fs.MinStr, fs.MaxStr = true, v, v
		return
	}
	fs.MinStr, fs.MaxStr = min(fs.MinStr, v), max(fs.MaxStr, v)
}

// MayContainInt reports whether the segment may hold Int64 primary key pk.
// False is definite; true may be a false positive. Stats without a
// primary key answer true for any non-empty segment.
func (st *Stats) MayContainInt(pk int64) bool {
	switch {
	case st.Rows == 0:
		return false
	case st.PK.Type == schemapb.DataType_None:
		return true
	case st.PK.Type != schemapb.DataType_Int64:
		return false
	case st.PK.HasBounds && (pk < st.PK.MinInt || pk > st.PK.MaxInt):
		return false
	case len(st.Blooms) == 0:
		return true
	}
	var key [8]byte
	binary.LittleEndian.PutUint64(key[:], uint64(pk))
	for _, bf := range st.Blooms {
		if bf.Test(key[:]) {
			return true
		}
	}
	return false
}

// MayContainString reports whether the segment may hold VarChar primary
// key pk, like MayContainInt.
func (st *Stats) MayContainString(pk string) bool {
	switch {
	case st.Rows == 0:
		return false
	case st.PK.Type == schemapb.DataType_None:
		return true
	case st.PK.Type != schemapb.DataType_VarChar:
		return false
	case st.PK.HasBounds && (pk < st.PK.MinStr || pk > st.PK.MaxStr):
		return false
	case len(st.Blooms) == 0:
		return true
	}
	for _, bf := range st.Blooms {
		if bf.TestString(pk) {
			return true
		}
	}
	return false
}
