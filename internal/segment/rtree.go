package segment

import (
	"sync"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/peterstace/simplefeatures/rtree"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/geometry"
)

// Spatial pruning (the RTREE index of Geometry fields). A sealed segment
// keeps, per Geometry field, an R-tree of its rows' bounding boxes, built
// on the first spatial filter that reads the field (sealed rows never
// change). The filter engine asks it for the rows whose box meets a
// predicate's query box and tests only those: every ST_ predicate needs
// the row's box to meet that box (geometry.Predicate.MayMatch), so the
// result is the scan's. Null and empty geometries are not in the tree; no
// predicate with a non-empty query matches them.

// spatialTrees holds a sealed segment's R-trees.
type spatialTrees struct {
	mu    sync.Mutex // guards trees
	trees map[int64]*spatialTree
}

type spatialTree struct {
	once sync.Once
	tree *rtree.RTree
}

func (s *spatialTrees) get(fieldID int64) *spatialTree {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trees == nil {
		s.trees = map[int64]*spatialTree{}
	}
	t := s.trees[fieldID]
	if t == nil {
		t = &spatialTree{}
		s.trees[fieldID] = t
	}
	return t
}

func buildSpatialTree(col *column.Scalar[[]byte]) *rtree.RTree {
	items := make([]rtree.BulkItem, 0, len(col.Data))
	for i, row := range col.Data {
		if col.Valid != nil && !col.Valid[i] {
			continue
		}
		x0, y0, x1, y1, ok := geometry.Envelope(row)
		if !ok {
			continue
		}
		items = append(items, rtree.BulkItem{Box: rtree.Box{MinX: x0, MinY: y0, MaxX: x1, MaxY: y1}, RecordID: i})
	}
	return rtree.BulkLoad(items)
}

// SpatialCandidates returns the rows of Geometry field fieldID whose
// bounding box meets the box, from the sealed segment's R-tree; ok is false
// for a growing segment or a field that is not Geometry (scan every row).
func (s *snapshot) SpatialCandidates(fieldID int64, minX, minY, maxX, maxY float64) (*bitset.Set, bool) {
	c := s.c
	if !c.sealed {
		return nil, false
	}
	fi, err := c.field(fieldID)
	if err != nil || fi.typ != schemapb.DataType_Geometry {
		return nil, false
	}
	col, ok := c.cols[fieldID].(*column.Scalar[[]byte])
	if !ok {
		return nil, false
	}
	t := c.spatial.get(fieldID)
	t.once.Do(func() { t.tree = buildSpatialTree(col) })
	out := bitset.New(s.n)
	_ = t.tree.RangeSearch(rtree.Box{MinX: minX, MinY: minY, MaxX: maxX, MaxY: maxY}, func(i int) error {
		if i < s.n {
			out.Set(i)
		}
		return nil
	})
	return out, true
}

// SpatialCandidates implements the filter engine's spatial index over the
// rows present at the call.
func (c *core) SpatialCandidates(fieldID int64, minX, minY, maxX, maxY float64) (*bitset.Set, bool) {
	return c.snapshot().SpatialCandidates(fieldID, minX, minY, maxX, maxY)
}
