package metacache

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// RootSource is what the cache reads from the root coordinator.
type RootSource interface {
	DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
	DescribeDatabase(ctx context.Context, name string) (contract.Database, error)
}

// QuerySource is what the cache reads from the query coordinator.
type QuerySource interface {
	State(ctx context.Context, collectionID int64) (contract.LoadState, error)
}

// IndexSource is what the cache reads from the index coordinator.
type IndexSource interface {
	Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error)
}

// Sources are the coordinators behind the cache.
type Sources struct {
	Root  RootSource
	Query QuerySource
	Index IndexSource
}

// Invalidation names what a DDL changed: a collection by database and
// name (or alias) and/or by ID, or with Database set, a whole database.
type Invalidation struct {
	DB           string
	Collection   string
	CollectionID int64
	Database     bool
	Op           string
}

type nameKey struct{ db, name string }

// Cache is a proxy's metadata cache. Cached values are shared and must not
// be modified (the proxy treats a described collection as read-only, as
// it does the root coordinator's in standalone).
type Cache struct {
	src    Sources
	logger *slog.Logger

	mu      sync.Mutex
	gen     uint64            // bumped by every invalidation
	names   map[nameKey]int64 // db + name or alias -> collection ID
	colls   map[int64]*model.Collection
	states  map[int64]contract.LoadState
	indexes map[int64][]model.IndexDef
	dbs     map[string]contract.Database
}

// New returns an empty cache reading through src.
func New(src Sources, logger *slog.Logger) *Cache {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cache{src: src, logger: logger.With("component", "metacache"),
		names: map[nameKey]int64{}, colls: map[int64]*model.Collection{},
		states: map[int64]contract.LoadState{}, indexes: map[int64][]model.IndexDef{},
		dbs: map[string]contract.Database{}}
}

func dbName(db string) string {
	if db == "" {
		return model.DefaultDatabase
	}
	return db
}

// generation returns the current generation: a value fetched after this
// call may be stored only if no invalidation happened meanwhile.
func (c *Cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// DescribeCollection returns a collection by ID (id != 0) or by database
// and name or alias, from the cache or the root coordinator.
func (c *Cache) DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error) {
	db = dbName(db)
	c.mu.Lock()
	gen := c.gen
	if id == 0 {
		if cid, ok := c.names[nameKey{db, name}]; ok {
			if coll, ok := c.colls[cid]; ok {
				c.mu.Unlock()
				return coll, nil
			}
		}
	} else if coll, ok := c.colls[id]; ok {
		c.mu.Unlock()
		return coll, nil
	}
	c.mu.Unlock()
	coll, err := c.src.Root.DescribeCollection(ctx, db, name, id)
	if err != nil {
		return nil, err // errors (not found) are not cached
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.colls[coll.ID] = coll
		if id == 0 {
			c.names[nameKey{db, name}] = coll.ID
		}
	}
	return coll, nil
}

// DescribeDatabase returns a database from the cache or the root
// coordinator.
func (c *Cache) DescribeDatabase(ctx context.Context, name string) (contract.Database, error) {
	name = dbName(name)
	c.mu.Lock()
	gen := c.gen
	if d, ok := c.dbs[name]; ok {
		c.mu.Unlock()
		return d, nil
	}
	c.mu.Unlock()
	d, err := c.src.Root.DescribeDatabase(ctx, name)
	if err != nil {
		return d, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.dbs[name] = d
	}
	return d, nil
}

// State returns a collection's load state. Only a complete load is
// cached; a collection loading or not loaded is asked each time, so
// progress is seen as it happens.
func (c *Cache) State(ctx context.Context, collectionID int64) (contract.LoadState, error) {
	c.mu.Lock()
	gen := c.gen
	if st, ok := c.states[collectionID]; ok {
		c.mu.Unlock()
		return st, nil
	}
	c.mu.Unlock()
	st, err := c.src.Query.State(ctx, collectionID)
	if err != nil {
		return st, err
	}
	if st.Loaded && st.Progress >= 100 {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen == gen {
			c.states[collectionID] = st
		}
	}
	return st, nil
}

// Indexes returns a collection's index definitions.
func (c *Cache) Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error) {
	c.mu.Lock()
	gen := c.gen
	if defs, ok := c.indexes[collectionID]; ok {
		c.mu.Unlock()
		return defs, nil
	}
	c.mu.Unlock()
	defs, err := c.src.Index.Indexes(ctx, collectionID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.indexes[collectionID] = defs
	}
	return defs, nil
}

// Invalidate removes what inv names: with Database, every entry of the
// database; else the collection named (by name or alias in DB) and the
// collection with CollectionID, each with all the names that lead to it,
// its load state and its indexes.
func (c *Cache) Invalidate(inv Invalidation) {
	db := dbName(inv.DB)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if inv.Database {
		delete(c.dbs, db)
		for id, coll := range c.colls {
			if dbName(coll.DBName) == db {
				c.removeLocked(id)
			}
		}
		for k := range c.names {
			if k.db == db {
				delete(c.names, k)
			}
		}
	}
	if inv.Collection != "" {
		k := nameKey{db, inv.Collection}
		if id, ok := c.names[k]; ok {
			c.removeLocked(id)
		}
		delete(c.names, k)
		// An entry cached by ID only has no name key: match its names.
		for id, coll := range c.colls {
			if dbName(coll.DBName) == db && (coll.Name == inv.Collection || slices.Contains(coll.Aliases, inv.Collection)) {
				c.removeLocked(id)
			}
		}
	}
	if inv.CollectionID != 0 {
		c.removeLocked(inv.CollectionID)
	}
	c.logger.Debug("invalidated", "op", inv.Op, "db", db, "collection", inv.Collection, "id", inv.CollectionID, "database", inv.Database)
}

// Reset empties the cache. A proxy calls it once its session is
// registered: from then on every DDL invalidates it, and what it cached
// before (when the coordinators could not know of it) is dropped.
func (c *Cache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.names = map[nameKey]int64{}
	c.colls = map[int64]*model.Collection{}
	c.states = map[int64]contract.LoadState{}
	c.indexes = map[int64][]model.IndexDef{}
	c.dbs = map[string]contract.Database{}
}

func (c *Cache) removeLocked(id int64) {
	delete(c.colls, id)
	delete(c.states, id)
	delete(c.indexes, id)
	for k, v := range c.names {
		if v == id {
			delete(c.names, k)
		}
	}
}
