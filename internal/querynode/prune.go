package querynode

import (
	"cmp"
	"math"
	"slices"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/clusterkey"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/segment"
)

// PruneConfig is Milvus's search-time segment pruning by a vector
// clustering key's centroids (queryNode.enableSegmentPrune,
// queryNode.defaultSegmentFilterRatio; the common.* keys that decide the
// clustering key).
type PruneConfig struct {
	Enable      bool
	FilterRatio float64
	Key         clusterkey.Options
}

// DefaultPrune returns Milvus 2.6's defaults: pruning off, ratio 2.
func DefaultPrune() PruneConfig { return PruneConfig{FilterRatio: 2} }

// Process-wide counts of the clustered sealed segments searches pruned
// and kept (tests and benchmarks read them).
var prunedByCentroid, keptByCentroid atomic.Int64

// CentroidPruneCounts returns how many clustered sealed segments searches
// skipped and searched since the process started.
func CentroidPruneCounts() (pruned, kept int64) {
	return prunedByCentroid.Load(), keptByCentroid.Load()
}

// pruneByCentroids is Milvus's FilterSegmentsByVector on the delegator:
// for a search of the collection's FloatVector clustering key, the sealed
// segments whose stats log carries a centroid of that field are ranked,
// per partition and for each query vector, by the distance from the query
// to their centroid under the search's metric; the first
// int(sqrt(n) * ratio) of them are searched (n: the partition's clustered
// segments), and more until they hold topk rows. A segment is searched if
// any query needs it. Growing segments and sealed segments without a
// centroid are always searched. It returns segs without the pruned ones
// (segs itself when nothing is pruned); sealed are the first len(sealed)
// segments of segs.
func pruneByCentroids(cfg PruneConfig, schema *schemapb.CollectionSchema, req *segment.SearchRequest, segs []segment.Segment, sealed []*sealedSegment) []segment.Segment {
	if !cfg.Enable || len(sealed) == 0 {
		return segs
	}
	key := clusterkey.Field(schema, cfg.Key)
	if key == nil || key.GetDataType() != schemapb.DataType_FloatVector || key.GetFieldID() != req.FieldID ||
		len(req.EmbListLens) > 0 || req.Queries.Dim == 0 || len(req.Queries.Float) == 0 {
		return segs
	}
	switch req.Metric {
	case index.L2, index.IP, index.Cosine:
	default:
		return segs
	}
	type cand struct {
		i    int // index into segs
		dist float32
		rows int
	}
	byPart := map[int64][]cand{}
	dim := req.Queries.Dim
	for i, s := range sealed {
		c := s.centroids[key.GetFieldID()]
		if len(c) == 0 || len(c[0]) != dim {
			continue
		}
		byPart[s.seg.PartitionID()] = append(byPart[s.seg.PartitionID()], cand{i: i, rows: s.seg.NumRows() - s.seg.NumDeleted()})
	}
	if len(byPart) == 0 {
		return segs
	}
	need := make([]bool, len(segs))
	for i := range segs {
		need[i] = true
	}
	higher := req.Metric.HigherIsBetter()
	topk := req.Params.K
	nq := len(req.Queries.Float) / dim
	clustered := 0
	for _, cands := range byPart {
		clustered += len(cands)
		for _, c := range cands {
			need[c.i] = false
		}
		target := min(int(math.Sqrt(float64(len(cands)))*cfg.FilterRatio), len(cands))
		for q := range nq {
			qv := req.Queries.Float[q*dim : (q+1)*dim]
			for j := range cands {
				cands[j].dist = centroidScore(req.Metric, qv, sealed[cands[j].i].centroids[key.GetFieldID()][0])
			}
			slices.SortStableFunc(cands, func(a, b cand) int {
				if higher {
					return cmp.Compare(b.dist, a.dist)
				}
				return cmp.Compare(a.dist, b.dist)
			})
			rows := 0
			for j, c := range cands {
				rows += c.rows
				need[c.i] = true
				if rows >= topk && j+1 >= target {
					break
				}
			}
		}
	}
	kept := make([]segment.Segment, 0, len(segs))
	for i, s := range segs {
		if need[i] {
			kept = append(kept, s)
		}
	}
	pruned := len(segs) - len(kept)
	prunedByCentroid.Add(int64(pruned))
	keptByCentroid.Add(int64(clustered - pruned))
	if pruned == 0 {
		return segs
	}
	return kept
}

// centroidScore is the search metric between a query and a centroid:
// squared L2 (lower is nearer), inner product or cosine (higher is).
func centroidScore(m index.Metric, q, c []float32) float32 {
	switch m {
	case index.IP:
		return distance.Dot(q, c)
	case index.Cosine:
		nq, nc := distance.Dot(q, q), distance.Dot(c, c)
		if nq == 0 || nc == 0 {
			return 0
		}
		return distance.Dot(q, c) / float32(math.Sqrt(float64(nq))*math.Sqrt(float64(nc)))
	}
	return distance.L2Sq(q, c)
}
