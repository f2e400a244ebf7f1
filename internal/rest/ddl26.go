package rest

// The RESTful v2 endpoints of Milvus 2.6's DDL additions: rename, truncate,
// refresh_load, fields/add, fields/alter_properties, databases/alter
// (and alter_properties), databases/drop_properties,
// indexes/alter_properties and indexes/drop_properties. Bodies and answers
// follow internal/distributed/proxy/httpserver/handler_v2.go.

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/errs"
)

// ddl26Routes are the endpoints this file serves.
func (h *Handler) ddl26Routes() map[string]endpoint {
	return map[string]endpoint{
		"/collections/rename":                  h.renameCollection,
		"/collections/truncate":                h.truncateCollection,
		"/collections/refresh_load":            h.refreshLoad,
		"/collections/fields/add":              h.addField,
		"/collections/fields/alter_properties": h.alterFieldProperties,
		"/databases/alter":                     h.alterDatabase,
		"/databases/alter_properties":          h.alterDatabase,
		"/databases/drop_properties":           h.dropDatabaseProperties,
		"/indexes/alter_properties":            h.alterIndexProperties,
		"/indexes/drop_properties":             h.dropIndexProperties,
	}
}

// properties turns a JSON object into key-value pairs, keys sorted, values
// rendered as Milvus's fmt.Sprintf("%v") renders them.
func properties(m map[string]any) []*commonpb.KeyValuePair {
	out := make([]*commonpb.KeyValuePair, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, &commonpb.KeyValuePair{Key: k, Value: paramString(m[k])})
	}
	return out
}

func (h *Handler) renameCollection(ctx context.Context, c *call) (any, error) {
	var r struct {
		CollectionName    string `json:"collectionName"`
		NewCollectionName string `json:"newCollectionName"`
		NewDBName         string `json:"newDbName"`
	}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	newDB := r.NewDBName
	if newDB == "" {
		newDB = c.db
	}
	return empty(), h.p.RenameCollection(ctx, &milvuspb.RenameCollectionRequest{DbName: c.db, OldName: r.CollectionName,
		NewName: r.NewCollectionName, NewDBName: newDB})
}

func (h *Handler) truncateCollection(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	_, err = h.p.TruncateCollection(ctx, &milvuspb.TruncateCollectionRequest{DbName: c.db, CollectionName: r.CollectionName})
	return empty(), err
}

func (h *Handler) refreshLoad(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{DbName: c.db, CollectionName: r.CollectionName, Refresh: true})
}

func (h *Handler) addField(ctx context.Context, c *call) (any, error) {
	var r struct {
		CollectionName string          `json:"collectionName"`
		Schema         *fieldSchemaReq `json:"schema"`
	}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	// bind checked schema and its fieldName and dataType (FieldSchema).
	f, err := addedField(r.Schema)
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(f)
	if err != nil {
		return nil, err
	}
	return empty(), h.p.AddCollectionField(ctx, &milvuspb.AddCollectionFieldRequest{DbName: c.db, CollectionName: r.CollectionName, Schema: b})
}

// addedField converts a REST field definition (as in collections/create).
func addedField(f *fieldSchemaReq) (*schemapb.FieldSchema, error) {
	dt, ok := schemapb.DataType_value[f.DataType]
	if !ok {
		return nil, errs.InvalidParameter("data type %s is invalid(case sensitive)", f.DataType) // request_v2.go:626
	}
	fs := &schemapb.FieldSchema{Name: f.FieldName, DataType: schemapb.DataType(dt), IsPrimaryKey: f.IsPrimary,
		IsPartitionKey: f.IsPartitionKey, IsClusteringKey: f.IsClusteringKey, Nullable: f.Nullable, Description: f.Description}
	if fs.DataType == schemapb.DataType_Array {
		et, ok := schemapb.DataType_value[f.ElementDataType]
		if !ok {
			return nil, errs.InvalidParameter("element data type %s is invalid(case sensitive)", f.ElementDataType)
		}
		fs.ElementType = schemapb.DataType(et)
	}
	fs.TypeParams = properties(f.ElementTypeParams)
	if f.DefaultValue != nil {
		dv, err := defaultValue(fs.DataType, f.DefaultValue)
		if err != nil {
			return nil, errs.InvalidParameter("convert defaultValue fail, err: %v", err) // request_v2.go:643
		}
		fs.DefaultValue = dv
	}
	return fs, nil
}

func (h *Handler) alterFieldProperties(ctx context.Context, c *call) (any, error) {
	var r struct {
		CollectionName string         `json:"collectionName"`
		FieldName      string         `json:"fieldName"`
		FieldParams    map[string]any `json:"fieldParams"`
	}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterCollectionField(ctx, &milvuspb.AlterCollectionFieldRequest{DbName: c.db,
		CollectionName: r.CollectionName, FieldName: r.FieldName, Properties: properties(r.FieldParams)})
}

func (h *Handler) alterDatabase(ctx context.Context, c *call) (any, error) {
	var r struct {
		DBName     string         `json:"dbName"`
		Properties map[string]any `json:"properties"`
	}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterDatabase(ctx, &milvuspb.AlterDatabaseRequest{DbName: r.DBName, Properties: properties(r.Properties)})
}

func (h *Handler) dropDatabaseProperties(ctx context.Context, c *call) (any, error) {
	var r struct {
		DBName       string   `json:"dbName"`
		PropertyKeys []string `json:"propertyKeys"`
	}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterDatabase(ctx, &milvuspb.AlterDatabaseRequest{DbName: r.DBName, DeleteKeys: r.PropertyKeys})
}

type indexPropertiesReq struct {
	CollectionName string         `json:"collectionName"`
	IndexName      string         `json:"indexName"`
	Properties     map[string]any `json:"properties"`
	PropertyKeys   []string       `json:"propertyKeys"`
}

func (h *Handler) alterIndexProperties(ctx context.Context, c *call) (any, error) {
	var r indexPropertiesReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterIndex(ctx, &milvuspb.AlterIndexRequest{DbName: c.db, CollectionName: r.CollectionName,
		IndexName: r.IndexName, ExtraParams: properties(r.Properties)})
}

func (h *Handler) dropIndexProperties(ctx context.Context, c *call) (any, error) {
	var r indexPropertiesReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterIndex(ctx, &milvuspb.AlterIndexRequest{DbName: c.db, CollectionName: r.CollectionName,
		IndexName: r.IndexName, DeleteKeys: r.PropertyKeys})
}
