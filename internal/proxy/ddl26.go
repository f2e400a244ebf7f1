package proxy

// The DDL Milvus 2.6 added or extended: schema evolution (AddCollectionField,
// AlterCollectionField), RenameCollection, database and index properties,
// TruncateCollection, BatchDescribeCollection, GetIndexStatistics,
// GetFlushAllState and refresh loads. Validation and error texts follow
// Milvus's proxy tasks (internal/proxy/task*.go) and root coordinator
// callbacks (internal/rootcoord/ddl_callbacks_*.go).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
)

// Property keys (pkg/common).
const (
	mmapEnabledKey           = "mmap.enabled"
	mmapEnabledLegacyKey     = "mmap_enabled" // proxy's MmapEnabledKey, rewritten to mmap.enabled
	maxLengthKey             = "max_length"
	maxCapacityKey           = "max_capacity"
	fieldDescriptionKey      = "field.description"
	warmupKey                = "warmup"
	indexOffsetCacheKey      = "indexoffsetcache.enabled"
	allowInsertAutoIDKey     = "allow_insert_auto_id"
	collectionTTLKey         = "collection.ttl.seconds"
	warmupScalarFieldKey     = "warmup.scalarField"
	warmupScalarIndexKey     = "warmup.scalarIndex"
	warmupVectorFieldKey     = "warmup.vectorField"
	warmupVectorIndexKey     = "warmup.vectorIndex"
	lazyLoadKey              = "lazyload.enabled"
	partitionKeyIsolationKey = "partitionkey.isolation"
	// maxTTLSeconds is common.MaxTTLSeconds (100 years).
	maxTTLSeconds         = 3155760000
	truncateFlushDeadline = 2 * time.Minute
)

// errCollectionLoaded is merr.WrapErrCollectionLoaded(name, reason):
// "<reason>: collection already loaded[collection=name]" (104).
func errCollectionLoaded(name, reason string) error {
	return errs.Wrap(errs.ErrCollectionLoaded, "[collection="+name+"]", reason)
}

// ---- databases ----

// AlterDatabase sets or deletes database properties.
func (s *Server) AlterDatabase(ctx context.Context, req *milvuspb.AlterDatabaseRequest) error {
	if err := checkZoneProperty(req.GetProperties()); err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLDB, "", 0, 1); err != nil {
		return err
	}
	return s.d.Root.AlterDatabase(ctx, req.GetDbName(), req.GetProperties(), req.GetDeleteKeys())
}

// ---- collections ----

// RenameCollection renames a collection, possibly into another database.
func (s *Server) RenameCollection(ctx context.Context, req *milvuspb.RenameCollectionRequest) error {
	if err := validateCollectionName(req.GetNewName()); err != nil {
		return err
	}
	db := dbOf(ctx, req.GetDbName())
	newDB := req.GetNewDBName()
	if newDB != "" {
		if err := validateDatabaseName(newDB); err != nil {
			return err
		}
	}
	return s.d.Root.RenameCollection(ctx, db, req.GetOldName(), newDB, req.GetNewName())
}

// AddCollectionField adds a nullable (or defaulted) field to a live
// collection. Existing rows read it as its default value or null; the
// collection's schema version and update timestamp change, so clients
// holding the old schema get "schema mismatch" on their next insert and
// refresh it.
func (s *Server) AddCollectionField(ctx context.Context, req *milvuspb.AddCollectionFieldRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	f := &schemapb.FieldSchema{}
	if err := proto.Unmarshal(req.GetSchema(), f); err != nil {
		return err
	}
	if err := validateAddField(c.Schema, f); err != nil {
		return err
	}
	// The root coordinator's checkFieldSchema.
	if err := validateNullableAndDefault(f); err != nil {
		return fmt.Errorf("failed to check field schema: %w", err)
	}
	f.FieldID = 0
	f.IsDynamic = false
	next, err := s.d.Root.AddCollectionField(ctx, c.DBName, c.Name, f)
	if err != nil {
		return err
	}
	s.logger.Info("added field", "collection", next.Name, "field", f.GetName(), "version", next.Schema.GetVersion())
	return s.schemaChanged(ctx, next)
}

// validateAddField is Milvus 2.6's addCollectionFieldTask.PreExecute, in
// its order. Milvus checks the schema its DescribeCollection returns, which
// hides the dynamic $meta field and system fields, so neither counts
// towards the field limit.
func validateAddField(schema *schemapb.CollectionSchema, f *schemapb.FieldSchema) error {
	userFields := 0
	for _, g := range schema.GetFields() {
		if !g.GetIsDynamic() && g.GetFieldID() >= startOfUserFieldID {
			userFields++
		}
	}
	if userFields >= maxFieldNum {
		return errInvalidMsg("The number of fields has reached the maximum value %d", maxFieldNum)
	}
	if column.IsVector(f.GetDataType()) {
		vectors := 0
		for _, g := range schema.GetFields() {
			if column.IsVector(g.GetDataType()) {
				vectors++
			}
		}
		if vectors >= maxVectorFieldNum {
			return errPlain("maximum vector field's number should be limited to %d", maxVectorFieldNum)
		}
	}
	if _, ok := schemapb.DataType_name[int32(f.GetDataType())]; !ok || f.GetDataType() == schemapb.DataType_None {
		return errInvalidValue("valid field", "field data type: "+f.GetDataType().String()+" is not supported", "")
	}
	switch f.GetName() {
	case rowIDFieldName, timestampFieldName, metaFieldName, "$namespace":
		return errInvalidMsg("not support to add system field, field name = %s", f.GetName())
	}
	if f.GetIsPrimaryKey() {
		return errInvalidMsg("not support to add pk field, field name = %s", f.GetName())
	}
	if !f.GetNullable() {
		return errInvalidMsg("added field must be nullable, please check it, field name = %s", f.GetName())
	}
	if column.IsVector(f.GetDataType()) && f.GetDataType() != schemapb.DataType_SparseFloatVector && len(f.GetTypeParams()) == 0 {
		return errInvalidMsg("vector field must have dimension specified, field name = %s", f.GetName())
	}
	if f.GetAutoID() {
		return errInvalidMsg("only primary field can speficy AutoID with true, field name = %s", f.GetName())
	}
	if f.GetIsPartitionKey() {
		return errInvalidMsg("not support to add partition key field, field name  = %s", f.GetName())
	}
	if f.GetIsClusteringKey() {
		switch f.GetDataType() {
		case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64,
			schemapb.DataType_Float, schemapb.DataType_Double, schemapb.DataType_VarChar, schemapb.DataType_FloatVector:
		default:
			return errInvalidMsg("clustering key field %s has unsupported data type %s", f.GetName(), f.GetDataType())
		}
		for _, g := range schema.GetFields() {
			if g.GetIsClusteringKey() {
				return errInvalidMsg("already has another clutering key field, field name: %s", f.GetName())
			}
		}
	}
	if err := validateFieldDef(f, schema); err != nil {
		return err
	}
	if fieldByName(schema, f.GetName()) != nil {
		return errInvalidMsg("duplicate field name: %s", f.GetName())
	}
	if err := checkAddedStructField(f); err != nil {
		return err
	}
	if !supportedFieldType(f.GetDataType()) {
		// Types Milvago does not store yet (geometry, structs): refused
		// as CreateCollection refuses them.
		return errInvalidValue("valid field", "field data type: "+f.GetDataType().String()+" is not supported", "")
	}
	return nil
}

var (
	fieldAlterableKeys = []string{maxLengthKey, mmapEnabledKey, maxCapacityKey, fieldDescriptionKey, warmupKey,
		warmupScalarFieldKey, warmupScalarIndexKey, warmupVectorFieldKey, warmupVectorIndexKey}
	fieldDroppableKeys = []string{mmapEnabledKey, warmupKey, warmupScalarFieldKey, warmupScalarIndexKey,
		warmupVectorFieldKey, warmupVectorIndexKey}
)

// AlterCollectionField changes a field's properties (max_length,
// max_capacity, mmap.enabled, warmup, field.description) as Milvus allows.
func (s *Server) AlterCollectionField(ctx context.Context, req *milvuspb.AlterCollectionFieldRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	loaded := st.Loaded
	props := map[string]string{}
	var order []string
	for _, p := range req.GetProperties() {
		k := p.GetKey()
		if k == mmapEnabledLegacyKey {
			k = mmapEnabledKey
		}
		if _, seen := props[k]; !seen {
			order = append(order, k)
		}
		props[k] = p.GetValue()
	}
	for _, k := range order {
		v := props[k]
		if !containsString(fieldAlterableKeys, k) {
			return errInvalidMsg("%s does not allow update in collection field param", k)
		}
		switch k {
		case mmapEnabledKey:
			if loaded {
				return errCollectionLoaded(req.GetCollectionName(), "can not alter collection field properties if collection loaded")
			}
		case warmupKey:
			if loaded {
				return errCollectionLoaded(req.GetCollectionName(), "can not alter warmup if collection loaded")
			}
		case maxLengthKey:
			f := c.Field(req.GetFieldName())
			name := ""
			if f != nil && (f.GetDataType() == schemapb.DataType_VarChar || f.GetDataType() == schemapb.DataType_String ||
				f.GetDataType() == schemapb.DataType_Text ||
				(f.GetDataType() == schemapb.DataType_Array && f.GetElementType() == schemapb.DataType_VarChar)) {
				name = f.GetName()
			} else {
				return errInvalidMsg("%s can not modify the maxlength for non-string types", name)
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return errInvalidMsg("%s should be an integer, but got %T", k, v)
			}
			if n > maxVarCharLength {
				return errInvalidMsg("%s exceeds the maximum allowed value %s", v, strconv.Itoa(maxVarCharLength))
			}
		case maxCapacityKey:
			f := c.Field(req.GetFieldName())
			if f == nil || f.GetDataType() != schemapb.DataType_Array {
				return errInvalidMsg("%s can not modify the maxcapacity for non-array types", "")
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errInvalidMsg("the value for %s of field %s must be an integer", maxCapacityKey, f.GetName())
			}
			if n > maxArrayCapacity || n <= 0 {
				return errInvalidMsg("the maximum capacity specified for a Array should be in (0, %d]", maxArrayCapacity)
			}
		}
	}
	var deleteKeys []string
	for _, k := range req.GetDeleteKeys() {
		key := k
		if key == mmapEnabledLegacyKey {
			key = mmapEnabledKey
		}
		if !containsString(fieldDroppableKeys, key) {
			return errInvalidMsg("%s is not allowed to drop in collection field param", k)
		}
		if (key == mmapEnabledKey || key == warmupKey) && loaded {
			return errCollectionLoaded(req.GetCollectionName(), "can not drop collection field properties if collection loaded")
		}
		deleteKeys = append(deleteKeys, key)
	}
	if c.Field(req.GetFieldName()) == nil {
		return errInvalidMsg("field %s does not exist in collection", req.GetFieldName())
	}
	kvs := make([]*commonpb.KeyValuePair, 0, len(order))
	for _, k := range order {
		kvs = append(kvs, &commonpb.KeyValuePair{Key: k, Value: props[k]})
	}
	next, err := s.d.Root.AlterCollectionField(ctx, c.DBName, c.Name, req.GetFieldName(), kvs, deleteKeys)
	if err != nil {
		return err
	}
	return s.schemaChanged(ctx, next)
}

// checkAlterCollection is Milvus 2.6's alterCollectionTask.PreExecute for
// the properties Milvago knows.
func (s *Server) checkAlterCollectionRequest(ctx context.Context, c *model.Collection, req *milvuspb.AlterCollectionRequest) error {
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	return checkAlterCollection(c, st.Loaded, req.GetProperties(), req.GetDeleteKeys())
}

// checkAlterCollection is the check itself, given whether the collection
// is loaded.
func checkAlterCollection(c *model.Collection, isLoaded bool, props []*commonpb.KeyValuePair, deleteKeys []string) error {
	if len(props) > 0 && len(deleteKeys) > 0 {
		return errInvalidMsg("cannot provide both DeleteKeys and ExtraParams")
	}
	if len(props) == 0 && len(deleteKeys) == 0 {
		// Milvus's proxy lets it through; its rootcoord refuses it
		// (ddl_callbacks_alter_collection_properties.go:35-37), and no
		// other check of either place applies to an empty request.
		return errInvalidMsg("no properties or delete keys provided")
	}
	name := c.Name
	if len(props) > 0 {
		_, mmap := kvLookup(props, mmapEnabledKey)
		_, lazy := kvLookup(props, lazyLoadKey)
		warm := false
		for _, p := range props {
			warm = warm || isWarmupKey(p.GetKey())
		}
		if (mmap || lazy || warm) && isLoaded {
			if mmap || lazy {
				return errCollectionLoaded(name, "can not alter mmap properties if collection loaded")
			}
			return errCollectionLoaded(name, "can not alter warmup properties if collection loaded")
		}
		if v, ok := kvLookup(props, allowInsertAutoIDKey); ok {
			if b, _ := strconv.ParseBool(v); b {
				if pk := c.PrimaryField(); pk == nil || !pk.GetAutoID() {
					return errInvalidMsg("the value for %s must be false when autoID is false", allowInsertAutoIDKey)
				}
			}
		}
		if err := checkZoneProperty(props); err != nil {
			return err
		}
		if err := validateCollectionTTL(props); err != nil {
			return err
		}
		for _, p := range props {
			if p.GetKey() == warmupKey {
				return errInvalidMsg("warmup key '%s' is only allowed at field level, use warmup.scalarField/warmup.scalarIndex/warmup.vectorField/warmup.vectorIndex at collection level", p.GetKey())
			}
		}
		if v, ok := kvLookup(props, partitionKeyIsolationKey); ok {
			iso, err := strconv.ParseBool(v)
			if err != nil {
				return errInvalidMsg("failed to parse partition key isolation: %v", err)
			}
			if iso && !hasPartitionKey(c.Schema) {
				return errWithField(errs.ErrCollectionIllegalSchema, "collection", name,
					"partition key isolation mode is enabled but no partition key field is set. Please set the partition key first")
			}
		}
	} else {
		for _, k := range deleteKeys {
			if k != mmapEnabledKey && k != lazyLoadKey && !isWarmupKey(k) {
				continue
			}
			if isLoaded {
				if k == mmapEnabledKey {
					return errCollectionLoaded(name, "can not delete mmap properties if collection loaded")
				}
				return errCollectionLoaded(name, fmt.Sprintf("can not delete %s properties if collection loaded", k))
			}
			break
		}
	}
	return nil
}

func isWarmupKey(k string) bool {
	switch k {
	case warmupKey, warmupScalarFieldKey, warmupScalarIndexKey, warmupVectorFieldKey, warmupVectorIndexKey:
		return true
	}
	return false
}

// schemaChanged hands a collection's new definition to the query and data
// nodes (the composition root's hook).
func (s *Server) schemaChanged(ctx context.Context, c *model.Collection) error {
	if s.d.Hooks != nil {
		return s.d.Hooks.CollectionSchemaChanged(ctx, c)
	}
	return nil
}

// TruncateCollection removes every row a collection holds while keeping its
// schema, partitions, indexes, aliases and load state, as Milvus 2.6 does:
// the growing segments are sealed and flushed, then every segment written
// up to that point is dropped. Rows inserted after the call started may
// survive.
func (s *Server) TruncateCollection(ctx context.Context, req *milvuspb.TruncateCollectionRequest) (*milvuspb.TruncateCollectionResponse, error) {
	if err := validateCollectionName(req.GetCollectionName()); err != nil {
		return nil, err
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	h := s.d.Hooks
	if h == nil {
		return nil, errs.ErrServiceUnimplemented
	}
	r, err := s.flush(ctx, &milvuspb.FlushRequest{DbName: c.DBName, CollectionNames: []string{c.Name}}, false)
	if err != nil {
		return nil, fmt.Errorf("when flushing collection: %w", err)
	}
	sealed := r.GetCollSegIDs()[c.Name].GetData()
	wait, cancel := context.WithTimeout(ctx, truncateFlushDeadline)
	defer cancel()
	for {
		flushed, err := s.d.Data.Flushed(wait, sealed)
		if err != nil {
			return nil, fmt.Errorf("truncate collection %s: wait for flush: %w", c.Name, err)
		}
		if flushed {
			break
		}
		select {
		case <-wait.Done():
			return nil, fmt.Errorf("truncate collection %s: wait for flush: %w", c.Name, wait.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	segs, err := s.d.Data.Segments(ctx, c.ID, "")
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, seg := range segs {
		if seg.State == model.SegmentFlushed || (seg.State == model.SegmentSealed && containsID(sealed, seg.ID)) {
			ids = append(ids, seg.ID)
		}
	}
	if err := h.CollectionTruncated(ctx, c, ids); err != nil {
		return nil, fmt.Errorf("when dropping segments: %w", err)
	}
	s.logger.Info("truncated collection", "collection", c.Name, "id", c.ID, "segments", len(ids))
	return &milvuspb.TruncateCollectionResponse{}, nil
}

// BatchDescribeCollection describes several collections; each answer
// carries its own status, made by status (the rpc edge's converter).
func (s *Server) BatchDescribeCollection(ctx context.Context, req *milvuspb.BatchDescribeCollectionRequest, status func(error) *commonpb.Status) (*milvuspb.BatchDescribeCollectionResponse, error) {
	if len(req.GetCollectionName()) == 0 {
		return nil, errInvalidMsg("collection names cannot be empty")
	}
	resp := &milvuspb.BatchDescribeCollectionResponse{}
	for _, name := range req.GetCollectionName() {
		// Milvus answers each name as its DescribeCollection RPC does.
		d, err := s.DescribeCollectionPublic(ctx, &milvuspb.DescribeCollectionRequest{DbName: req.GetDbName(), CollectionName: name})
		if err != nil {
			d = &milvuspb.DescribeCollectionResponse{CollectionName: name}
		}
		d.Status = status(err)
		resp.Responses = append(resp.Responses, d)
	}
	return resp, nil
}

// ---- indexes ----

// AlterIndex sets (extra_params) or deletes (delete_keys) an index's
// configurable properties: mmap.enabled, indexoffsetcache.enabled, warmup.
func (s *Server) AlterIndex(ctx context.Context, req *milvuspb.AlterIndexRequest) error {
	if len(req.GetDeleteKeys()) > 0 && len(req.GetExtraParams()) > 0 {
		return errInvalidMsg("cannot provide both DeleteKeys and ExtraParams")
	}
	configurable := []string{mmapEnabledKey, indexOffsetCacheKey, warmupKey}
	params := map[string]string{}
	for _, p := range req.GetExtraParams() {
		if !containsString(configurable, p.GetKey()) {
			return errInvalidMsg("%s is not a configable index property", p.GetKey())
		}
		params[p.GetKey()] = p.GetValue()
	}
	for _, k := range req.GetDeleteKeys() {
		if !containsString(configurable, k) {
			return errInvalidMsg("%s is not a configable index property", k)
		}
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if req.GetIndexName() == "" {
		return errInvalidMsg("index name is empty")
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	if st.Loaded {
		return errCollectionLoaded(req.GetCollectionName(), "can't alter index on loaded collection, please release the collection first")
	}
	defs, err := s.d.Index.Indexes(ctx, c.ID)
	if err != nil {
		return err
	}
	var def *model.IndexDef
	for _, d := range defs {
		if d.Name == req.GetIndexName() {
			def = &d
		}
	}
	if def == nil {
		return errIndexNotFound(req.GetIndexName())
	}
	typ := def.IndexParams["index_type"]
	// datacoord index_service.go validateIndexParams wraps
	// indexparamcheck's fmt.Errorf texts once: "<what>: <text>: invalid parameter".
	if v, ok := params[mmapEnabledKey]; ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return errInvalidMsg("invalid mmap index params: invalid %s value: %s, expected: true, false", mmapEnabledKey, v)
		}
		if on && !mmapIndexType(def.UserParams["index_type"], typ) {
			return errInvalidMsg("invalid mmap index params: index type %s does not support mmap", typ)
		}
	}
	if v, ok := params[indexOffsetCacheKey]; ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return errInvalidMsg("invalid offset cache index params: invalid %s value: %s, expected: true, false", indexOffsetCacheKey, v)
		}
		if on && typ != "BITMAP" {
			return errInvalidMsg("invalid offset cache index params: only bitmap index support %s now", indexOffsetCacheKey)
		}
	}
	if _, err := s.d.Index.AlterIndex(ctx, c.ID, req.GetIndexName(), params, req.GetDeleteKeys()); err != nil {
		return err
	}
	return nil
}

// mmapIndexType reports whether Milvus lets an index of this type be
// memory-mapped: AUTOINDEX, the in-memory vector indexes and the scalar
// indexes INVERTED, BITMAP, HYBRID, TRIE and NGRAM.
func mmapIndexType(userType, typ string) bool {
	if userType == "AUTOINDEX" {
		return true
	}
	switch typ {
	case "DISKANN", "GPU_IVF_FLAT", "GPU_IVF_PQ", "GPU_CAGRA", "GPU_BRUTE_FORCE", "STL_SORT", "":
		return false
	}
	return true
}

// errIndexNotFound is merr.WrapErrIndexNotFound: "index not found[indexName=x]" (700).
func errIndexNotFound(name string) error {
	return errs.Wrap(errs.ErrIndexNotFound, "[indexName="+name+"]", "")
}

// GetIndexStatistics describes a collection's indexes (one or all) with
// their build progress.
func (s *Server) GetIndexStatistics(ctx context.Context, req *milvuspb.GetIndexStatisticsRequest) (*milvuspb.GetIndexStatisticsResponse, error) {
	if err := validateCollectionName(req.GetCollectionName()); err != nil {
		return nil, err
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	defs, err := s.d.Index.Indexes(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	resp := &milvuspb.GetIndexStatisticsResponse{}
	for _, def := range defs {
		if req.GetIndexName() != "" && def.Name != req.GetIndexName() {
			continue
		}
		f := c.FieldByID(def.FieldID)
		if f == nil {
			// Milvus's bare fmt.Errorf (task_index.go:1120), code 65535.
			return nil, errPlain("failed to get collection field: %d", def.FieldID)
		}
		p, err := s.d.Index.IndexProgress(ctx, def)
		if err != nil {
			return nil, err
		}
		resp.IndexDescriptions = append(resp.IndexDescriptions, &milvuspb.IndexDescription{
			IndexName: def.Name, IndexID: def.ID, FieldName: f.GetName(), Params: describeParams(def),
			IndexedRows: p.IndexedRows, TotalRows: p.TotalRows, PendingIndexRows: p.PendingRows,
			State: p.State, IndexStateFailReason: p.FailReason,
		})
	}
	if len(resp.IndexDescriptions) == 0 {
		return nil, errIndexNotFound(req.GetIndexName())
	}
	return resp, nil
}

// ---- flush ----

// GetFlushAllState reports whether everything written before a FlushAll
// is in the object store, as Milvus 2.6's data coordinator answers it:
// from the channels' checkpoints alone. Every virtual channel of every
// collection of every database has its checkpoint at or past the
// flush-all timestamp (flush_all_tss, per physical channel, wins over
// the legacy flush_all_ts). A database or collection dropped since is not
// listed, so not waited for (nor one dropped while this runs); one created
// after the timestamp holds nothing written before it (Milvus's channel
// checkpoint starts at the collection's creation, Milvago's at its first
// tick), so it is not waited for either. FlushAll logs a FlushAll message
// on every physical channel, at the timestamp flush_all_tss names, and
// then a time tick at or past flush_all_ts on each, so every checkpoint
// gets there without waiting for new writes. A channel whose data node cannot flush it
// answers its cause (as GetFlushState) instead of "not yet" forever.
func (s *Server) GetFlushAllState(ctx context.Context, req *milvuspb.GetFlushAllStateRequest) (*milvuspb.GetFlushAllStateResponse, error) {
	dbs, err := s.d.Root.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	for _, db := range dbs {
		colls, err := s.d.Root.ListCollections(ctx, db.Name)
		if errors.Is(err, errs.ErrDatabaseNotFound) {
			continue // dropped since it was listed
		}
		if err != nil {
			return nil, err
		}
		for _, c := range colls {
			byTS := map[uint64][]string{}
			for i, vc := range c.VChannels {
				if len(req.GetFlushAllTss()) == 0 && req.GetFlushAllTs() == 0 {
					// Milvus 2.6 checks this per channel: with no
					// collection at all, everything is flushed.
					return nil, errInvalidMsg("FlushAllTss or FlushAllTs is required")
				}
				ts := req.GetFlushAllTs()
				if len(req.GetFlushAllTss()) > 0 {
					var ok bool
					if ts, ok = req.GetFlushAllTss()[c.PChannels[i]]; !ok || ts == 0 {
						return nil, errInvalidMsg("FlushAllTs not found for pchannel %s", c.PChannels[i])
					}
				}
				if c.CreateTS > ts {
					continue // created after the flush
				}
				byTS[ts] = append(byTS[ts], vc)
			}
			for _, ts := range slices.Sorted(maps.Keys(byTS)) {
				flushed, err := s.d.Data.ChannelsFlushed(ctx, byTS[ts], ts)
				if err != nil {
					return nil, err
				}
				if !flushed {
					return &milvuspb.GetFlushAllStateResponse{Flushed: false}, nil
				}
			}
		}
	}
	return &milvuspb.GetFlushAllStateResponse{Flushed: true}, nil
}

// ---- load ----

// refreshLoad is LoadCollection / LoadPartitions with refresh set: Milvus
// pulls the collection's latest segments into a loaded collection.
// Milvago hands every flushed or indexed segment to the query node as it
// appears, so a fully loaded collection is already current; the checks are
// Milvus's.
func (s *Server) refreshLoad(ctx context.Context, c *model.Collection) error {
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	if !st.Loaded {
		return errs.CollectionNotLoaded(c.ID)
	}
	if st.Progress < 100 {
		return errs.Wrap(errs.ErrCollectionNotLoaded, fmt.Sprintf("[collection=%d]", c.ID), "collection not fully loaded")
	}
	return nil
}

// validateCollectionTTL is Milvus's: collection.ttl.seconds, when set, is
// an integer in [-1, 3155760000] (CreateCollection and AlterCollection).
func validateCollectionTTL(props []*commonpb.KeyValuePair) error {
	v, ok := kvLookup(props, collectionTTLKey)
	if !ok {
		return nil
	}
	ttl, err := strconv.Atoi(v)
	if err != nil {
		return errInvalidMsg("collection TTL is not a valid positive integer")
	}
	if ttl < -1 || ttl > maxTTLSeconds {
		return errInvalidMsg("collection TTL is out of range, expect [-1, 3155760000], got %d", ttl)
	}
	return nil
}
