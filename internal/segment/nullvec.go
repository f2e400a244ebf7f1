package segment

import (
	"context"
	"fmt"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// Null vectors. A nullable vector field keeps a zero-filled slot for each
// null row (column.FloatVector.Valid and its kin); search never returns
// such a row, whether it scans or asks an index (indexes are built over
// the valid rows only, see index build in the index node), as Milvus does.

// dropNullVectors clears from allowed the rows of s whose vector in field
// fi is null. It returns allowed itself when nothing changes, else a
// clone (owned then reports true); allowed is never modified in place
// unless owned was already true.
func dropNullVectors(s *snapshot, fi *fieldInfo, allowed *bitset.Set, owned bool) (*bitset.Set, bool, error) {
	if !fi.nullable {
		return allowed, owned, nil
	}
	col, err := s.Column(fi.id)
	if err != nil {
		return nil, false, err
	}
	nulls := nullRows(col, allowed.Len())
	if nulls == nil {
		return allowed, owned, nil
	}
	if !owned {
		allowed, owned = allowed.Clone(), true
	}
	allowed.AndNot(nulls)
	return allowed, owned, nil
}

// nullRows returns the set of the first n rows of col that are null, or
// nil when none is.
func nullRows(col column.Column, n int) *bitset.Set {
	var nulls *bitset.Set
	// A growing segment's fixed-width vectors are chunks, each with its
	// own mask; any other column is one run.
	for lo := 0; lo < min(n, col.Len()); {
		run, base, end := vectorRun(col, lo)
		var valid []bool
		switch v := run.(type) {
		case *column.FloatVector:
			valid = v.Valid
		case *column.ByteVector:
			valid = v.Valid
		case *column.SparseVector:
			valid = v.Valid
		}
		hi := min(n, end)
		for i := lo; valid != nil && i < hi; i++ {
			if !valid[i-base] {
				if nulls == nil {
					nulls = bitset.New(n)
				}
				nulls.Set(i)
			}
		}
		lo = hi
	}
	return nulls
}

// validRowsIndex serves a nullable vector field's index, built over the
// field's valid rows only (label j is the j-th valid row), in segment row
// offsets: filters are narrowed to the valid rows on the way in and labels
// widened back to row offsets on the way out.
type validRowsIndex struct {
	index.Index
	rows []int // label -> row offset
	n    int   // segment rows
}

// newValidRowsIndex wraps idx, built over the valid rows of col (n rows).
// It returns idx itself when col has no null row, and an error when idx
// does not hold exactly the valid rows.
func newValidRowsIndex(idx index.Index, col column.Column, n int) (index.Index, error) {
	rows := column.ValidRows(col)
	if rows == nil {
		if idx.Len() != n {
			return nil, fmt.Errorf("index holds %d rows, segment %d", idx.Len(), n)
		}
		return idx, nil
	}
	if idx.Len() != len(rows) {
		return nil, fmt.Errorf("index holds %d rows, segment %d of which %d have a vector", idx.Len(), n, len(rows))
	}
	return &validRowsIndex{Index: idx, rows: rows, n: n}, nil
}

// Len implements index.Index: the segment's rows, as the search path
// expects of every index.
func (v *validRowsIndex) Len() int { return v.n }

// Search implements index.Index.
func (v *validRowsIndex) Search(ctx context.Context, queries index.Dataset, p index.SearchParams) (*index.Result, error) {
	if p.Filter != nil {
		skip := bitset.New(len(v.rows))
		for j, r := range v.rows {
			if r < p.Filter.Len() && p.Filter.Test(r) {
				skip.Set(j)
			}
		}
		p.Filter = skip
	}
	if len(v.rows) == 0 {
		res := &index.Result{NQ: queries.Len(), K: p.K}
		res.Labels = make([]int64, res.NQ*res.K)
		res.Distances = make([]float32, res.NQ*res.K)
		for i := range res.Labels {
			res.Labels[i] = -1
		}
		return res, nil
	}
	r, err := v.Index.Search(ctx, queries, p)
	if err != nil {
		return nil, err
	}
	for i, l := range r.Labels {
		if l >= 0 && l < int64(len(v.rows)) {
			r.Labels[i] = int64(v.rows[l])
		}
	}
	return r, nil
}
