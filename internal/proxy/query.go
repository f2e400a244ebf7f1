package proxy

import (
	"context"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
)

// Query returns the rows a filter selects (or their count for count(*)),
// sorted by primary key.
func (s *Server) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	partIDs, err := readPartitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return nil, err
	}
	limit, offset, err := parseQueryParams(req.GetQueryParams())
	if err != nil {
		return nil, err
	}
	countOnly := false
	for _, f := range req.GetOutputFields() {
		if strings.EqualFold(strings.TrimSpace(f), "count(*)") {
			countOnly = true
		}
	}
	if countOnly && len(req.GetOutputFields()) > 1 {
		return nil, errs.InvalidParameter("count entities with pagination is not allowed")
	}
	text := strings.TrimSpace(req.GetExpr())
	if text == "" && limit <= 0 && !countOnly {
		return nil, errs.InvalidParameter("empty expression should be used with limit")
	}
	var filter *expr.Expr
	if text != "" {
		if filter, err = expr.Parse(c.Schema, text, req.GetExprTemplateValues()); err != nil {
			return nil, err
		}
	}
	// Milvus validates the whole request first; a collection that is not
	// loaded fails when the shards are asked (queryTask.Execute).
	if err := s.requireLoaded(c, partIDs); err != nil {
		return nil, err
	}
	if countOnly {
		if limit > 0 || offset > 0 {
			return nil, errs.InvalidParameter("count entities with pagination is not allowed")
		}
		r, err := s.queryShardsAt(ctx, c, filter, partIDs, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(), req.GetGuaranteeTimestamp(), 0, 0, nil, true)
		if err != nil {
			return nil, err
		}
		count := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{r.Count}}
		fd := column.ToFieldData(count, &schemapb.FieldSchema{Name: "count(*)", DataType: schemapb.DataType_Int64})
		return &milvuspb.QueryResults{CollectionName: c.Name, FieldsData: []*schemapb.FieldData{fd}, OutputFields: []string{"count(*)"}}, nil
	}
	outIDs, dynKeys, outNames, err := resolveOutputFields(c.Schema, req.GetOutputFields(), false)
	if err != nil {
		return nil, err
	}
	fetchIDs := withDynamicField(c, outIDs, dynKeys)
	r, err := s.queryShardsAt(ctx, c, filter, partIDs, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(), req.GetGuaranteeTimestamp(), limit, offset, fetchIDs, false)
	if err != nil {
		return nil, err
	}
	return &milvuspb.QueryResults{
		CollectionName:   c.Name,
		FieldsData:       fieldsDataFor(c.Schema, fetchIDs, r.Fields, dynKeys),
		OutputFields:     outNames,
		PrimaryFieldName: pkField(c).GetName(),
	}, nil
}
