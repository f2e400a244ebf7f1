// Package indexcoord is the index coordinator: it owns index definitions
// (which field of which collection has which index) and the build task of
// every flushed segment, and hands builds to index nodes.
//
// State lives in the meta store under "index/"; mu guards the in-memory
// copy. Builds run on a bounded worker pool; listeners (the query
// coordinator) hear about each finished build after it is persisted.
package indexcoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/notice"
	"github.com/milvago/milvago/internal/scalarindex"
)

// builder runs builds (an index node).
type builder interface {
	Build(ctx context.Context, t contract.BuildTask) (contract.BuildResult, error)
}

// segments lists flushed segments and looks one up (the data coordinator).
type segments interface {
	Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
	Segment(ctx context.Context, id int64) (model.Segment, bool, error)
}

// idAllocator hands out global IDs.
type idAllocator interface {
	AllocID(ctx context.Context, count int64) (int64, error)
}

// Listener hears about finished builds and about index definitions
// created or dropped (the query coordinator hands a loaded collection's
// definitions to its query nodes).
type Listener interface {
	IndexBuilt(ctx context.Context, collectionID, segmentID int64) error
	IndexChanged(ctx context.Context, collectionID int64) error
}

// Deps are the index coordinator's collaborators.
type Deps struct {
	KV       kv.Store
	IDs      idAllocator
	Segments segments
	Builder  builder
	// Slots is how many builds may run at once: in a cluster, one per
	// live index node (Builder sends each to the least busy node); nil:
	// one at a time.
	Slots func() int
	// ReconcileEvery is how often Run looks for flushed segments that
	// have no build of an index of their collection (reconcile.go);
	// 0: once a minute.
	ReconcileEvery time.Duration
	Logger         *slog.Logger
}

// Server is the index coordinator.
type Server struct {
	d      Deps
	logger *slog.Logger
	queue  chan int64 // build IDs to run

	mu         sync.Mutex                    // guards defs, builds, scheduling, listeners
	defs       map[int64]*model.IndexDef     // by index ID
	builds     map[int64]*model.SegmentIndex // by build ID
	scheduling map[scheduleKey]bool          // builds being created
	listeners  []Listener
	notices    *notice.Retrier // listeners' failed IndexBuilt notices, sent again
	running    int64           // the build Run executes now, 0: none (gc.go)
}

type scheduleKey struct{ index, segment int64 }

const (
	prefixDef   = "index/def/"
	prefixBuild = "index/build/"
)

// New loads the index coordinator's state.
func New(ctx context.Context, d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{d: d, logger: d.Logger.With("component", "indexcoord"), queue: make(chan int64, 1<<16),
		defs: map[int64]*model.IndexDef{}, builds: map[int64]*model.SegmentIndex{}, scheduling: map[scheduleKey]bool{}}
	s.notices = notice.New(s.logger)
	defs, err := d.KV.List(ctx, prefixDef)
	if err != nil {
		return nil, fmt.Errorf("indexcoord: load definitions: %w", err)
	}
	for _, e := range defs {
		var def model.IndexDef
		if err := json.Unmarshal(e.Value, &def); err != nil {
			return nil, fmt.Errorf("indexcoord: decode %s: %w", e.Key, err)
		}
		s.defs[def.ID] = &def
	}
	builds, err := d.KV.List(ctx, prefixBuild)
	if err != nil {
		return nil, fmt.Errorf("indexcoord: load builds: %w", err)
	}
	for _, e := range builds {
		var b model.SegmentIndex
		if err := json.Unmarshal(e.Value, &b); err != nil {
			return nil, fmt.Errorf("indexcoord: decode %s: %w", e.Key, err)
		}
		if s.defs[b.IndexID] == nil {
			continue // written back by a build that outlived DropIndex
		}
		s.builds[b.BuildID] = &b
		if b.State == commonpb.IndexState_InProgress || b.State == commonpb.IndexState_Unissued {
			s.queue <- b.BuildID
		}
	}
	return s, nil
}

// AddListener registers l for finished builds.
func (s *Server) AddListener(l Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, l)
}

// Run executes builds until ctx ends: as many at once as Deps.Slots says
// (one per live index node in a cluster, so the builds spread over them),
// one at a time without it, which keeps a core free for queries on small
// machines. A build already running is not started twice.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.reconcileLoop(ctx) })
	wg.Go(func() { s.notices.Run(ctx) })
	dispatch(ctx, s.queue, s.d.Slots, s.runBuild)
	return nil
}

// CreateIndex defines an index and schedules builds for flushed segments.
// Defining the same index again is a no-op; a different one on the same
// field is an error, as in Milvus.
func (s *Server) CreateIndex(ctx context.Context, req contract.CreateIndexRequest) error {
	spec, err := s.validate(req)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, def := range s.defs {
		if def.CollectionID != req.Collection.ID {
			continue
		}
		// Milvus's indexMeta.canCreateIndex (plain errors, code 65535).
		if def.Name == req.Name {
			same := def.FieldID == req.Field.GetFieldID() && maps.Equal(def.IndexParams, spec)
			s.mu.Unlock()
			if same {
				return nil
			}
			return errs.Plain("CreateIndex failed: at most one distinct index is allowed per field")
		}
		if def.FieldID == req.Field.GetFieldID() {
			if req.Field.GetDataType() == schemapb.DataType_JSON && def.IndexParams["json_path"] != spec["json_path"] {
				continue // JSON indexes at different paths coexist
			}
			s.mu.Unlock()
			return errs.Plain("CreateIndex failed: creating multiple indexes on same field is not supported")
		}
	}
	s.mu.Unlock()
	id, err := s.d.IDs.AllocID(ctx, 1)
	if err != nil {
		return err
	}
	def := &model.IndexDef{ID: id, CollectionID: req.Collection.ID, FieldID: req.Field.GetFieldID(), Name: req.Name,
		IndexParams: spec, UserParams: req.UserParams, TypeParams: map[string]string{}}
	for _, p := range req.Field.GetTypeParams() {
		def.TypeParams[p.GetKey()] = p.GetValue()
	}
	b, _ := json.Marshal(def)
	if _, err := s.d.KV.Put(ctx, prefixDef+strconv.FormatInt(id, 10), b); err != nil {
		return fmt.Errorf("indexcoord: save index %q: %w", req.Name, err)
	}
	s.mu.Lock()
	s.defs[id] = def
	s.mu.Unlock()
	s.indexChanged(ctx, req.Collection.ID)
	segs, err := s.d.Segments.Segments(ctx, req.Collection.ID, "")
	if err != nil {
		return fmt.Errorf("indexcoord: segments of collection %d: %w", req.Collection.ID, err)
	}
	for _, seg := range segs {
		if seg.State == model.SegmentFlushed {
			if err := s.schedule(ctx, def, seg); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks the index against the field and returns the resolved
// parameters (AUTOINDEX turned into the concrete type).
func (s *Server) validate(req contract.CreateIndexRequest) (map[string]string, error) {
	params := map[string]string{}
	maps.Copy(params, req.Params)
	typ := strings.ToUpper(params["index_type"])
	f := req.Field
	if f.GetDataType() == schemapb.DataType_ArrayOfVector {
		return validateEmbList(f, params)
	}
	if !column.IsVector(f.GetDataType()) {
		geo := f.GetDataType() == schemapb.DataType_Geometry
		switch typ {
		case "", "AUTOINDEX":
			typ = "INVERTED"
			if geo {
				typ = "RTREE" // Milvus's autoIndex.scalar geometry default
			}
		case "RTREE":
			if !geo {
				return nil, errs.InvalidParameter("RTREE index can only be built on geometry field, got %s", f.GetDataType())
			}
		case "INVERTED", "STL_SORT", "TRIE", "BITMAP", "NGRAM":
		default:
			return nil, errs.InvalidParameter("invalid index type: %s for scalar field: %s", params["index_type"], f.GetName())
		}
		params["index_type"] = typ
		delete(params, "metric_type")
		return params, nil
	}
	if typ == "" {
		typ = index.TypeAutoIndex
	}
	metric := strings.ToUpper(params["metric_type"])
	if metric == "" {
		switch f.GetDataType() {
		case schemapb.DataType_BinaryVector:
			metric = string(index.Hamming)
		case schemapb.DataType_SparseFloatVector:
			metric = string(index.IP)
		default:
			metric = string(index.Cosine)
		}
	}
	build := map[string]string{}
	for k, v := range params {
		if k != "index_type" && k != "metric_type" {
			build[k] = v
		}
	}
	if typ == index.TypeAutoIndex {
		// Milvus's AUTOINDEX per vector kind (autoIndex.params.sparse /
		// .binary): sparse vectors get SPARSE_INVERTED_INDEX; binary ones
		// an index that takes HAMMING or JACCARD only.
		switch f.GetDataType() {
		case schemapb.DataType_SparseFloatVector:
			typ = index.TypeSparseInv
		case schemapb.DataType_BinaryVector:
			if metric != string(index.Hamming) && metric != string(index.Jaccard) {
				return nil, errs.InvalidParameter("metric type %s not found or not supported, supported: [HAMMING JACCARD]", metric)
			}
		}
	}
	spec := index.ResolveAuto(index.Spec{Type: typ, Metric: index.Metric(metric), Dim: dimOf(f), Params: build})
	kind, ok := index.KindOf(spec.Type)
	if !ok {
		return nil, errs.InvalidParameter("invalid index type: %s", params["index_type"])
	}
	wantKind := index.KindFloat
	switch f.GetDataType() {
	case schemapb.DataType_BinaryVector:
		wantKind = index.KindBinary
	case schemapb.DataType_SparseFloatVector:
		wantKind = index.KindSparse
	}
	if kind != wantKind {
		return nil, errs.InvalidParameter("data type %s can't build with this index %s", f.GetDataType(), spec.Type)
	}
	if _, err := index.New(spec); err != nil {
		return nil, errs.InvalidParameter("%v", err)
	}
	out := map[string]string{"index_type": spec.Type, "metric_type": string(spec.Metric)}
	maps.Copy(out, spec.Params)
	return out, nil
}

func dimOf(f *schemapb.FieldSchema) int {
	for _, kv := range f.GetTypeParams() {
		if kv.GetKey() == "dim" {
			d, _ := strconv.Atoi(kv.GetValue())
			return d
		}
	}
	return 0
}

func (s *Server) specOf(def *model.IndexDef, f *schemapb.FieldSchema) index.Spec {
	build := map[string]string{}
	for k, v := range def.IndexParams {
		if k != "index_type" && k != "metric_type" {
			build[k] = v
		}
	}
	return index.Spec{Type: def.IndexParams["index_type"], Metric: index.Metric(def.IndexParams["metric_type"]), Dim: dimOf(f), Params: build}
}

// SegmentFlushed schedules builds for a newly flushed segment.
func (s *Server) SegmentFlushed(ctx context.Context, seg *model.Segment) error {
	if seg.State != model.SegmentFlushed {
		return nil // a compaction that kept no row: nothing to build
	}
	s.mu.Lock()
	var defs []*model.IndexDef
	for _, def := range s.defs {
		if def.CollectionID == seg.CollectionID {
			defs = append(defs, def)
		}
	}
	s.mu.Unlock()
	var errList []error
	for _, def := range defs {
		if err := s.schedule(ctx, def, *seg); err != nil {
			errList = append(errList, fmt.Errorf("indexcoord: schedule build of index %q for segment %d: %w", def.Name, seg.ID, err))
		}
	}
	return errors.Join(errList...)
}

func isVectorIndex(def *model.IndexDef) bool {
	_, ok := index.KindOf(def.IndexParams["index_type"])
	return ok
}

func (s *Server) schedule(ctx context.Context, def *model.IndexDef, seg model.Segment) error {
	state := commonpb.IndexState_Unissued
	if !isVectorIndex(def) && !scalarindex.Supports(def.IndexParams["index_type"]) {
		// RTREE is a definition only: sealed segments build their R-trees
		// when first filtered (segment/rtree.go).
		state = commonpb.IndexState_Finished
	}
	// CreateIndex and SegmentFlushed may schedule the same segment at
	// once: reserve (index, segment) under mu until the build is recorded.
	key := scheduleKey{def.ID, seg.ID}
	s.mu.Lock()
	for _, b := range s.builds {
		if b.IndexID == def.ID && b.SegmentID == seg.ID {
			s.mu.Unlock()
			return nil
		}
	}
	if s.scheduling[key] {
		s.mu.Unlock()
		return nil
	}
	s.scheduling[key] = true
	s.mu.Unlock()
	b, err := s.newBuild(ctx, def, seg, state)
	s.mu.Lock()
	delete(s.scheduling, key)
	if b != nil {
		s.builds[b.BuildID] = b
	}
	s.mu.Unlock()
	if b == nil {
		return err // nil error: the index was dropped meanwhile
	}
	id := b.BuildID
	if state != commonpb.IndexState_Finished {
		select {
		case s.queue <- id:
		default:
			s.logger.Warn("build queue full; build runs after restart", "build", id)
		}
	}
	return nil
}

// saveBuild persists b only while its index is still defined, and reports
// whether it did: a build that finishes (or is scheduled) after DropIndex
// removed its records must not write them back, or a restart would serve
// the dropped index's file for the segment.
// newBuild allocates and persists a build; nil without error when the
// index was dropped meanwhile.
func (s *Server) newBuild(ctx context.Context, def *model.IndexDef, seg model.Segment, state commonpb.IndexState) (*model.SegmentIndex, error) {
	id, err := s.d.IDs.AllocID(ctx, 1)
	if err != nil {
		return nil, err
	}
	b := &model.SegmentIndex{BuildID: id, IndexID: def.ID, SegmentID: seg.ID, FieldID: def.FieldID, State: state, NumRows: seg.NumRows}
	if saved, err := s.saveBuild(ctx, b); err != nil || !saved {
		return nil, err
	}
	return b, nil
}

func (s *Server) saveBuild(ctx context.Context, b *model.SegmentIndex) (bool, error) {
	defKey := prefixDef + strconv.FormatInt(b.IndexID, 10)
	def, err := s.d.KV.Get(ctx, defKey)
	if errors.Is(err, kv.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("indexcoord: save build %d: %w", b.BuildID, err)
	}
	data, _ := json.Marshal(b)
	ok, err := s.d.KV.Txn(ctx, []kv.Cond{{Key: defKey, Revision: def.Revision}},
		[]kv.Op{{Key: prefixBuild + strconv.FormatInt(b.BuildID, 10), Value: data}})
	if err != nil {
		return false, fmt.Errorf("indexcoord: save build %d: %w", b.BuildID, err)
	}
	return ok, nil
}

func (s *Server) runBuild(ctx context.Context, buildID int64) {
	s.mu.Lock()
	s.running = buildID
	defer func() {
		s.mu.Lock()
		s.running = 0
		s.mu.Unlock()
	}()
	b, ok := s.builds[buildID]
	var def *model.IndexDef
	if ok {
		def = s.defs[b.IndexID]
	}
	s.mu.Unlock()
	if !ok || def == nil {
		return // index dropped meanwhile
	}
	seg, found, err := s.segment(ctx, def.CollectionID, b.SegmentID)
	if err != nil {
		// The build stays pending; it runs again after a restart.
		s.logger.Error("index build: look up segment", "build", buildID, "segment", b.SegmentID, "err", err)
		return
	}
	if !found {
		return
	}
	field := s.fieldOf(def, seg)
	next := *b
	task := contract.BuildTask{BuildID: buildID, Spec: s.specOf(def, field), BinlogPath: seg.Binlogs[def.FieldID]}
	var res contract.BuildResult
	if task.BinlogPath == "" && scalarindex.Supports(task.Spec.Type) {
		// The segment predates the field (every row null): nothing to
		// index, filters scan it.
		s.finishBuild(ctx, def, seg, &next, contract.BuildResult{NumRows: seg.NumRows}, nil)
		return
	}
	// No index node reachable (none running, or the one building was
	// killed): the build is not failed but waits for one, as Milvus
	// re-queues a task whose node was lost.
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		res, err = s.d.Builder.Build(ctx, task)
		if ctx.Err() != nil {
			return
		}
		if err == nil || !errors.Is(err, errs.ErrServiceUnavailable) {
			break
		}
		s.logger.Warn("index build: no index node reachable, retrying", "build", buildID, "segment", seg.ID, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.mu.Lock()
		_, still := s.defs[def.ID]
		s.mu.Unlock()
		if !still {
			return // index dropped meanwhile
		}
	}
	s.finishBuild(ctx, def, seg, &next, res, err)
}

// finishBuild records a build's outcome and tells the listeners.
func (s *Server) finishBuild(ctx context.Context, def *model.IndexDef, seg model.Segment, next *model.SegmentIndex, res contract.BuildResult, err error) {
	buildID := next.BuildID
	if err != nil {
		next.State = commonpb.IndexState_Failed
		next.FailReason = err.Error()
		s.logger.Error("index build failed", "build", buildID, "segment", seg.ID, "err", err)
	} else {
		next.State = commonpb.IndexState_Finished
		next.File, next.NumRows, next.SizeBytes = res.File, res.NumRows, res.SizeBytes
	}
	if saved, err := s.saveBuild(ctx, next); err != nil || !saved {
		if err != nil {
			s.logger.Error("record build", "build", buildID, "err", err)
		}
		return
	}
	s.mu.Lock()
	if _, still := s.defs[def.ID]; !still {
		s.mu.Unlock()
		return
	}
	s.builds[buildID] = next
	listeners := append([]Listener(nil), s.listeners...)
	s.mu.Unlock()
	if next.State != commonpb.IndexState_Finished {
		return
	}
	// The build is recorded whatever a listener answers; a notice not
	// taken (the query coordinator unreachable, a query node refusing the
	// reload) is sent again while the build stands (internal/notice).
	for i, l := range listeners {
		err := l.IndexBuilt(ctx, def.CollectionID, seg.ID)
		if err == nil {
			continue
		}
		s.logger.Warn("notify index built, retrying", "segment", seg.ID, "build", buildID, "err", err)
		collection, segment := def.CollectionID, seg.ID
		s.notices.Failed(fmt.Sprintf("indexcoord listener %d: build %d", i, buildID), func(ctx context.Context) error {
			s.mu.Lock()
			b, ok := s.builds[buildID]
			s.mu.Unlock()
			if !ok || b.State != commonpb.IndexState_Finished {
				return nil // dropped or rebuilt since: nothing to tell
			}
			return l.IndexBuilt(ctx, collection, segment)
		})
	}
}

func (s *Server) segment(ctx context.Context, collection, id int64) (model.Segment, bool, error) {
	seg, ok, err := s.d.Segments.Segment(ctx, id)
	if err != nil || !ok || seg.CollectionID != collection || seg.State == model.SegmentDropped {
		return model.Segment{}, false, err
	}
	return seg, true, nil
}

// fieldOf is resolved lazily by the caller that knows the schema; builds
// only need the field's dimension, kept in the definition's type params.
func (s *Server) fieldOf(def *model.IndexDef, _ model.Segment) *schemapb.FieldSchema {
	f := &schemapb.FieldSchema{FieldID: def.FieldID}
	for k, v := range def.TypeParams {
		f.TypeParams = append(f.TypeParams, &commonpb.KeyValuePair{Key: k, Value: v})
	}
	return f
}

// Indexes lists a collection's index definitions, by ID.
func (s *Server) Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.IndexDef
	for _, def := range s.defs {
		if def.CollectionID == collectionID {
			out = append(out, *def)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// SegmentIndexes lists the finished index builds (vector and scalar) of a
// segment that have a file.
func (s *Server) SegmentIndexes(ctx context.Context, segmentID int64) ([]model.SegmentIndex, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.SegmentIndex
	for _, b := range s.builds {
		if b.SegmentID == segmentID && b.State == commonpb.IndexState_Finished && b.File != "" {
			out = append(out, *b)
		}
	}
	return out, nil
}

// IndexProgress reports an index's build state over the collection's
// flushed segments. Growing rows count in TotalRows only.
func (s *Server) IndexProgress(ctx context.Context, def model.IndexDef) (contract.IndexProgress, error) {
	segs, err := s.d.Segments.Segments(ctx, def.CollectionID, "")
	if err != nil {
		return contract.IndexProgress{}, fmt.Errorf("indexcoord: segments of collection %d: %w", def.CollectionID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := contract.IndexProgress{State: commonpb.IndexState_Finished}
	bySeg := map[int64]*model.SegmentIndex{}
	for _, b := range s.builds {
		if b.IndexID == def.ID {
			bySeg[b.SegmentID] = b
		}
	}
	for _, seg := range segs {
		p.TotalRows += seg.NumRows
		if seg.State != model.SegmentFlushed {
			continue
		}
		b := bySeg[seg.ID]
		switch {
		case b == nil || b.State == commonpb.IndexState_Unissued || b.State == commonpb.IndexState_InProgress:
			p.PendingRows += seg.NumRows
			if p.State == commonpb.IndexState_Finished {
				p.State = commonpb.IndexState_InProgress
			}
		case b.State == commonpb.IndexState_Failed:
			p.State, p.FailReason = commonpb.IndexState_Failed, b.FailReason
		default:
			p.IndexedRows += seg.NumRows
		}
	}
	return p, nil
}

// DropIndex removes an index definition and its builds.
func (s *Server) DropIndex(ctx context.Context, collectionID, indexID int64) error {
	s.mu.Lock()
	ops := []kv.Op{{Key: prefixDef + strconv.FormatInt(indexID, 10), Delete: true}}
	for id, b := range s.builds {
		if b.IndexID == indexID {
			ops = append(ops, kv.Op{Key: prefixBuild + strconv.FormatInt(id, 10), Delete: true})
		}
	}
	s.mu.Unlock()
	if _, err := s.d.KV.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("indexcoord: drop index %d: %w", indexID, err)
	}
	s.mu.Lock()
	delete(s.defs, indexID)
	for id, b := range s.builds {
		if b.IndexID == indexID {
			delete(s.builds, id)
		}
	}
	s.mu.Unlock()
	s.indexChanged(ctx, collectionID)
	return nil
}

// indexChanged tells the listeners that collectionID's index definitions
// changed. Their failure does not undo the change: it is logged (the
// query coordinator retries a node it could not reach by loading it
// again).
func (s *Server) indexChanged(ctx context.Context, collectionID int64) {
	s.mu.Lock()
	ls := slices.Clone(s.listeners)
	s.mu.Unlock()
	for _, l := range ls {
		if err := l.IndexChanged(ctx, collectionID); err != nil {
			s.logger.Warn("index change not delivered", "collection", collectionID, "err", err)
		}
	}
}

// DropCollection forgets a dropped collection's indexes.
func (s *Server) DropCollection(ctx context.Context, collectionID int64) error {
	defs, err := s.Indexes(ctx, collectionID)
	if err != nil {
		return err
	}
	for _, def := range defs {
		if err := s.DropIndex(ctx, collectionID, def.ID); err != nil {
			return err
		}
	}
	return nil
}
