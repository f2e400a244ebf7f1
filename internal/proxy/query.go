package proxy

import (
	"context"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/quota"
)

// Query returns the rows a filter selects (or their count for count(*)),
// sorted by primary key.
func (s *Server) Query(ctx context.Context, req *milvuspb.QueryRequest) (*milvuspb.QueryResults, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if hasPartitionKey(c.Schema) && len(req.GetPartitionNames()) != 0 {
		return nil, errs.InvalidParameter("not support manually specifying the partition names if partition key mode is used")
	}
	partIDs, err := readPartitionIDs(c, req.GetPartitionNames())
	if err != nil {
		return nil, err
	}
	// Milvus reads ignore_growing before the other query parameters.
	ignoreGrowing, err := queryIgnoreGrowing(req.GetQueryParams())
	if err != nil {
		return nil, err
	}
	limit, offset, err := parseQueryParams(s.cfg.Limits.MaxQueryResultWindow, req.GetQueryParams())
	if err != nil {
		return nil, err
	}
	if err := s.admitIn(ctx, quota.Query, c, partIDs, 1); err != nil {
		return nil, err
	}
	iter, err := parseQueryIterator(req.GetQueryParams(), c.ID)
	if err != nil {
		return nil, err
	}
	var pinTS uint64 // an iterator's later pages read at its first page's timestamp
	if iter.iterator {
		pinTS = req.GetGuaranteeTimestamp()
	}
	// Milvus's matchCountRule: a count plan only for "count(*)" alone; in a
	// longer list it is an output field like any other, which
	// translateOutputFields refuses ("field count(*) not exist", or "parse
	// output field name failed: count(*)" with a dynamic field).
	outputs := req.GetOutputFields()
	countOnly := len(outputs) == 1 && strings.EqualFold(strings.TrimSpace(outputs[0]), "count(*)")
	text := strings.TrimSpace(req.GetExpr())
	zone, err := requestZone(c, req.GetQueryParams())
	if err != nil {
		return nil, err
	}
	var filter *expr.Expr
	if text != "" {
		if filter, err = expr.ParseInZone(c.Schema, text, req.GetExprTemplateValues(), zone); err != nil {
			return nil, err
		}
		if filter, err = s.withJSONCasts(ctx, c, filter); err != nil {
			return nil, err
		}
	}
	// createPlanArgs: the filter, then the output fields; PreExecute then
	// refuses an unlimited query without a filter.
	var outIDs []int64
	var dynKeys, outNames []string
	if !countOnly {
		if outIDs, dynKeys, outNames, err = resolveOutputFields(c.Schema, outputs, false); err != nil {
			return nil, err
		}
		if text == "" && limit <= 0 {
			return nil, errs.InvalidParameter("empty expression should be used with limit")
		}
	}
	// Milvus validates the whole request first; a collection that is not
	// loaded fails when the shards are asked (queryTask.Execute), and a
	// partition that is not loaded when its shards refuse it.
	if err := s.requireLoaded(ctx, c, nil, readQuery); err != nil {
		return nil, err
	}
	if countOnly {
		if limit > 0 || offset > 0 {
			return nil, errs.InvalidParameter("count entities with pagination is not allowed")
		}
		r, err := s.queryShardsAt(ctx, c, filter, partIDs, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(), req.GetGuaranteeTimestamp(), pinTS, 0, 0, nil, true, ignoreGrowing)
		if err != nil {
			return nil, err
		}
		count := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{r.Count}}
		fd := column.ToFieldData(count, &schemapb.FieldSchema{Name: "count(*)", DataType: schemapb.DataType_Int64})
		return &milvuspb.QueryResults{CollectionName: c.Name, FieldsData: []*schemapb.FieldData{fd}, OutputFields: []string{"count(*)"}}, nil
	}
	fetchIDs := withDynamicField(c, outIDs, dynKeys)
	r, err := s.queryShardsAt(ctx, c, filter, partIDs, req.GetConsistencyLevel(), req.GetUseDefaultConsistency(), req.GetGuaranteeTimestamp(), pinTS, limit, offset, fetchIDs, false, ignoreGrowing)
	if err != nil {
		return nil, err
	}
	fds := fieldsDataFor(c.Schema, fetchIDs, r.Fields, dynKeys)
	if err := s.cfg.Limits.checkQueryOutput(fds); err != nil {
		return nil, err
	}
	if err := s.timestamptzOutput(ctx, fds, zone, timeFields(req.GetQueryParams())); err != nil {
		return nil, err
	}
	resp := &milvuspb.QueryResults{
		CollectionName:   c.Name,
		FieldsData:       fds,
		OutputFields:     outNames,
		PrimaryFieldName: pkField(c).GetName(),
	}
	if iter.iterator && req.GetGuaranteeTimestamp() == 0 {
		resp.SessionTs = r.MVCCTs // the first page: the client pins the next ones to it
	}
	return resp, nil
}
