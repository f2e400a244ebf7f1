package querynode

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/dispatcher"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/segment"
)

// syncer writes a time tick on demand (the channel writer), and tells
// the timestamp of the last message it appended (the log's durable end).
type syncer interface {
	SyncTo(ctx context.Context, pchannel string, ts uint64) error
	LogEnd(ctx context.Context, pchannel string) (uint64, error)
}

// indexFaults takes reports of bad index files (the index coordinator).
type indexFaults interface {
	IndexFileBad(ctx context.Context, b contract.BadIndexFile) error
}

// Deps are the query node's collaborators.
type Deps struct {
	Log     logbroker.Log
	Objects objstore.Store
	Syncer  syncer
	// Collections resolves a collection's current definition when the log
	// carries a field the shard's schema lacks (schema.go); nil: such an
	// insert fails the shard until UpdateCollection is called.
	Collections collections
	// IndexFaults hears about index files found missing or corrupt (the
	// index coordinator, which rebuilds them); nil: they are only logged.
	IndexFaults indexFaults
	// Interim configures the interim index of growing segments
	// (queryNode.segcore.interimIndex.*); nil: Milvus's defaults.
	Interim *segment.InterimIndexConfig
	// Prune is the search-time pruning of segments by a vector clustering
	// key's centroids (prune.go); nil: Milvus's defaults (off).
	Prune *PruneConfig
	// LoadConcurrency is how many shards the node loads at once
	// (milvago.queryNode.loadConcurrency; loadqueue.go); <= 0: 4 per CPU (GOMAXPROCS).
	LoadConcurrency int
	Logger          *slog.Logger

	// readers hands shards their readers of the log: one shared reader
	// per physical channel (New makes it over Log; Run closes it).
	readers *dispatcher.Dispatcher
	// loads orders and bounds the shards' loads (New makes it).
	loads *loadQueue
}

// interim returns the growing segments' interim index configuration.
func (d Deps) interim() segment.InterimIndexConfig {
	if d.Interim == nil {
		return segment.DefaultInterimIndexConfig()
	}
	return *d.Interim
}

// prune returns the segment pruning configuration.
func (d Deps) prune() PruneConfig {
	if d.Prune == nil {
		return DefaultPrune()
	}
	return *d.Prune
}

// Server is a query node.
type Server struct {
	d      Deps
	logger *slog.Logger

	mu          sync.Mutex // guards collections
	collections map[int64]*collection
	wg          sync.WaitGroup
	runCtx      context.Context
}

type collection struct {
	coll       *model.Collection
	partitions map[int64]bool // loaded partitions; nil: all
	shards     map[string]*delegator
	stops      map[string]context.CancelFunc // each shard's own stop
	indexes    []model.IndexDef              // the latest index definitions (plans, UpdateIndexes)
	ctx        context.Context               // the shards' context, ended by cancel
	cancel     context.CancelFunc
}

// New returns a query node; Run must be running before anything is loaded.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	logger := d.Logger.With("component", "querynode")
	d.readers = newReaders(d.Log, logger)
	d.loads = newLoadQueue(d.LoadConcurrency)
	return &Server{d: d, logger: logger, collections: map[int64]*collection{}}
}

// newReaders returns a dispatcher over log with the default settings.
func newReaders(log logbroker.Log, logger *slog.Logger) *dispatcher.Dispatcher {
	r, err := dispatcher.New(dispatcher.Default(), log, logger)
	if err != nil {
		panic(err) // the defaults are valid
	}
	return r
}

// Start lets the node accept loads; shards it serves stop when ctx ends.
func (s *Server) Start(ctx context.Context) {
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
}

// Run serves until ctx ends (calling Start if it was not), then releases
// everything.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.runCtx == nil {
		s.runCtx = ctx
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	for id, c := range s.collections {
		c.cancel()
		delete(s.collections, id)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.d.readers.Close()
}

// LoadCollection starts serving a collection's shards as planned. Loading
// continues in the background; Progress reports it. partitions nil loads all.
func (s *Server) LoadCollection(ctx context.Context, coll *model.Collection, partitions []int64, plans []contract.ChannelPlan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil {
		return fmt.Errorf("querynode: not running: %w", errs.ErrServiceNotReady)
	}
	c, ok := s.collections[coll.ID]
	if !ok {
		cctx, cancel := context.WithCancel(s.runCtx)
		c = &collection{coll: coll, shards: map[string]*delegator{}, stops: map[string]context.CancelFunc{}, cancel: cancel, ctx: cctx}
		s.collections[coll.ID] = c
	}
	c.setPartitions(partitions)
	if plans != nil {
		// The plans are every shard the node is to serve: a loaded
		// collection drops the shards the query coordinator moved off it
		// and gains those it moved here.
		for vc, dl := range c.shards {
			if !slices.ContainsFunc(plans, func(p contract.ChannelPlan) bool { return p.VChannel == vc }) {
				delete(c.shards, vc)
				c.stops[vc]()
				delete(c.stops, vc)
				dl.close()
			}
		}
	}
	for _, p := range plans {
		if p.Indexes != nil {
			c.indexes = p.Indexes
		} else {
			p.Indexes = c.indexes
		}
		if dl, served := c.shards[p.VChannel]; served {
			// A load sent again (a retried assignment) carries the
			// collection's current index definitions.
			dl.setIndexes(p.Indexes)
			continue
		}
		dl := newDelegator(c.coll, p, s.d, s.logger)
		c.shards[p.VChannel] = dl
		dctx, stop := context.WithCancel(c.ctx)
		c.stops[p.VChannel] = stop
		s.wg.Go(func() { dl.run(dctx) })
	}
	return nil
}

func (c *collection) setPartitions(partitions []int64) {
	if partitions == nil {
		c.partitions = nil
		return
	}
	c.partitions = map[int64]bool{}
	for _, p := range partitions {
		c.partitions[p] = true
	}
}

// ReleaseCollection stops serving a collection and frees its segments.
func (s *Server) ReleaseCollection(ctx context.Context, collectionID int64) error {
	s.mu.Lock()
	c, ok := s.collections[collectionID]
	delete(s.collections, collectionID)
	s.mu.Unlock()
	if ok {
		c.cancel()
		for _, d := range c.shards {
			d.close()
		}
	}
	return nil
}

// SyncSegment hands a flushed (or newly indexed) segment to its shard:
// the sealed copy replaces the growing one, or the previous sealed copy.
func (s *Server) SyncSegment(ctx context.Context, collectionID int64, plan contract.SegmentPlan) error {
	d, err := s.shard(collectionID, plan.Segment.VChannel)
	if err != nil {
		return err
	}
	if plan.Segment.State == model.SegmentDropped {
		// A compaction that kept no row: its sources leave the shard.
		d.dropSegments(plan.Segment.CompactedFrom)
		return nil
	}
	return d.handoff(ctx, plan)
}

// DropSegments removes segments (e.g. of a dropped partition).
func (s *Server) DropSegments(ctx context.Context, collectionID int64, partitionID int64) error {
	s.mu.Lock()
	c, ok := s.collections[collectionID]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	for _, d := range c.shards {
		d.dropPartition(partitionID)
	}
	return nil
}

// Progress returns the loading percentage of a collection (100: ready).
func (s *Server) Progress(ctx context.Context, collectionID int64) (int64, bool, error) {
	s.mu.Lock()
	c, ok := s.collections[collectionID]
	s.mu.Unlock()
	if !ok {
		return 0, false, nil
	}
	var sum int64
	for _, d := range c.shards {
		if err := d.loadFailure(); err != nil {
			return 0, true, err
		}
		sum += d.progress()
	}
	if len(c.shards) == 0 {
		return 100, true, nil
	}
	return sum / int64(len(c.shards)), true, nil
}

func (s *Server) shard(collectionID int64, vchannel string) (*delegator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.collections[collectionID]
	if !ok {
		return nil, errs.CollectionNotLoaded(collectionID)
	}
	d, ok := c.shards[vchannel]
	if !ok {
		return nil, fmt.Errorf("querynode: shard %s: %w", vchannel, errs.ErrChannelNotFound)
	}
	return d, nil
}

func (s *Server) partitionsFor(collectionID int64, requested []int64) (map[int64]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.collections[collectionID]
	if !ok {
		return nil, errs.CollectionNotLoaded(collectionID)
	}
	if len(requested) == 0 {
		return c.partitions, nil
	}
	out := map[int64]bool{}
	for _, p := range requested {
		if c.partitions != nil && !c.partitions[p] {
			return nil, errs.PartitionNotLoaded(p) // Milvus's delegator: partition not loaded[partition=ID]
		}
		out[p] = true
	}
	return out, nil
}

// Search runs one shard's share of a search.
func (s *Server) Search(ctx context.Context, req *contract.SearchRequest) (*contract.SearchResult, error) {
	d, err := s.shard(req.CollectionID, req.VChannel)
	if err != nil {
		return nil, err
	}
	parts, err := s.partitionsFor(req.CollectionID, req.PartitionIDs)
	if err != nil {
		return nil, err
	}
	if len(req.Subs) > 0 {
		return d.searchSubs(ctx, req, parts)
	}
	return d.search(ctx, req, parts)
}

// Query runs one shard's share of a query or count.
func (s *Server) Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error) {
	d, err := s.shard(req.CollectionID, req.VChannel)
	if err != nil {
		return nil, err
	}
	parts, err := s.partitionsFor(req.CollectionID, req.PartitionIDs)
	if err != nil {
		return nil, err
	}
	return d.query(ctx, req, parts)
}

// Collection returns the definition of a loaded collection (an RPC adapter
// decodes filters and encodes result columns against its schema).
func (s *Server) Collection(collectionID int64) (*model.Collection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.collections[collectionID]
	if !ok {
		return nil, errs.CollectionNotLoaded(collectionID)
	}
	return c.coll, nil
}
