package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
)

// hybridSubReq is one search of a hybrid search (Milvus's SubSearchReq).
type hybridSubReq struct {
	Data         []json.RawMessage `json:"data"`
	AnnsField    string            `json:"annsField"`
	Filter       string            `json:"filter"`
	MetricType   string            `json:"metricType"`
	Limit        int64             `json:"limit"`
	Offset       int64             `json:"offset"`
	SearchParams map[string]any    `json:"params"`
	ExprParams   map[string]any    `json:"exprParams"`
}

type restFunctionScore struct {
	Functions []restFunction `json:"functions"`
	Params    map[string]any `json:"params"`
}

// hybridReq is the hybrid_search body (Milvus's HybridSearchReq).
type hybridReq struct {
	CollectionName string         `json:"collectionName"`
	PartitionNames []string       `json:"partitionNames"`
	Search         []hybridSubReq `json:"search"`
	Rerank         struct {
		Strategy string         `json:"strategy"`
		Params   map[string]any `json:"params"`
	} `json:"rerank"`
	Limit            int64             `json:"limit"`
	Offset           int64             `json:"offset"`
	GroupByField     string            `json:"groupingField"`
	GroupSize        int64             `json:"groupSize"`
	StrictGroupSize  bool              `json:"strictGroupSize"`
	OutputFields     []string          `json:"outputFields"`
	ConsistencyLevel string            `json:"consistencyLevel"`
	FunctionScore    restFunctionScore `json:"functionScore"`
}

// hybridSearch serves /entities/hybrid_search (and advanced_search) as
// Milvus's advancedSearch handler: each search becomes a sub-request, the
// rerank strategy and params, limit, offset and grouping the rank params.
func (h *Handler) hybridSearch(ctx context.Context, c *call) (any, error) {
	r := hybridReq{Limit: 100} // Milvus's default limit of the fused ranking
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	req := &milvuspb.HybridSearchRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionNames: r.PartitionNames,
		OutputFields: r.OutputFields}
	if err := setConsistency(r.ConsistencyLevel, &req.ConsistencyLevel, &req.UseDefaultConsistency); err != nil {
		return nil, err
	}
	schema, err := h.schemaOf(ctx, c.db, r.CollectionName)
	if err != nil {
		return nil, err
	}
	// Milvus reads each sub-search's vectors from its own JSON text
	// (gjson's "search" array, handler_v2.go:1704-1718).
	var raw struct {
		Search []json.RawMessage `json:"search"`
	}
	_ = json.Unmarshal(c.body, &raw) // bind checked the body
	for i, sub := range r.Search {
		sp := sub.SearchParams
		if sub.MetricType != "" {
			sp = map[string]any{"metricType": sub.MetricType}
			for k, v := range sub.SearchParams {
				sp[k] = v
			}
		}
		params, err := searchParams(&searchReq{AnnsField: sub.AnnsField, Offset: sub.Offset, SearchParams: sp}, sub.Limit)
		if err != nil {
			return nil, err
		}
		group, err := placeholderGroup(schema, sub.AnnsField, raw.Search[i])
		if err != nil {
			return nil, err
		}
		templates, err := exprTemplates(sub.ExprParams)
		if err != nil {
			return nil, err
		}
		req.Requests = append(req.Requests, &milvuspb.SearchRequest{DbName: c.db, CollectionName: r.CollectionName,
			Dsl: sub.Filter, DslType: commonpb.DslType_BoolExprV1, OutputFields: r.OutputFields, PartitionNames: r.PartitionNames,
			SearchInput: &milvuspb.SearchRequest_PlaceholderGroup{PlaceholderGroup: group}, SearchParams: params,
			ExprTemplateValues: templates})
	}
	rp, err := json.Marshal(r.Rerank.Params)
	if err != nil {
		return nil, errs.InvalidParameter("rerank.params: %v", err)
	}
	kv := func(k, v string) *commonpb.KeyValuePair { return &commonpb.KeyValuePair{Key: k, Value: v} }
	req.RankParams = []*commonpb.KeyValuePair{kv("strategy", r.Rerank.Strategy), kv("params", string(rp)),
		kv("limit", strconv.FormatInt(r.Limit, 10)), kv("offset", strconv.FormatInt(r.Offset, 10)), kv("round_decimal", "-1")}
	if r.GroupByField != "" {
		req.RankParams = append(req.RankParams, kv("group_by_field", r.GroupByField))
		if r.GroupSize > 0 {
			req.RankParams = append(req.RankParams, kv("group_size", strconv.FormatInt(r.GroupSize, 10)),
				kv("strict_group_size", strconv.FormatBool(r.StrictGroupSize)))
		}
	}
	if len(r.FunctionScore.Functions) > 0 {
		if req.FunctionScore, err = functionScore(&r.FunctionScore); err != nil {
			return nil, err
		}
	}
	resp, err := h.p.HybridSearch(ctx, req)
	if err != nil {
		return nil, err
	}
	res := resp.GetResults()
	if res.GetTopK() == 0 {
		return envelope{"data": []any{}, "cost": 0}, nil
	}
	rows, err := hitRows(res, res.GetPrimaryFieldName(), c.allowInt64)
	if err != nil {
		return nil, fmt.Errorf("hybrid search result: %w", err)
	}
	return envelope{"data": rows, "cost": 0, "topks": res.GetTopks()}, nil
}

// functionScore converts a REST functionScore as Milvus's genFunctionScore:
// slice and object params as JSON, others as their text.
func functionScore(fs *restFunctionScore) (*schemapb.FunctionScore, error) {
	out := &schemapb.FunctionScore{}
	for i := range fs.Functions {
		sf, err := functionSchema(&fs.Functions[i])
		if err != nil {
			return nil, err
		}
		out.Functions = append(out.Functions, sf)
	}
	for k, v := range fs.Params {
		out.Params = append(out.Params, &commonpb.KeyValuePair{Key: k, Value: fmt.Sprintf("%v", v)})
	}
	return out, nil
}
