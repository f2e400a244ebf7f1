package querycoord

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// indexRecorder records the index definitions a node receives, by load
// plan and by UpdateIndexes; failUpdates fails that many UpdateIndexes.
type indexRecorder struct {
	QueryNode
	mu          sync.Mutex
	planned     [][]model.IndexDef // each plan's, in load order
	updated     [][]model.IndexDef
	failUpdates int
}

func (r *indexRecorder) LoadCollection(ctx context.Context, coll *model.Collection, partitions []int64, plans []contract.ChannelPlan) error {
	r.mu.Lock()
	for _, p := range plans {
		r.planned = append(r.planned, p.Indexes)
	}
	r.mu.Unlock()
	return r.QueryNode.LoadCollection(ctx, coll, partitions, plans)
}

func (r *indexRecorder) UpdateIndexes(ctx context.Context, collectionID int64, defs []model.IndexDef) error {
	r.mu.Lock()
	if r.failUpdates > 0 {
		r.failUpdates--
		r.mu.Unlock()
		return errors.New("node unreachable")
	}
	r.updated = append(r.updated, defs)
	r.mu.Unlock()
	return r.QueryNode.UpdateIndexes(ctx, collectionID, defs)
}

func (r *indexRecorder) last() (planned, updated []model.IndexDef, plans, updates int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.planned) > 0 {
		planned = r.planned[len(r.planned)-1]
	}
	if len(r.updated) > 0 {
		updated = r.updated[len(r.updated)-1]
	}
	return planned, updated, len(r.planned), len(r.updated)
}

func indexTypes(defs []model.IndexDef) []string {
	out := []string{}
	for _, d := range defs {
		out = append(out, d.IndexParams["index_type"])
	}
	return out
}

// TestIndexDefinitionsReachNodes: every shard plan carries the
// collection's index definitions (Milvus's IndexInfoList); an index
// created or dropped while the collection is loaded reaches its nodes
// (IndexChanged from the index coordinator -> UpdateIndexes), a node that
// cannot be reached gets them by a load sent again, and a change to a
// collection not loaded reaches no node.
func TestIndexDefinitionsReachNodes(t *testing.T) {
	c := newCluster(t)
	c.stopQuery()
	rec := &indexRecorder{}
	c.startQueryVia(t, func(n QueryNode) QueryNode { rec.QueryNode = n; return rec })
	def := c.createIndex(t) // not loaded yet: no node hears of it
	if _, _, plans, updates := rec.last(); plans != 0 || updates != 0 {
		t.Fatalf("before the load: %d plans, %d updates", plans, updates)
	}
	if err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	c.waitLoaded(t)
	planned, _, plans, _ := rec.last()
	if plans != len(c.coll.VChannels) || len(planned) != 1 || planned[0].ID != def.ID {
		t.Fatalf("load: %d plans, last with indexes %v", plans, planned)
	}

	// Dropped while loaded: the node hears of it.
	if err := c.icoord.DropIndex(c.ctx, c.coll.ID, def.ID); err != nil {
		t.Fatal(err)
	}
	if _, updated, _, updates := rec.last(); updates != 1 || len(updated) != 0 {
		t.Fatalf("drop: %d updates, last %v", updates, updated)
	}
	// Created while loaded, the node unreachable: the next load sent
	// (here a recovery) carries it.
	rec.mu.Lock()
	rec.failUpdates = 1
	rec.mu.Unlock()
	if err := c.icoord.CreateIndex(c.ctx, contract.CreateIndexRequest{Collection: c.coll, Field: c.coll.FieldByID(vecField), Name: "v_idx",
		Params: map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "8", "efConstruction": "32"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, updates := rec.last(); updates != 1 {
		t.Fatalf("a failed update was recorded: %d updates", updates)
	}
	if err := c.qcoord.Recover(c.ctx); err != nil {
		t.Fatal(err)
	}
	planned, _, plans, _ = rec.last()
	if plans != 2*len(c.coll.VChannels) || len(planned) != 1 || indexTypes(planned)[0] != "HNSW" {
		t.Fatalf("reload after a failed update: %d plans, last with indexes %v", plans, indexTypes(planned))
	}
	// Reachable again: dropped, then created, each reaches the node.
	hnsw := must(c.icoord.Indexes(bg, c.coll.ID))[0]
	if err := c.icoord.DropIndex(c.ctx, c.coll.ID, hnsw.ID); err != nil {
		t.Fatal(err)
	}
	c.createIndex(t)
	if _, updated, _, updates := rec.last(); updates != 3 || len(updated) != 1 || indexTypes(updated)[0] != "FLAT" {
		t.Fatalf("create: %d updates, last %v", updates, indexTypes(updated))
	}

	// Released: changes reach no node.
	if err := c.qcoord.ReleaseCollection(c.ctx, c.coll.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.icoord.DropIndex(c.ctx, c.coll.ID, must(c.icoord.Indexes(bg, c.coll.ID))[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, updates := rec.last(); updates != 3 {
		t.Fatalf("released: %d updates", updates)
	}
}
