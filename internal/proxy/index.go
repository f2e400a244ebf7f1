package proxy

import (
	"context"
	"encoding/json"
	"maps"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
)

// CreateIndex defines an index on a field; builds run in the background.
func (s *Server) CreateIndex(ctx context.Context, req *milvuspb.CreateIndexRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLIndex, c.DBName, c.ID, 1); err != nil {
		return err
	}
	field, err := indexField(c, req.GetFieldName())
	if err != nil {
		return err
	}
	name := req.GetIndexName()
	if err := validateIndexName(name); err != nil {
		return err
	}
	if name == "" {
		// Milvus (datacoord CreateIndex) reuses the name of the field's
		// index, else names the index after its field.
		name = field.GetName()
		defs, err := s.d.Index.Indexes(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, def := range defs {
			if def.FieldID == field.GetFieldID() {
				name = def.Name
			}
		}
	}
	params, user, err := flattenIndexParams(req.GetExtraParams())
	if err != nil {
		return err
	}
	if err := bm25IndexParams(c.Schema, field, params); err != nil {
		return err
	}
	if err := checkIndexParams(field, req.GetExtraParams(), params); err != nil {
		return err
	}
	if field.GetDataType() == schemapb.DataType_JSON {
		if err := resolveJSONPath(c, field, req.GetFieldName(), params); err != nil {
			return err
		}
		if req.GetIndexName() == "" {
			// datacoord: a JSON index is named after its field and path,
			// unless the field already has an index at that path.
			name = field.GetName() + params["json_path"]
			defs, err := s.d.Index.Indexes(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, def := range defs {
				if def.FieldID == field.GetFieldID() && def.IndexParams["json_path"] == params["json_path"] {
					name = def.Name
				}
			}
		}
	}
	fillDiskIndexParams(params)
	if (column.IsVector(field.GetDataType()) || field.GetDataType() == schemapb.DataType_ArrayOfVector) && params["index_type"] == "" {
		// Milvus records an index created without a type as the user's
		// AUTOINDEX (DescribeIndex shows index_type AUTOINDEX and the
		// metric), whatever concrete type it builds.
		user["index_type"] = "AUTOINDEX"
	}
	return s.d.Index.CreateIndex(ctx, contract.CreateIndexRequest{Collection: c, Field: field, Name: name, Params: params, UserParams: user})
}

// indexField finds the field to index.
func indexField(c *model.Collection, name string) (*schemapb.FieldSchema, error) {
	// Milvus's getIndexedFieldAndFunction (task_index.go:592-603): a name
	// no field has, "" included, is the dynamic field when there is one.
	f := c.Field(name)
	if f == nil {
		f = dynamicField(c.Schema) // Milvus's GetFieldFromNameDefaultJSON
	}
	if f == nil {
		// a bare fmt.Errorf (65535).
		return nil, errs.Plain("cannot create index on non-exist field: %s", name)
	}
	return f, nil
}

// flattenIndexParams turns CreateIndex's extra params into one map:
// index_type, metric_type and the build params, which clients send either
// as separate pairs or as a JSON object under "params".
func flattenIndexParams(extra []*commonpb.KeyValuePair) (flat, user map[string]string, err error) {
	flat, user = map[string]string{}, map[string]string{}
	for _, kv := range extra {
		user[kv.GetKey()] = kv.GetValue()
		if kv.GetKey() != "params" {
			flat[kv.GetKey()] = kv.GetValue()
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(kv.GetValue()), &obj); err != nil {
			return nil, nil, errs.InvalidParameter("index params %q are not a JSON object", kv.GetValue())
		}
		for k, v := range obj {
			flat[k] = jsonScalar(v)
		}
	}
	return flat, user, nil
}

func jsonScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// DescribeIndex describes a collection's indexes (by index name, else by
// field name, else all).
func (s *Server) DescribeIndex(ctx context.Context, req *milvuspb.DescribeIndexRequest) (*milvuspb.DescribeIndexResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	resp := &milvuspb.DescribeIndexResponse{}
	defs, err := s.d.Index.Indexes(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, def := range defs {
		f := c.FieldByID(def.FieldID)
		if req.GetIndexName() != "" && def.Name != req.GetIndexName() {
			continue
		}
		if req.GetIndexName() == "" && req.GetFieldName() != "" && f.GetName() != req.GetFieldName() {
			continue
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
		if req.GetIndexName() != "" {
			// datacoord's merr.WrapErrIndexNotFound(indexName); the proxy
			// names the collection only when no index name was given.
			return nil, errIndexNotFound(req.GetIndexName())
		}
		return nil, errs.IndexNotFound(c.Name)
	}
	return resp, nil
}

// describeParams returns the parameters as the user gave them, with the
// resolved metric filled in, as Milvus reports them.
func describeParams(def model.IndexDef) []*commonpb.KeyValuePair {
	p := maps.Clone(def.UserParams)
	if p == nil {
		p = map[string]string{}
	}
	if _, ok := p["metric_type"]; !ok && def.IndexParams["metric_type"] != "" {
		p["metric_type"] = def.IndexParams["metric_type"]
	}
	if _, ok := p["index_type"]; !ok {
		p["index_type"] = def.IndexParams["index_type"]
	}
	out := make([]*commonpb.KeyValuePair, 0, len(p))
	for _, k := range sortedKeys(p) {
		out = append(out, &commonpb.KeyValuePair{Key: k, Value: p[k]})
	}
	return out
}

// GetIndexState reports an index's state (deprecated API, kept for old clients).
func (s *Server) GetIndexState(ctx context.Context, req *milvuspb.GetIndexStateRequest) (*milvuspb.GetIndexStateResponse, error) {
	d, err := s.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{DbName: req.GetDbName(), CollectionName: req.GetCollectionName(), FieldName: req.GetFieldName(), IndexName: req.GetIndexName()})
	if err != nil {
		return nil, err
	}
	first := d.IndexDescriptions[0]
	return &milvuspb.GetIndexStateResponse{State: first.GetState(), FailReason: first.GetIndexStateFailReason()}, nil
}

// GetIndexBuildProgress reports indexed and total rows (deprecated API).
func (s *Server) GetIndexBuildProgress(ctx context.Context, req *milvuspb.GetIndexBuildProgressRequest) (*milvuspb.GetIndexBuildProgressResponse, error) {
	d, err := s.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{DbName: req.GetDbName(), CollectionName: req.GetCollectionName(), FieldName: req.GetFieldName(), IndexName: req.GetIndexName()})
	if err != nil {
		return nil, err
	}
	first := d.IndexDescriptions[0]
	return &milvuspb.GetIndexBuildProgressResponse{IndexedRows: first.GetIndexedRows(), TotalRows: first.GetTotalRows()}, nil
}

// DropIndex drops an index; the collection must be released first.
func (s *Server) DropIndex(ctx context.Context, req *milvuspb.DropIndexRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLIndex, c.DBName, c.ID, 1); err != nil {
		return err
	}
	defs, err := s.d.Index.Indexes(ctx, c.ID)
	if err != nil {
		return err
	}
	var drop []model.IndexDef
	for _, def := range defs {
		f := c.FieldByID(def.FieldID)
		if (req.GetIndexName() != "" && def.Name == req.GetIndexName()) ||
			(req.GetIndexName() == "" && (req.GetFieldName() == "" || strings.EqualFold(f.GetName(), req.GetFieldName()))) {
			drop = append(drop, def)
		}
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	if st.Loaded {
		// Milvus (datacoord DropIndex) refuses only vector indexes of a loaded collection.
		for _, def := range drop {
			if column.IsVector(c.FieldByID(def.FieldID).GetDataType()) {
				return errInvalidMsg("vector index cannot be dropped on loaded collection: %d", c.ID)
			}
		}
	}
	for _, def := range drop {
		if err := s.d.Index.DropIndex(ctx, c.ID, def.ID); err != nil {
			return err
		}
	}
	return nil
}
