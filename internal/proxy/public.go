package proxy

import (
	"context"
	"errors"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
)

// Answers of the public gRPC API that differ from what Milvago's own
// components (the RESTful handler) need from the same call.

// DescribeCollectionPublic is DescribeCollection as Milvus's public API
// answers it (internal/proxy/service_provider.go, CachedProxyServiceProvider):
// the dynamic field "$meta" is not listed, and a missing collection is
// reported as "can't find collection[database=<db>][collection=<name>]"
// (code 100, legacy CollectionNotExists), the text pymilvus and Milvus's
// own test suites look for.
func (s *Server) DescribeCollectionPublic(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	resp, err := s.DescribeCollection(ctx, req)
	if err != nil {
		if errors.Is(err, errs.ErrCollectionNotFound) {
			return nil, &errs.Error{Code: errs.ErrCollectionNotFound.Code,
				Msg: fmt.Sprintf("can't find collection[database=%s][collection=%s]", dbOf(ctx, req.GetDbName()), req.GetCollectionName())}
		}
		return nil, err
	}
	schema := resp.GetSchema()
	if dynamicField(schema) == nil && len(schema.GetStructArrayFields()) == 0 {
		return resp, nil
	}
	public := &schemapb.CollectionSchema{
		Name: schema.GetName(), Description: schema.GetDescription(),
		EnableDynamicField: schema.GetEnableDynamicField(), Properties: schema.GetProperties(),
		Functions: schema.GetFunctions(), DbName: schema.GetDbName(),
		Fields:            publicFields(schema, true),
		StructArrayFields: publicStructArrays(schema),
	}
	resp.Schema = public // resp is fresh; the collection's schema is not modified
	return resp, nil
}

// CheckDatabase fails with Milvus's "database not found[database=<db>]"
// (800) when the request's database does not exist: Connect checks it, so
// that a client connecting to (or switching to, with UseDatabase) a
// missing database fails as with Milvus (Proxy.Connect).
func (s *Server) CheckDatabase(ctx context.Context) error {
	_, err := s.d.Root.DescribeDatabase(ctx, dbOf(ctx, ""))
	return err
}

// emptyColumn is an empty column for field fid of c, or nil when the
// field does not exist or has no column type.
func emptyColumn(c *model.Collection, fid int64) column.Column {
	f := c.FieldByID(fid)
	if f == nil {
		return nil
	}
	col, err := column.New(f.GetDataType(), fieldDim(f), f.GetElementType())
	if err != nil {
		return nil
	}
	return col
}

// emptyColumns is an empty column for each field of ids that has one.
func emptyColumns(c *model.Collection, ids []int64) map[int64]column.Column {
	out := make(map[int64]column.Column, len(ids))
	for _, id := range ids {
		if col := emptyColumn(c, id); col != nil {
			out[id] = col
		}
	}
	return out
}
