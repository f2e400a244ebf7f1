package indexcoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
)

// IndexFileBad handles a query node's report that a finished build's file
// is missing or corrupt: the build is replaced, in one meta store
// transaction, by a new one of the same index and segment, which Run
// builds again from the segment's binlogs (the source of truth; an index
// is derived data). Until it finishes the segment has no finished build of
// that index, so query nodes serve the field by exact search; once it
// does, the listeners (the query coordinator) reload the segment with the
// new file. A report about a build already replaced, or of an index or
// segment since dropped, is ignored, so repeated reports rebuild once.
func (s *Server) IndexFileBad(ctx context.Context, r contract.BadIndexFile) error {
	s.mu.Lock()
	old, ok := s.builds[r.BuildID]
	var def *model.IndexDef
	if ok {
		def = s.defs[old.IndexID]
	}
	if !ok || def == nil || old.State != commonpb.IndexState_Finished || old.File != r.File {
		s.mu.Unlock()
		return nil
	}
	key := scheduleKey{def.ID, old.SegmentID}
	if s.scheduling[key] {
		s.mu.Unlock()
		return nil // a rebuild is being recorded
	}
	s.scheduling[key] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.scheduling, key)
		s.mu.Unlock()
	}()
	seg, found, err := s.segment(ctx, def.CollectionID, old.SegmentID)
	if err != nil {
		return fmt.Errorf("indexcoord: rebuild index %q of segment %d: %w", def.Name, old.SegmentID, err)
	}
	if !found {
		return nil // compacted away or dropped: nothing to rebuild
	}
	id, err := s.d.IDs.AllocID(ctx, 1)
	if err != nil {
		return fmt.Errorf("indexcoord: rebuild index %q of segment %d: %w", def.Name, seg.ID, err)
	}
	next := &model.SegmentIndex{BuildID: id, IndexID: def.ID, SegmentID: seg.ID, FieldID: def.FieldID,
		State: commonpb.IndexState_Unissued, NumRows: seg.NumRows}
	replaced, err := s.replaceBuild(ctx, old, next)
	if err != nil || !replaced {
		return err
	}
	s.logger.Error("index file missing or corrupt: rebuilding the index from the segment's binlogs",
		"collection", def.CollectionID, "segment", seg.ID, "index", def.Name, "file", r.File,
		"bad_build", old.BuildID, "build", next.BuildID, "cause", r.Cause)
	s.mu.Lock()
	delete(s.builds, old.BuildID)
	s.builds[next.BuildID] = next
	s.mu.Unlock()
	select {
	case s.queue <- next.BuildID:
	default:
		s.logger.Warn("build queue full; build runs after restart", "build", next.BuildID)
	}
	return nil
}

// replaceBuild records next and removes old in one transaction, while the
// index is still defined and old still the record in the meta store. It
// reports whether it did.
func (s *Server) replaceBuild(ctx context.Context, old, next *model.SegmentIndex) (bool, error) {
	defKey := prefixDef + strconv.FormatInt(next.IndexID, 10)
	oldKey := prefixBuild + strconv.FormatInt(old.BuildID, 10)
	def, err := s.d.KV.Get(ctx, defKey)
	if errors.Is(err, kv.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("indexcoord: replace build %d: %w", old.BuildID, err)
	}
	cur, err := s.d.KV.Get(ctx, oldKey)
	if errors.Is(err, kv.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("indexcoord: replace build %d: %w", old.BuildID, err)
	}
	data, err := json.Marshal(next)
	if err != nil {
		return false, fmt.Errorf("indexcoord: replace build %d: %w", old.BuildID, err)
	}
	ok, err := s.d.KV.Txn(ctx,
		[]kv.Cond{{Key: defKey, Revision: def.Revision}, {Key: oldKey, Revision: cur.Revision}},
		[]kv.Op{{Key: prefixBuild + strconv.FormatInt(next.BuildID, 10), Value: data}, {Key: oldKey, Delete: true}})
	if err != nil {
		return false, fmt.Errorf("indexcoord: replace build %d: %w", old.BuildID, err)
	}
	return ok, nil
}
