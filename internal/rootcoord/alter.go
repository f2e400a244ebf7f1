package rootcoord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// startOfUserFieldID is common.StartOfUserFieldID.
const startOfUserFieldID = 100

// FieldDescriptionKey is the AlterCollectionField property that changes a
// field's description instead of a type parameter (common.FieldDescriptionKey).
const FieldDescriptionKey = "field.description"

// ---- databases ----

// AlterDatabase sets (props) or removes (deleteKeys) database properties;
// Milvus accepts one or the other, not both. A change that changes nothing
// succeeds.
func (s *Server) AlterDatabase(ctx context.Context, name string, props []*commonpb.KeyValuePair, deleteKeys []string) error {
	if name == "" {
		return errs.InvalidParameter("alter database failed, database name does not exists")
	}
	if len(props) == 0 && len(deleteKeys) == 0 { // on the wire an empty list is no list
		return errs.InvalidParameter("alter database with empty properties and delete keys, expected to set either properties or delete keys")
	}
	if len(props) > 0 && len(deleteKeys) > 0 {
		return errs.InvalidParameter("alter database cannot modify properties and delete keys at the same time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.dbs[name]
	if !ok {
		return fmt.Errorf("failed to get database by name: %w", errs.DatabaseNotFound(name))
	}
	next := *old
	next.Properties = maps.Clone(old.Properties)
	if next.Properties == nil {
		next.Properties = map[string]string{}
	}
	for _, p := range props {
		next.Properties[p.GetKey()] = p.GetValue()
	}
	for _, k := range deleteKeys {
		delete(next.Properties, k)
	}
	if maps.Equal(next.Properties, old.Properties) || (len(next.Properties) == 0 && len(old.Properties) == 0) {
		return nil // Milvus: errIgnoredAlterDatabase, reported as success
	}
	if err := s.saveDatabaseLocked(ctx, &next); err != nil {
		return err
	}
	s.dbs[name] = &next
	return nil
}

// ---- collections ----

// RenameCollection renames a collection, possibly into another database
// (newDB; "" keeps its database). The collection keeps its ID, so its
// segments, indexes and load state are untouched. Its aliases follow it
// within a database; moving to another database requires dropping them
// first (as Milvus).
func (s *Server) RenameCollection(ctx context.Context, db, oldName, newDB, newName string) error {
	db = dbName(db)
	if newDB == "" {
		newDB = db
	}
	if newName == "" {
		return errs.InvalidParameter("new collection name should not be empty")
	}
	if oldName == "" {
		return errs.InvalidParameter("old collection name should not be empty")
	}
	if db == newDB && oldName == newName {
		return errs.InvalidParameter("collection name or database name should be different")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Milvus 2.6's validateEncryption, then CheckIfCollectionRenamable;
	// most of their errors are plain (code 65535).
	if db != newDB {
		if _, ok := s.dbs[db]; !ok {
			return fmt.Errorf("failed to get original database: %w", errs.DatabaseNotFound(db))
		}
		if _, ok := s.dbs[newDB]; !ok {
			return fmt.Errorf("target database %s not found: %w", newDB, errs.DatabaseNotFound(newDB))
		}
	}
	if _, ok := s.dbs[newDB]; !ok {
		return errs.Plain("target database:%s not found", newDB)
	}
	if s.aliasTargetLocked(db, oldName) != nil {
		return errs.Plain("unsupported use an alias to rename collection, alias:%s", oldName)
	}
	if s.aliasTargetLocked(newDB, newName) != nil {
		return errs.Plain("cannot rename collection to an existing alias: %s", newName)
	}
	if s.byNameLocked(newDB, newName) != nil {
		return errs.Plain("duplicated new collection name %s:%s with other collection name or alias", newDB, newName)
	}
	c := s.byNameLocked(db, oldName)
	if c == nil {
		return errs.CollectionNotFound(oldName)
	}
	if len(c.Aliases) > 0 && db != newDB {
		return errs.Plain("fail to rename db name, must drop all aliases of this collection before rename")
	}
	next := clone(c)
	next.DBName, next.Name = newDB, newName
	next.Schema.Name = newName
	ts, err := s.tso.Now(ctx)
	if err != nil {
		return err
	}
	next.UpdateTS, next.SchemaTS = ts, ts
	if err := s.saveLocked(ctx, next); err != nil {
		return err
	}
	s.collections[next.ID] = next
	s.logger.Info("renamed collection", "id", c.ID, "from", db+"."+oldName, "to", newDB+"."+newName)
	return nil
}

// AddCollectionField appends field to a collection's schema (by name or
// alias) with the next field ID (the largest one + 1) and raises the schema
// version, as Milvus 2.6 does. The caller validated the field. It returns
// the updated collection.
func (s *Server) AddCollectionField(ctx context.Context, db, name string, field *schemapb.FieldSchema) (*model.Collection, error) {
	return s.alterSchema(ctx, db, name, func(c *model.Collection) error {
		if c.Field(field.GetName()) != nil {
			return errs.InvalidParameter("field already exists, name: %s", field.GetName())
		}
		f := proto.Clone(field).(*schemapb.FieldSchema)
		f.FieldID = maxFieldID(c) + 1
		c.Schema.Fields = append(c.Schema.Fields, f)
		c.Schema.Version++
		return nil
	})
}

// AlterCollectionField sets (props) and removes (deleteKeys) type
// parameters of a field; the property field.description sets its
// description. A change that changes nothing succeeds without a new
// schema version.
func (s *Server) AlterCollectionField(ctx context.Context, db, name, fieldName string, props []*commonpb.KeyValuePair, deleteKeys []string) (*model.Collection, error) {
	return s.alterSchema(ctx, db, name, func(c *model.Collection) error {
		field := c.Field(fieldName)
		if field == nil {
			return errs.FieldNotFound(fieldName)
		}
		params := map[string]string{}
		for _, kv := range field.GetTypeParams() {
			params[kv.GetKey()] = kv.GetValue()
		}
		old := maps.Clone(params)
		var desc *string
		for _, p := range props {
			if p.GetKey() == FieldDescriptionKey {
				v := p.GetValue()
				desc = &v
				continue
			}
			params[p.GetKey()] = p.GetValue()
		}
		for _, k := range deleteKeys {
			delete(params, k)
		}
		if maps.Equal(params, old) && desc == nil {
			return errUnchanged
		}
		field.TypeParams = nil
		for _, k := range slices.Sorted(maps.Keys(params)) {
			field.TypeParams = append(field.TypeParams, &commonpb.KeyValuePair{Key: k, Value: params[k]})
		}
		if desc != nil {
			field.Description = *desc
		}
		c.Schema.Version++
		return nil
	})
}

// alterSchema runs fn on a copy of the collection and saves it with a new
// update timestamp (clients compare it with their cached schema's). fn
// returning errUnchanged leaves the collection as it was.
func (s *Server) alterSchema(ctx context.Context, db, name string, fn func(c *model.Collection) error) (*model.Collection, error) {
	err := s.updateCollection(ctx, db, name, fn)
	if err != nil && !errors.Is(err, errUnchanged) {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.byNameLocked(dbName(db), name)
	if c == nil {
		c = s.aliasTargetLocked(dbName(db), name)
	}
	if c == nil {
		return nil, errs.CollectionNotFound(name)
	}
	return c, nil
}

// maxFieldID is the largest user field ID (nextFieldID - 1 in Milvus).
func maxFieldID(c *model.Collection) int64 {
	id := int64(startOfUserFieldID)
	for _, f := range c.Schema.GetFields() {
		id = max(id, f.GetFieldID())
	}
	return id
}

func (s *Server) saveDatabaseLocked(ctx context.Context, db *database) error {
	b, err := json.Marshal(db)
	if err != nil {
		return fmt.Errorf("rootcoord: encode database %q: %w", db.Name, err)
	}
	if _, err := s.kv.Put(ctx, prefixDB+db.Name, b); err != nil {
		return fmt.Errorf("rootcoord: save database %q: %w", db.Name, err)
	}
	return nil
}
