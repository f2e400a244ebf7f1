// Package querycoord is the query coordinator: it decides what query nodes
// serve. It owns the load state of collections and their replicas (each a
// set of query nodes of a resource group, with one node per shard; all
// persisted, so a restarted server serves what it served before), tracks
// the live query nodes and moves the shards of a node that left, builds
// each shard's plan (its checkpoint, flushed segments with their indexes,
// and delete logs), and hands newly flushed or newly indexed segments to
// every node serving their shard.
//
// Ordering matters when planning a shard: the checkpoint is read before the
// segment list, so a segment flushed in between is either in the list
// (loaded sealed, its log inserts skipped) or starts after the checkpoint
// (rebuilt from the log).
package querycoord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// dataCoord is what planning needs from the data coordinator.
type dataCoord interface {
	GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error)
	Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
	DeltaLogs(ctx context.Context, vchannel string) ([]model.DeltaLog, error)
}

// indexCoord is what planning needs from the index coordinator.
type indexCoord interface {
	Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error)
	SegmentIndexes(ctx context.Context, segmentID int64) ([]model.SegmentIndex, error)
}

// QueryNode serves shards (a query node, or its client).
type QueryNode interface {
	LoadCollection(ctx context.Context, coll *model.Collection, partitions []int64, plans []contract.ChannelPlan) error
	ReleaseCollection(ctx context.Context, collectionID int64) error
	SyncSegment(ctx context.Context, collectionID int64, plan contract.SegmentPlan) error
	DropSegments(ctx context.Context, collectionID, partitionID int64) error
	// UpdateIndexes gives the node a loaded collection's index
	// definitions after one was created or dropped.
	UpdateIndexes(ctx context.Context, collectionID int64, defs []model.IndexDef) error
	Progress(ctx context.Context, collectionID int64) (int64, bool, error)
}

// Nodes reaches a live query node by its server ID (cluster: a client
// dialing the node's session address; standalone: the in-process node).
type Nodes interface {
	Node(ctx context.Context, id int64) (QueryNode, error)
}

// idAllocator allocates replica IDs (the root coordinator).
type idAllocator interface {
	AllocID(ctx context.Context, count int64) (int64, error)
}

// collections resolves collections by ID (the root coordinator).
type collections interface {
	DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
}

// Deps are the query coordinator's collaborators.
type Deps struct {
	KV          kv.Store
	Data        dataCoord
	Indexes     indexCoord
	Nodes       Nodes
	IDs         idAllocator
	Collections collections
	Logger      *slog.Logger
}

// Server is the query coordinator.
type Server struct {
	d      Deps
	logger *slog.Logger

	// mu guards the fields below. It is held across a shard's planning
	// and the node's load, so a handoff waits until the node serves the
	// shard instead of failing against a node that does not have it yet.
	mu       sync.Mutex
	loaded   map[int64]*loadInfo
	replicas map[int64][]*replica        // by collection
	live     map[int64]string            // live query nodes' addresses; nil until SetNodes
	labels   map[int64]map[string]string // live query nodes' server labels
	pending  map[nodeLoad]bool           // assignments not yet sent to their node
	full     map[int64]bool              // collections every replica of which has been fully loaded
	rgs      map[string]*resourceGroup
	moving   map[shardKey]int64 // shards moving (autobalance.go): their source node

	pendingAdded chan struct{} // wakes RunChecker: an assignment became pending
	progressWarn everyMinute   // State's warnings of nodes that did not answer
}

type loadInfo struct {
	CollectionID int64   `json:"collection_id"`
	Partitions   []int64 `json:"partitions,omitempty"` // nil: the whole collection
	Replicas     int32   `json:"replicas"`
}

const prefixLoad = "query/load/"

// New loads the query coordinator's state; Recover restarts the loads.
func New(ctx context.Context, d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{d: d, logger: d.Logger.With("component", "querycoord"), loaded: map[int64]*loadInfo{},
		replicas: map[int64][]*replica{}, pending: map[nodeLoad]bool{}, full: map[int64]bool{},
		moving: map[shardKey]int64{}, pendingAdded: make(chan struct{}, 1)}
	list, err := d.KV.List(ctx, prefixLoad)
	if err != nil {
		return nil, fmt.Errorf("querycoord: load state: %w", err)
	}
	for _, e := range list {
		var li loadInfo
		if err := json.Unmarshal(e.Value, &li); err != nil {
			return nil, fmt.Errorf("querycoord: decode %s: %w", e.Key, err)
		}
		s.loaded[li.CollectionID] = &li
	}
	if err := s.loadReplicas(ctx); err != nil {
		return nil, err
	}
	if err := s.loadRGs(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// checkIndexes requires an index on every vector field, as Milvus does.
func (s *Server) checkIndexes(ctx context.Context, c *model.Collection) error {
	defs, err := s.d.Indexes.Indexes(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("querycoord: indexes of collection %d: %w", c.ID, err)
	}
	for _, f := range c.Schema.GetFields() {
		if !column.IsVector(f.GetDataType()) {
			continue
		}
		found := false
		for _, def := range defs {
			if def.FieldID == f.GetFieldID() {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("there is no vector index on field: [%s], please create index firstly: %w", f.GetName(), errs.IndexNotFound(c.Name))
		}
	}
	return nil
}

// LoadedCollections lists loaded collection IDs.
func (s *Server) LoadedCollections() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.loaded))
	for id := range s.loaded {
		out = append(out, id)
	}
	return out
}

func (s *Server) plans(ctx context.Context, c *model.Collection) ([]contract.ChannelPlan, error) {
	out := make([]contract.ChannelPlan, 0, len(c.VChannels))
	for i := range c.VChannels {
		p, err := s.channelPlan(ctx, c, i)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// channelPlan plans shard i of c. Its Replan plans the shard again, for a
// query node that lagged behind the log's retention.
func (s *Server) channelPlan(ctx context.Context, c *model.Collection, i int) (contract.ChannelPlan, error) {
	vc := c.VChannels[i]
	cp, err := s.d.Data.GetCheckpoint(ctx, vc)
	if err != nil {
		return contract.ChannelPlan{}, fmt.Errorf("querycoord: checkpoint of %s: %w", vc, err)
	}
	p := contract.ChannelPlan{VChannel: vc, PChannel: c.PChannels[i], Checkpoint: cp}
	// The delta logs before the segments: a compaction committed between
	// the two reads then shows its output (which had the dropped delta
	// logs applied) rather than its sources without those delta logs,
	// whose deleted rows would come back. Every delta log a checkpoint
	// passed was recorded before it moved, so none is missed either way.
	if p.DeltaLogs, err = s.d.Data.DeltaLogs(ctx, vc); err != nil {
		return contract.ChannelPlan{}, fmt.Errorf("querycoord: delta logs of %s: %w", vc, err)
	}
	segs, err := s.d.Data.Segments(ctx, c.ID, vc)
	if err != nil {
		return contract.ChannelPlan{}, fmt.Errorf("querycoord: segments of %s: %w", vc, err)
	}
	for _, seg := range segs {
		if seg.State != model.SegmentFlushed {
			continue
		}
		idx, err := s.d.Indexes.SegmentIndexes(ctx, seg.ID)
		if err != nil {
			return contract.ChannelPlan{}, fmt.Errorf("querycoord: indexes of segment %d: %w", seg.ID, err)
		}
		p.Sealed = append(p.Sealed, contract.SegmentPlan{Segment: seg, Indexes: idx})
	}
	// The collection's index definitions travel with the load, as
	// Milvus's IndexInfoList: the node's segments build interim indexes
	// by them from the first row.
	if p.Indexes, err = s.d.Indexes.Indexes(ctx, c.ID); err != nil {
		return contract.ChannelPlan{}, fmt.Errorf("querycoord: indexes of collection %d: %w", c.ID, err)
	}
	if p.Indexes == nil {
		p.Indexes = []model.IndexDef{}
	}
	p.Replan = func(ctx context.Context) (contract.ChannelPlan, error) { return s.channelPlan(ctx, c, i) }
	return p, nil
}

// ChannelPlan plans one shard of a collection again (for a query node
// whose log position fell behind the log's retention).
func (s *Server) ChannelPlan(ctx context.Context, collectionID int64, vchannel string) (contract.ChannelPlan, error) {
	c, err := s.d.Collections.DescribeCollection(ctx, "", "", collectionID)
	if err != nil {
		return contract.ChannelPlan{}, err
	}
	for i, vc := range c.VChannels {
		if vc == vchannel {
			return s.channelPlan(ctx, c, i)
		}
	}
	return contract.ChannelPlan{}, fmt.Errorf("querycoord: collection %d has no channel %s", collectionID, vchannel)
}

// SegmentFlushed hands a flushed segment to its shard (as a brute-force
// sealed segment until its index is built).
//
// A segment a compaction wrote replaces its sources only once its vector
// indexes are built (IndexBuilt hands it off then), so that searches do not
// fall back to brute force over the merged rows meanwhile; a compaction
// that kept no row (a Dropped segment naming its sources) is handed off at
// once.
func (s *Server) SegmentFlushed(ctx context.Context, seg *model.Segment) error {
	if len(seg.CompactedFrom) > 0 && seg.State == model.SegmentFlushed {
		ready, err := s.indexed(ctx, seg)
		if err != nil || !ready {
			return err
		}
	}
	return s.handoff(ctx, seg.CollectionID, *seg)
}

// indexed reports whether every vector index of seg's collection is built
// for seg.
func (s *Server) indexed(ctx context.Context, seg *model.Segment) (bool, error) {
	c, err := s.d.Collections.DescribeCollection(ctx, "", "", seg.CollectionID)
	if err != nil {
		return false, fmt.Errorf("querycoord: collection %d: %w", seg.CollectionID, err)
	}
	defs, err := s.d.Indexes.Indexes(ctx, seg.CollectionID)
	if err != nil {
		return false, fmt.Errorf("querycoord: indexes of collection %d: %w", seg.CollectionID, err)
	}
	built, err := s.d.Indexes.SegmentIndexes(ctx, seg.ID)
	if err != nil {
		return false, fmt.Errorf("querycoord: indexes of segment %d: %w", seg.ID, err)
	}
	for _, def := range defs {
		f := c.FieldByID(def.FieldID)
		if f == nil || !column.IsVector(f.GetDataType()) {
			continue
		}
		found := false
		for _, b := range built {
			found = found || b.IndexID == def.ID
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// IndexBuilt reloads a segment with its new index.
func (s *Server) IndexBuilt(ctx context.Context, collectionID, segmentID int64) error {
	segs, err := s.d.Data.Segments(ctx, collectionID, "")
	if err != nil {
		return fmt.Errorf("querycoord: segments of collection %d: %w", collectionID, err)
	}
	for _, seg := range segs {
		if seg.ID == segmentID {
			if len(seg.CompactedFrom) > 0 {
				if ready, err := s.indexed(ctx, &seg); err != nil || !ready {
					return err
				}
			}
			return s.handoff(ctx, collectionID, seg)
		}
	}
	return nil
}

// CollectionDropped releases a dropped collection.
func (s *Server) CollectionDropped(ctx context.Context, c *model.Collection) {
	if err := s.ReleaseCollection(ctx, c.ID); err != nil {
		s.logger.Error("release dropped collection", "collection", c.ID, "err", err)
	}
}

func union(a, b []int64) []int64 {
	out := append([]int64(nil), a...)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []int64, x int64) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}
