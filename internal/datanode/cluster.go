package datanode

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// writeClustered finishes a clustering compaction: the kept rows (tsKept
// and, per field, chunks) are ordered by the clustering key and cut into
// segments of about t.PreferRows rows, named t.TargetIDs in key order, each
// sorted by primary key within. Rows
// of one key value never straddle two segments, so the segments' key
// ranges (their stats logs' min and max, which query nodes prune with) do
// not overlap; null keys go last, in a segment of their own when the rows
// before them filled theirs. A vector key's rows go by mapped, the
// centroid of each kept row (writeVectorClustered).
func (s *Server) writeClustered(ctx context.Context, t contract.CompactionTask, first model.Segment, tsKept []int64, mapped []uint32, chunks map[int64][]column.Column) ([]contract.FlushResult, error) {
	cols := make(map[int64]column.Column, len(chunks))
	for fid, cs := range chunks {
		cols[fid] = column.Concat(cs)
	}
	key, ok := cols[t.ClusteringField]
	if !ok {
		return nil, fmt.Errorf("collection %d has no field %d to cluster by", t.Collection.ID, t.ClusteringField)
	}
	if t.NumClusters > 0 {
		return s.writeVectorClustered(ctx, t, first, tsKept, mapped, cols)
	}
	order, same, err := clusterOrder(key)
	if err != nil {
		return nil, err
	}
	ranges := cutRanges(order, same, key, t.PreferRows)
	if len(ranges) > len(t.TargetIDs) {
		return nil, fmt.Errorf("%d segments to write, %d segment IDs allocated", len(ranges), len(t.TargetIDs))
	}
	pk := cols[t.Collection.PrimaryField().GetFieldID()]
	out := make([]contract.FlushResult, 0, len(ranges))
	for i, rows := range ranges {
		// Within its key range, a segment's rows are in primary-key order
		// (Milvus 2.6 sorts clustering outputs too).
		ts, part := takeSorted(pk, cols, tsKept, rows)
		res, err := s.writeSegment(ctx, t.Collection, first.PartitionID, t.TargetIDs[i], ts, part)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// clusterOrder returns the row order sorted by key (stable; nulls last)
// and same(a, b), whether rows a and b hold the same key.
func clusterOrder(key column.Column) ([]int, func(a, b int) bool, error) {
	order := make([]int, key.Len())
	for i := range order {
		order[i] = i
	}
	switch c := key.(type) {
	case *column.Scalar[int8]:
		return sortBy(order, c)
	case *column.Scalar[int16]:
		return sortBy(order, c)
	case *column.Scalar[int32]:
		return sortBy(order, c)
	case *column.Scalar[int64]:
		return sortBy(order, c)
	case *column.Scalar[float32]:
		return sortBy(order, c)
	case *column.Scalar[float64]:
		return sortBy(order, c)
	case *column.Scalar[string]:
		return sortBy(order, c)
	}
	return nil, nil, fmt.Errorf("clustering by a %s field is not supported", key.DataType())
}

func sortBy[T cmp.Ordered](order []int, c *column.Scalar[T]) ([]int, func(a, b int) bool, error) {
	null := func(i int) bool { return c.Valid != nil && !c.Valid[i] }
	slices.SortStableFunc(order, func(a, b int) int {
		na, nb := null(a), null(b)
		switch {
		case na && nb:
			return 0
		case na:
			return 1
		case nb:
			return -1
		}
		return cmp.Compare(c.Data[a], c.Data[b])
	})
	same := func(a, b int) bool {
		if null(a) || null(b) {
			return null(a) && null(b)
		}
		return c.Data[a] == c.Data[b]
	}
	return order, same, nil
}

// cutRanges cuts the sorted rows into runs of at least prefer rows (the
// last may be shorter), extending a run while the next row holds the
// run's last key; null keys start a run of their own.
func cutRanges(order []int, same func(a, b int) bool, key column.Column, prefer int64) [][]int {
	if prefer <= 0 {
		prefer = int64(len(order))
	}
	var out [][]int
	start := 0
	for i := 1; i <= len(order); i++ {
		if i < len(order) {
			full := int64(i-start) >= prefer
			nullStart := key.IsNull(order[i]) && !key.IsNull(order[i-1])
			if !(full || nullStart) || same(order[i-1], order[i]) {
				continue
			}
		}
		out = append(out, order[start:i])
		start = i
	}
	return out
}

// takeSorted puts rows in primary-key order and takes them from cols and
// their timestamps from tsKept: one output segment's data.
func takeSorted(pk column.Column, cols map[int64]column.Column, tsKept []int64, rows []int) ([]int64, map[int64][]column.Column) {
	pkOrder(pk, rows)
	ts := make([]int64, len(rows))
	for j, r := range rows {
		ts[j] = tsKept[r]
	}
	part := make(map[int64][]column.Column, len(cols))
	for fid, c := range cols {
		part[fid] = []column.Column{c.Take(rows)}
	}
	return ts, part
}
