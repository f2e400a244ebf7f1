package storage

import (
	"fmt"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// MergeStats combines the stats of disjoint sets of rows (the stats logs of
// one segment's successive flushes, or segments merged by compaction) into
// stats for their union. Row counts and null counts add up, bounds widen,
// and the bloom filters of every input are kept side by side: filters sized
// for different row counts cannot be OR-ed, and OR-ing equal-sized ones
// would raise the false-positive rate. A key is checked against each filter,
// so the merged false-positive rate is at most the sum of the inputs'.
// Compaction that rewrites rows should prefer BuildStats over the surviving
// rows, which also forgets deleted keys.
//
// The inputs must agree on the primary-key type (stats without a primary
// key and with no rows are neutral) and on the type of each field.
// The result shares no memory with the inputs.
func MergeStats(in ...*Stats) (*Stats, error) {
	out := &Stats{Fields: make(map[int64]*FieldStats)}
	for i, st := range in {
		if st == nil {
			continue
		}
		switch {
		case st.PK.Type == schemapb.DataType_None && st.Rows == 0:
		case out.PK.Type == schemapb.DataType_None && out.Rows == 0:
			out.PK.Type = st.PK.Type
		case st.PK.Type != out.PK.Type:
			return nil, fmt.Errorf("storage: merge stats: input %d has primary key type %s, earlier inputs %s", i, st.PK.Type, out.PK.Type)
		}
		out.Rows += st.Rows
		pk := st.PK
		pk.Type = out.PK.Type
		out.PK.merge(pk)
		for _, bf := range st.Blooms {
			out.Blooms = append(out.Blooms, bf.Copy())
		}
		for id, fs := range st.Fields {
			if fs == nil {
				continue
			}
			have, ok := out.Fields[id]
			if !ok {
				c := *fs
				out.Fields[id] = &c
				continue
			}
			if have.Type != fs.Type {
				return nil, fmt.Errorf("storage: merge stats: field %d is %s in input %d, %s before", id, fs.Type, i, have.Type)
			}
			have.merge(*fs)
		}
	}
	if out.PK.Type == schemapb.DataType_None && len(out.Blooms) > 0 {
		return nil, fmt.Errorf("storage: merge stats: bloom filters without a primary key type")
	}
	return out, nil
}

// Copy returns a deep copy of st.
func (st *Stats) Copy() *Stats {
	c := *st
	c.Blooms = make([]*bloom.BloomFilter, len(st.Blooms))
	for i, bf := range st.Blooms {
		c.Blooms[i] = bf.Copy()
	}
	c.Fields = make(map[int64]*FieldStats, len(st.Fields))
	for id, fs := range st.Fields {
		f := *fs
		c.Fields[id] = &f
	}
	return &c
}

// merge widens fs by o, which has the same type.
func (fs *FieldStats) merge(o FieldStats) {
	fs.Rows += o.Rows
	fs.Nulls += o.Nulls
	if !o.HasBounds {
		return
	}
	if !fs.HasBounds {
		fs.HasBounds = true
		fs.MinInt, fs.MaxInt = o.MinInt, o.MaxInt
		fs.MinFloat, fs.MaxFloat = o.MinFloat, o.MaxFloat
		fs.MinStr, fs.MaxStr = o.MinStr, o.MaxStr
		return
	}
	switch kindOf(fs.Type) {
	case kindInt:
		fs.MinInt, fs.MaxInt = min(fs.MinInt, o.MinInt), max(fs.MaxInt, o.MaxInt)
	case kindFloat:
		fs.MinFloat, fs.MaxFloat = min(fs.MinFloat, o.MinFloat), max(fs.MaxFloat, o.MaxFloat)
	case kindString:
		fs.MinStr, fs.MaxStr = min(fs.MinStr, o.MinStr), max(fs.MaxStr, o.MaxStr)
	}
}
