package rootcoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/tso"
)

// Config tunes the root coordinator.
type Config struct {
	PChannelPrefix string // physical channels are PChannelPrefix + "_" + i
	PChannels      int    // number of physical DML channels
	MaxCollections int    // quotaAndLimits.limits.maxCollectionNum
	// MaxCollectionsPerDB is quotaAndLimits.limits.maxCollectionNumPerDB;
	// a database's database.max.collections property overrides it.
	MaxCollectionsPerDB int
	MaxDatabases        int
	MaxPartitions       int
}

// Default returns Milvus's defaults.
func Default() Config {
	return Config{PChannelPrefix: "milvago-dml", PChannels: 16, MaxCollections: 65536, MaxCollectionsPerDB: 65536, MaxDatabases: 64, MaxPartitions: 1024}
}

// propMaxCollections is the database property that caps its collections.
const propMaxCollections = "database.max.collections"

// checkMaxCollectionsPerDBLocked applies the database's
// database.max.collections property, else MaxCollectionsPerDB, as Milvus
// 2.6's createCollectionTask does (the property takes precedence over
// quotaAndLimits.limits.maxCollectionNumPerDB).
func (s *Server) checkMaxCollectionsPerDBLocked(db string) error {
	d, ok := s.dbs[db]
	if !ok {
		return nil
	}
	limit := s.cfg.MaxCollectionsPerDB
	if v := d.Properties[propMaxCollections]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("parse value of property fail, key:%s, value:%s", propMaxCollections, v)
		}
		limit = n
	}
	if limit <= 0 && d.Properties[propMaxCollections] == "" {
		return nil // not configured
	}
	n := 0
	for _, c := range s.collections {
		if c.DBName == db {
			n++
		}
	}
	if n >= limit {
		return fmt.Errorf("%w[dbName=%s][limit=%d]", errs.ErrCollectionNumLimitExceeded, db, limit)
	}
	return nil
}

// Hooks are told about DDL that affects other coordinators.
type Hooks interface {
	// CollectionDropped runs after a collection's meta is removed.
	CollectionDropped(ctx context.Context, c *model.Collection)
	// PartitionDropped runs after a partition's meta is removed.
	PartitionDropped(ctx context.Context, c *model.Collection, partitionID int64)
}

// Deps are the root coordinator's collaborators.
type Deps struct {
	KV     kv.Store
	Hooks  Hooks // nil: nobody listens
	Logger *slog.Logger
	// Watermark keeps the ID and timestamp limits outside the meta store
	// (nil: none), so a wiped or restored meta store never makes them go
	// backwards (watermark.go).
	Watermark Watermark
}

// Server is the root coordinator.
type Server struct {
	cfg    Config
	kv     kv.Store
	hooks  Hooks
	logger *slog.Logger
	tso    *tso.Oracle
	ids    *tso.IDAllocator

	mu          sync.RWMutex // guards dbs and collections
	dbs         map[string]*database
	collections map[int64]*model.Collection
}

type database struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	CreateTS   uint64            `json:"create_ts"`
	Properties map[string]string `json:"properties,omitempty"`
}

const (
	keyTSO           = "root/tso"
	keyID            = "root/id"
	prefixDB         = "root/db/"
	prefixColl       = "root/collection/"
	firstID    int64 = 450000000000000000 // IDs look like Milvus's (large, 18 digits)
)

// New loads the root coordinator's state from the meta store.
func New(ctx context.Context, cfg Config, d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	o, err := tso.NewOracle(ctx, marked(d.KV, d.Watermark, keyTSO, counterTSO), keyTSO, 3*time.Second)
	if err != nil {
		return nil, err
	}
	ids, err := tso.NewIDAllocator(ctx, marked(d.KV, d.Watermark, keyID, counterID), keyID, firstID, 10000)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, kv: d.KV, hooks: d.Hooks, logger: d.Logger.With("component", "rootcoord"),
		tso: o, ids: ids, dbs: map[string]*database{}, collections: map[int64]*model.Collection{}}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if _, ok := s.dbs[model.DefaultDatabase]; !ok {
		if err := s.CreateDatabase(ctx, model.DefaultDatabase, nil); err != nil {
			return nil, fmt.Errorf("rootcoord: create default database: %w", err)
		}
	}
	return s, nil
}

func (s *Server) load(ctx context.Context) error {
	dbs, err := s.kv.List(ctx, prefixDB)
	if err != nil {
		return fmt.Errorf("rootcoord: load databases: %w", err)
	}
	for _, e := range dbs {
		var db database
		if err := json.Unmarshal(e.Value, &db); err != nil {
			return fmt.Errorf("rootcoord: decode database %s: %w", e.Key, err)
		}
		s.dbs[db.Name] = &db
	}
	colls, err := s.kv.List(ctx, prefixColl)
	if err != nil {
		return fmt.Errorf("rootcoord: load collections: %w", err)
	}
	for _, e := range colls {
		c, err := decodeCollection(e.Value)
		if err != nil {
			return fmt.Errorf("rootcoord: decode collection %s: %w", e.Key, err)
		}
		s.collections[c.ID] = c
	}
	s.logger.Info("loaded meta", "databases", len(s.dbs), "collections", len(s.collections))
	return nil
}

// AllocTimestamp returns the first of count fresh hybrid timestamps.
func (s *Server) AllocTimestamp(ctx context.Context, count uint32) (uint64, error) {
	return s.tso.Allocate(ctx, count)
}

// AllocID returns the first of count fresh global IDs.
func (s *Server) AllocID(ctx context.Context, count int64) (int64, error) {
	return s.ids.Allocate(ctx, count)
}

// PChannels lists every physical DML channel.
func (s *Server) PChannels() []string {
	out := make([]string, s.cfg.PChannels)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%d", s.cfg.PChannelPrefix, i)
	}
	return out
}

// ---- databases ----

// CreateDatabase creates a database.
func (s *Server) CreateDatabase(ctx context.Context, name string, props map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dbs[name]; ok {
		return errs.InvalidParameter("database already exist: %s", name)
	}
	if len(s.dbs) >= s.cfg.MaxDatabases {
		return fmt.Errorf("database number (%d) exceeds max configuration (%d): %w", len(s.dbs), s.cfg.MaxDatabases, errs.ErrDatabaseNumLimitExceeded)
	}
	id, err := s.ids.Allocate(ctx, 1)
	if err != nil {
		return err
	}
	ts, err := s.tso.Now(ctx)
	if err != nil {
		return err
	}
	db := &database{ID: id, Name: name, CreateTS: ts, Properties: props}
	if err := s.saveDatabaseLocked(ctx, db); err != nil {
		return err
	}
	s.dbs[name] = db
	return nil
}

// DropDatabase drops an empty database. The default database cannot be dropped.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == model.DefaultDatabase {
		return errs.InvalidParameter("can not drop default database")
	}
	if _, ok := s.dbs[name]; !ok {
		return nil // Milvus: dropping a missing database succeeds
	}
	for _, c := range s.collections {
		if c.DBName == name {
			return errs.InvalidParameter("database:%s not empty, must drop all collections before drop database", name)
		}
	}
	if err := s.kv.Delete(ctx, prefixDB+name); err != nil {
		return fmt.Errorf("rootcoord: drop database %q: %w", name, err)
	}
	delete(s.dbs, name)
	return nil
}

// ListDatabases lists databases sorted by name.
func (s *Server) ListDatabases(ctx context.Context) ([]contract.Database, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]contract.Database, 0, len(s.dbs))
	for _, db := range s.dbs {
		out = append(out, contract.Database{ID: db.ID, Name: db.Name, CreateTS: db.CreateTS, Properties: db.Properties})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DescribeDatabase describes one database.
func (s *Server) DescribeDatabase(ctx context.Context, name string) (contract.Database, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	db, ok := s.dbs[dbName(name)]
	if !ok {
		return contract.Database{}, errs.DatabaseNotFound(name)
	}
	return contract.Database{ID: db.ID, Name: db.Name, CreateTS: db.CreateTS, Properties: db.Properties}, nil
}

func dbName(name string) string {
	if name == "" {
		return model.DefaultDatabase
	}
	return name
}

func (s *Server) checkDB(name string) error {
	if _, ok := s.dbs[name]; !ok {
		return errs.DatabaseNotFound(name)
	}
	return nil
}

// ---- collections ----

// CreateCollection creates a collection with its _default partition (or the
// named ones, see CreateCollectionRequest.PartitionNames). Creating
// a collection that exists with an identical schema succeeds (Milvus is
// idempotent here); a different schema is an error.
func (s *Server) CreateCollection(ctx context.Context, req contract.CreateCollectionRequest) (*model.Collection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	db := dbName(req.DBName)
	if err := s.checkDB(db); err != nil {
		return nil, err
	}
	name := req.Schema.GetName()
	if existing := s.byNameLocked(db, name); existing != nil {
		if sameSchema(existing.Schema, req.Schema) && existing.ShardsNum == req.ShardsNum {
			return existing, nil
		}
		return nil, errs.InvalidParameter("create duplicate collection with different parameters, collection: %s", name)
	}
	if s.aliasTargetLocked(db, name) != nil {
		return nil, errs.InvalidParameter("collection name [%s] conflicts with an existing alias, please choose a unique name", name)
	}
	if err := s.checkMaxCollectionsPerDBLocked(db); err != nil {
		return nil, err
	}
	if len(s.collections) >= s.cfg.MaxCollections {
		return nil, fmt.Errorf("%w[dbName=%s][limit=%d]", errs.ErrCollectionNumLimitExceeded, db, s.cfg.MaxCollections)
	}
	nParts := max(1, len(req.PartitionNames))
	base, err := s.ids.Allocate(ctx, int64(1+nParts))
	if err != nil {
		return nil, err
	}
	ts, err := s.tso.Now(ctx)
	if err != nil {
		return nil, err
	}
	c := &model.Collection{
		ID: base, DBName: db, Name: name, Schema: req.Schema, ShardsNum: req.ShardsNum,
		ConsistencyLevel: req.ConsistencyLevel, Properties: withTimezone(req.Properties, s.dbs[db].Properties),
		CreateTS: ts, UpdateTS: ts, SchemaTS: ts,
	}
	for i := range int(req.ShardsNum) {
		p := fmt.Sprintf("%s_%d", s.cfg.PChannelPrefix, int(uint64(base+int64(i))%uint64(s.cfg.PChannels)))
		c.PChannels = append(c.PChannels, p)
		c.VChannels = append(c.VChannels, fmt.Sprintf("%s_%dv%d", p, base, i))
	}
	names := req.PartitionNames
	if len(names) == 0 {
		names = []string{model.DefaultPartition}
	}
	for i, pn := range names {
		c.Partitions = append(c.Partitions, model.Partition{ID: base + 1 + int64(i), Name: pn, CreateTS: ts})
	}
	if err := s.saveLocked(ctx, c); err != nil {
		return nil, err
	}
	s.collections[c.ID] = c
	s.logger.Info("created collection", "db", db, "name", name, "id", c.ID, "shards", c.ShardsNum)
	return c, nil
}

// DropCollection drops a collection by name (not by alias).
func (s *Server) DropCollection(ctx context.Context, db, name string) error {
	s.mu.Lock()
	db = dbName(db)
	if _, ok := s.dbs[db]; !ok {
		s.mu.Unlock()
		return nil // Milvus 2.6 (dropCollectionTask.validate): a missing database is ignored too
	}
	c := s.byNameLocked(db, name)
	if c == nil {
		s.mu.Unlock()
		if s.aliasTargetLocked(db, name) != nil {
			return errs.InvalidParameter("cannot drop the collection via alias = %s", name)
		}
		return nil // Milvus: dropping a missing collection succeeds
	}
	if len(c.Aliases) > 0 {
		s.mu.Unlock()
		return errs.InvalidParameter("unable to drop the collection [%s] because it has associated aliases %v, please remove all aliases before dropping the collection", name, c.Aliases)
	}
	if err := s.kv.Delete(ctx, collKey(c.ID)); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("rootcoord: drop collection %q: %w", name, err)
	}
	delete(s.collections, c.ID)
	s.mu.Unlock()
	s.logger.Info("dropped collection", "db", db, "name", name, "id", c.ID)
	if s.hooks != nil {
		s.hooks.CollectionDropped(ctx, c)
	}
	return nil
}

// DescribeCollection finds a collection by name or alias in db, or by ID when id != 0.
// Collections are copy-on-write: the result is never modified afterwards and
// the caller must not modify it either.
func (s *Server) DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id != 0 {
		if c, ok := s.collections[id]; ok {
			return c, nil
		}
		return nil, errs.CollectionNotFound(id)
	}
	db = dbName(db)
	if err := s.checkDB(db); err != nil {
		return nil, err
	}
	if c := s.byNameLocked(db, name); c != nil {
		return c, nil
	}
	if c := s.aliasTargetLocked(db, name); c != nil {
		return c, nil
	}
	return nil, errs.CollectionNotFoundWithDB(db, name)
}

// ListCollections lists db's collections sorted by creation.
func (s *Server) ListCollections(ctx context.Context, db string) ([]*model.Collection, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	db = dbName(db)
	if err := s.checkDB(db); err != nil {
		return nil, err
	}
	var out []*model.Collection
	for _, c := range s.collections {
		if c.DBName == db {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AlterCollectionProperties merges properties into a collection's and
// removes deleteKeys.
func (s *Server) AlterCollectionProperties(ctx context.Context, db, name string, props []*commonpb.KeyValuePair, deleteKeys []string) error {
	return s.updateCollection(ctx, db, name, func(c *model.Collection) error {
		for _, p := range props {
			replaced := false
			for _, q := range c.Properties {
				if q.GetKey() == p.GetKey() {
					q.Value = p.GetValue()
					replaced = true
				}
			}
			if !replaced {
				c.Properties = append(c.Properties, &commonpb.KeyValuePair{Key: p.GetKey(), Value: p.GetValue()})
			}
		}
		for _, k := range deleteKeys {
			kept := c.Properties[:0]
			for _, q := range c.Properties {
				if q.GetKey() != k {
					kept = append(kept, q)
				}
			}
			c.Properties = kept
		}
		return nil
	})
}

// errUnchanged, returned by an updateCollection callback, ends the update
// successfully without writing anything (Milvus's "ignored" DDL).
var errUnchanged = errors.New("rootcoord: collection unchanged")

func (s *Server) updateCollection(ctx context.Context, db, name string, fn func(c *model.Collection) error) error {
	return s.update(ctx, db, name, true, fn)
}

// updateLayout is updateCollection for changes Milvus does not count as
// an alteration of the collection (partitions, aliases): the schema
// timestamp clients cache stays, so their next write is not refused with
// 109 and retried.
func (s *Server) updateLayout(ctx context.Context, db, name string, fn func(c *model.Collection) error) error {
	return s.update(ctx, db, name, false, fn)
}

func (s *Server) update(ctx context.Context, db, name string, schemaChange bool, fn func(c *model.Collection) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	db = dbName(db)
	if err := s.checkDB(db); err != nil {
		return err
	}
	c := s.byNameLocked(db, name)
	if c == nil {
		c = s.aliasTargetLocked(db, name)
	}
	if c == nil {
		return errs.CollectionNotFoundWithDB(db, name)
	}
	next := clone(c)
	if err := fn(next); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	ts, err := s.tso.Now(ctx)
	if err != nil {
		return err
	}
	next.UpdateTS = ts
	if schemaChange {
		next.SchemaTS = ts
	}
	if err := s.saveLocked(ctx, next); err != nil {
		return err
	}
	s.collections[next.ID] = next
	return nil
}

// ---- partitions ----

// CreatePartition adds a partition.
func (s *Server) CreatePartition(ctx context.Context, db, collection, partition string) error {
	id, err := s.ids.Allocate(ctx, 1)
	if err != nil {
		return err
	}
	ts, err := s.tso.Now(ctx)
	if err != nil {
		return err
	}
	return s.updateLayout(ctx, db, collection, func(c *model.Collection) error {
		if _, ok := c.PartitionByName(partition); ok {
			return errUnchanged // Milvus ignores creating a partition that exists
		}
		if len(c.Partitions) >= s.cfg.MaxPartitions {
			return errs.Plain("partition number (%d) exceeds max configuration (%d), collection: %s", len(c.Partitions), s.cfg.MaxPartitions, c.Name)
		}
		c.Partitions = append(c.Partitions, model.Partition{ID: id, Name: partition, CreateTS: ts})
		return nil
	})
}

// DropPartition removes a partition; _default cannot be dropped.
func (s *Server) DropPartition(ctx context.Context, db, collection, partition string) error {
	if partition == model.DefaultPartition {
		return errs.InvalidParameter("default partition cannot be deleted")
	}
	var dropped *model.Collection
	var pid int64
	err := s.updateLayout(ctx, db, collection, func(c *model.Collection) error {
		kept := c.Partitions[:0]
		for _, p := range c.Partitions {
			if p.Name == partition {
				pid = p.ID
				continue
			}
			kept = append(kept, p)
		}
		c.Partitions = kept
		dropped = c
		return nil
	})
	if err != nil {
		return err
	}
	if pid != 0 && s.hooks != nil {
		s.hooks.PartitionDropped(ctx, dropped, pid)
	}
	return nil
}

// ---- aliases ----

// CreateAlias points alias at collection.
func (s *Server) CreateAlias(ctx context.Context, db, alias, collection string) error {
	s.mu.RLock()
	db = dbName(db)
	conflict := s.byNameLocked(db, alias) != nil
	existing := s.aliasTargetLocked(db, alias)
	target := s.byNameLocked(db, collection)
	s.mu.RUnlock()
	if conflict {
		return fmt.Errorf("%w: cannot create alias %s, a collection has the same name", errs.ErrAliasCollectionNameConflict, alias)
	}
	if existing != nil {
		if existing.Name == collection {
			return nil
		}
		return fmt.Errorf("%w: %s is alias to another collection: %s", errs.ErrAliasAlreadyExist, alias, existing.Name)
	}
	if target == nil {
		if s.aliasTargetLocked(db, collection) != nil {
			return errs.InvalidParameter("cannot create alias %s on an alias %s", alias, collection)
		}
		return errs.CollectionNotFoundWithDB(db, collection)
	}
	return s.updateLayout(ctx, db, collection, func(c *model.Collection) error {
		c.Aliases = append(c.Aliases, alias)
		return nil
	})
}

// DropAlias removes alias.
func (s *Server) DropAlias(ctx context.Context, db, alias string) error {
	s.mu.RLock()
	target := s.aliasTargetLocked(dbName(db), alias)
	s.mu.RUnlock()
	if target == nil {
		return nil
	}
	return s.updateLayout(ctx, db, target.Name, func(c *model.Collection) error {
		c.Aliases = removeString(c.Aliases, alias)
		return nil
	})
}

// AlterAlias repoints alias at collection.
func (s *Server) AlterAlias(ctx context.Context, db, alias, collection string) error {
	s.mu.RLock()
	old := s.aliasTargetLocked(dbName(db), alias)
	s.mu.RUnlock()
	if old == nil {
		return fmt.Errorf("%w: alias %s", errs.ErrAliasNotFound, alias)
	}
	if err := s.DropAlias(ctx, db, alias); err != nil {
		return err
	}
	return s.CreateAlias(ctx, db, alias, collection)
}

// DescribeAlias returns the collection an alias points at.
func (s *Server) DescribeAlias(ctx context.Context, db, alias string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.aliasTargetLocked(dbName(db), alias); c != nil {
		return c.Name, nil
	}
	return "", fmt.Errorf("%w[alias=%s]", errs.ErrAliasNotFound, alias)
}

// ---- helpers ----

func (s *Server) byNameLocked(db, name string) *model.Collection {
	for _, c := range s.collections {
		if c.DBName == db && c.Name == name {
			return c
		}
	}
	return nil
}

func (s *Server) aliasTargetLocked(db, alias string) *model.Collection {
	for _, c := range s.collections {
		if c.DBName != db {
			continue
		}
		for _, a := range c.Aliases {
			if a == alias {
				return c
			}
		}
	}
	return nil
}

func collKey(id int64) string { return fmt.Sprintf("%s%d", prefixColl, id) }

func (s *Server) saveLocked(ctx context.Context, c *model.Collection) error {
	b, err := encodeCollection(c)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, collKey(c.ID), b); err != nil {
		return fmt.Errorf("rootcoord: save collection %q: %w", c.Name, err)
	}
	return nil
}

// collectionRecord is a collection's persisted form (JSON with the schema
// as protobuf bytes).
type collectionRecord struct {
	model.Collection
	Schema     []byte      `json:"schema"`
	Properties [][2]string `json:"properties"`
}

func encodeCollection(c *model.Collection) ([]byte, error) {
	schema, err := proto.Marshal(c.Schema)
	if err != nil {
		return nil, fmt.Errorf("rootcoord: encode schema: %w", err)
	}
	r := collectionRecord{Collection: *c, Schema: schema}
	r.Collection.Schema = nil
	r.Collection.Properties = nil
	for _, p := range c.Properties {
		r.Properties = append(r.Properties, [2]string{p.GetKey(), p.GetValue()})
	}
	return json.Marshal(r)
}

func decodeCollection(b []byte) (*model.Collection, error) {
	var r collectionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	c := r.Collection
	c.Schema = &schemapb.CollectionSchema{}
	if err := proto.Unmarshal(r.Schema, c.Schema); err != nil {
		return nil, err
	}
	for _, p := range r.Properties {
		c.Properties = append(c.Properties, &commonpb.KeyValuePair{Key: p[0], Value: p[1]})
	}
	return &c, nil
}

func clone(c *model.Collection) *model.Collection {
	b, err := encodeCollection(c)
	if err != nil {
		panic(fmt.Sprintf("rootcoord: clone collection: %v", err)) // programmer error: schema always marshals
	}
	out, err := decodeCollection(b)
	if err != nil {
		panic(fmt.Sprintf("rootcoord: clone collection: %v", err))
	}
	return out
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
