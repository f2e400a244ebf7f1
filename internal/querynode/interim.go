package querynode

import (
	"context"
	"maps"
	"strings"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/model"
)

// The interim indexes of a shard's segments follow the collection's index
// definitions, as Milvus's query node takes the collection's index meta
// from the load request (IndexInfoList) and from the coordinator's later
// syncs: a growing segment's vector field builds an interim index from
// its first rows when its index is a non-FLAT one, and a sealed segment
// loaded without its index builds one before it serves. The definitions
// arrive with the shard's plan (contract.ChannelPlan.Indexes) and, while
// the collection is loaded, with UpdateIndexes after an index is created
// or dropped.

// indexTypesOf maps each vector field of coll to the type of the index
// defs define on it ("" when none does).
func indexTypesOf(coll *model.Collection, defs []model.IndexDef) map[int64]string {
	types := map[int64]string{}
	for _, f := range coll.Schema.GetFields() {
		if column.IsVector(f.GetDataType()) {
			types[f.GetFieldID()] = ""
		}
	}
	for _, def := range defs {
		if _, vector := types[def.FieldID]; vector {
			types[def.FieldID] = strings.ToUpper(def.IndexParams["index_type"])
		}
	}
	return types
}

// setIndexes makes defs the shard's index definitions and tells its
// growing segments each vector field's index type: a field whose index
// became a non-FLAT one starts building over the rows held, one whose
// index was dropped (or is exact) frees what was built.
func (dl *delegator) setIndexes(defs []model.IndexDef) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	types := indexTypesOf(dl.coll(), defs)
	if maps.Equal(types, dl.indexTypes) {
		return
	}
	dl.indexTypes = types
	dl.tellGrowingLocked()
}

// tellGrowingLocked hands the shard's index types to every growing
// segment (a segment ignores a type it already has).
func (dl *delegator) tellGrowingLocked() {
	for _, g := range dl.growing {
		for field, typ := range dl.indexTypes {
			g.SetIndexType(field, typ)
		}
	}
}

// sealedIndexTypes is a copy of the shard's index types, for a sealed
// segment's interim indexes.
func (dl *delegator) sealedIndexTypes() map[int64]string {
	dl.mu.RLock()
	defer dl.mu.RUnlock()
	return maps.Clone(dl.indexTypes)
}

// UpdateIndexes gives every shard of a loaded collection the collection's
// index definitions after one was created or dropped (the query
// coordinator's IndexChanged). Shards loaded later take them from their
// plans; a collection not loaded here is ignored.
func (s *Server) UpdateIndexes(ctx context.Context, collectionID int64, defs []model.IndexDef) error {
	s.mu.Lock()
	c, ok := s.collections[collectionID]
	var shards []*delegator
	if ok {
		c.indexes = defs
		for _, dl := range c.shards {
			shards = append(shards, dl)
		}
	}
	s.mu.Unlock()
	for _, dl := range shards {
		dl.setIndexes(defs)
	}
	return nil
}
