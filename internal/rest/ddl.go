package rest

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc"
)

// ---- indexes ----

// indexRequest turns one REST index parameter into a CreateIndex request.
func indexRequest(db, collection string, ip indexParamReq) *milvuspb.CreateIndexRequest {
	req := &milvuspb.CreateIndexRequest{DbName: db, CollectionName: collection, FieldName: ip.FieldName, IndexName: ip.IndexName}
	if ip.MetricType != "" {
		req.ExtraParams = append(req.ExtraParams, &commonpb.KeyValuePair{Key: "metric_type", Value: ip.MetricType})
	}
	if ip.IndexType != "" {
		req.ExtraParams = append(req.ExtraParams, &commonpb.KeyValuePair{Key: "index_type", Value: ip.IndexType})
	}
	params := map[string]any{}
	for k, v := range ip.Params {
		switch k {
		case "index_type", "indexType":
			req.ExtraParams = append(req.ExtraParams, &commonpb.KeyValuePair{Key: "index_type", Value: paramString(v)})
		case "metric_type", "metricType":
			req.ExtraParams = append(req.ExtraParams, &commonpb.KeyValuePair{Key: "metric_type", Value: paramString(v)})
		default:
			params[k] = v
		}
	}
	if len(params) > 0 {
		b, _ := json.Marshal(params) // values came from JSON
		req.ExtraParams = append(req.ExtraParams, &commonpb.KeyValuePair{Key: "params", Value: string(b)})
	}
	return req
}

type indexReq struct {
	CollectionName string          `json:"collectionName"`
	IndexName      string          `json:"indexName"`
	IndexParams    []indexParamReq `json:"indexParams"`
}

func (h *Handler) createIndex(ctx context.Context, c *call) (any, error) {
	var r indexReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	// Milvus's createIndex creates each index in turn: none is a success,
	// an empty fieldName is the proxy's to refuse (IndexParamReq requires
	// the list, its binding does not descend into the items).
	for _, ip := range r.IndexParams {
		if err := h.p.CreateIndex(ctx, indexRequest(c.db, r.CollectionName, ip)); err != nil {
			return nil, err
		}
	}
	return empty(), nil
}

func (h *Handler) describeIndex(ctx context.Context, c *call) (any, error) {
	var r indexReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{DbName: c.db, CollectionName: r.CollectionName, IndexName: r.IndexName})
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, d := range resp.GetIndexDescriptions() {
		m := map[string]any{
			"indexName":   d.GetIndexName(),
			"fieldName":   d.GetFieldName(),
			"indexType":   kv(d.GetParams(), "index_type"),
			"metricType":  kv(d.GetParams(), "metric_type"),
			"indexState":  d.GetState().String(),
			"totalRows":   d.GetTotalRows(),
			"indexedRows": d.GetIndexedRows(),
			"pendingRows": d.GetPendingIndexRows(),
			"failReason":  d.GetIndexStateFailReason(),
			// The configurable properties (AlterIndex), "" when unset, as Milvus 2.6.
			"mmap.enabled":             kv(d.GetParams(), "mmap.enabled"),
			"indexoffsetcache.enabled": kv(d.GetParams(), "indexoffsetcache.enabled"),
			"warmup":                   kv(d.GetParams(), "warmup"),
		}
		if p := kv(d.GetParams(), "params"); p != "" {
			var obj map[string]any
			if json.Unmarshal([]byte(p), &obj) == nil {
				m["params"] = obj
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func (h *Handler) listIndexes(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	resp, err := h.p.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{DbName: c.db, CollectionName: r.CollectionName})
	if errs.CodeOf(err) == errs.ErrIndexNotFound.Code {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, d := range resp.GetIndexDescriptions() {
		names = append(names, d.GetIndexName())
	}
	return names, nil
}

func (h *Handler) dropIndex(ctx context.Context, c *call) (any, error) {
	var r indexReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.DropIndex(ctx, &milvuspb.DropIndexRequest{DbName: c.db, CollectionName: r.CollectionName, IndexName: r.IndexName})
}

// ---- partitions ----

type partitionReq struct {
	CollectionName string   `json:"collectionName"`
	PartitionName  string   `json:"partitionName"`
	PartitionNames []string `json:"partitionNames"`
}

func (c *call) partition() (*partitionReq, error) {
	var r partitionReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return &r, nil // bind checked both (PartitionReq)
}

func (c *call) partitions() (*partitionReq, error) {
	var r partitionReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	// bind checked both (PartitionsReq); an empty list is the proxy's
	// (load) or the query coordinator's (release) to refuse, as in Milvus.
	return &r, nil
}

func (h *Handler) createPartition(ctx context.Context, c *call) (any, error) {
	r, err := c.partition()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.CreatePartition(ctx, &milvuspb.CreatePartitionRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionName: r.PartitionName})
}

func (h *Handler) dropPartition(ctx context.Context, c *call) (any, error) {
	r, err := c.partition()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.DropPartition(ctx, &milvuspb.DropPartitionRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionName: r.PartitionName})
}

func (h *Handler) hasPartition(ctx context.Context, c *call) (any, error) {
	r, err := c.partition()
	if err != nil {
		return nil, err
	}
	has, err := h.p.HasPartition(ctx, &milvuspb.HasPartitionRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionName: r.PartitionName})
	if err != nil {
		return nil, err
	}
	return map[string]bool{"has": has}, nil
}

func (h *Handler) listPartitions(ctx context.Context, c *call) (any, error) {
	r, err := c.collectionName()
	if err != nil {
		return nil, err
	}
	resp, err := h.p.ShowPartitions(ctx, &milvuspb.ShowPartitionsRequest{DbName: c.db, CollectionName: r.CollectionName})
	if err != nil {
		return nil, err
	}
	return nonNil(resp.GetPartitionNames()), nil
}

func (h *Handler) partitionStats(ctx context.Context, c *call) (any, error) {
	r, err := c.partition()
	if err != nil {
		return nil, err
	}
	resp, err := h.p.GetPartitionStatistics(ctx, &milvuspb.GetPartitionStatisticsRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionName: r.PartitionName})
	if err != nil {
		return nil, err
	}
	return rowCount(resp.GetStats()), nil
}

func (h *Handler) loadPartitions(ctx context.Context, c *call) (any, error) {
	r, err := c.partitions()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.LoadPartitions(ctx, &milvuspb.LoadPartitionsRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionNames: r.PartitionNames})
}

func (h *Handler) releasePartitions(ctx context.Context, c *call) (any, error) {
	r, err := c.partitions()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.ReleasePartitions(ctx, &milvuspb.ReleasePartitionsRequest{DbName: c.db, CollectionName: r.CollectionName, PartitionNames: r.PartitionNames})
}

// ---- databases ----

type databaseReq struct {
	DBName     string         `json:"dbName"`
	Properties map[string]any `json:"properties"`
}

func (c *call) database() (*databaseReq, error) {
	var r databaseReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return &r, nil // bind checked dbName (DatabaseReqRequiredName, DatabaseReqWithProperties)
}

func (h *Handler) createDatabase(ctx context.Context, c *call) (any, error) {
	r, err := c.database()
	if err != nil {
		return nil, err
	}
	req := &milvuspb.CreateDatabaseRequest{DbName: r.DBName}
	for _, k := range sortedKeys(r.Properties) {
		req.Properties = append(req.Properties, &commonpb.KeyValuePair{Key: k, Value: paramString(r.Properties[k])})
	}
	return empty(), h.p.CreateDatabase(ctx, req)
}

func (h *Handler) dropDatabase(ctx context.Context, c *call) (any, error) {
	r, err := c.database()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.DropDatabase(ctx, &milvuspb.DropDatabaseRequest{DbName: r.DBName})
}

func (h *Handler) listDatabases(ctx context.Context, c *call) (any, error) {
	resp, err := h.lists.ListDatabases(ctx, &milvuspb.ListDatabasesRequest{})
	if err != nil {
		return nil, err
	}
	if err := rpc.ErrorOf(resp.GetStatus()); err != nil {
		return nil, err
	}
	return nonNil(resp.GetDbNames()), nil
}

func (h *Handler) describeDatabase(ctx context.Context, c *call) (any, error) {
	r, err := c.database()
	if err != nil {
		return nil, err
	}
	resp, err := h.p.DescribeDatabase(ctx, &milvuspb.DescribeDatabaseRequest{DbName: r.DBName})
	if err != nil {
		return nil, err
	}
	return map[string]any{"dbName": resp.GetDbName(), "dbID": int64Value(resp.GetDbID(), c.allowInt64),
		"properties": kvList(resp.GetProperties())}, nil
}

// ---- aliases ----

type aliasReq struct {
	CollectionName string `json:"collectionName"`
	AliasName      string `json:"aliasName"`
}

func (h *Handler) createAlias(ctx context.Context, c *call) (any, error) {
	var r aliasReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.CreateAlias(ctx, &milvuspb.CreateAliasRequest{DbName: c.db, CollectionName: r.CollectionName, Alias: r.AliasName})
}

func (h *Handler) alterAlias(ctx context.Context, c *call) (any, error) {
	var r aliasReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.AlterAlias(ctx, &milvuspb.AlterAliasRequest{DbName: c.db, CollectionName: r.CollectionName, Alias: r.AliasName})
}

func (h *Handler) dropAlias(ctx context.Context, c *call) (any, error) {
	var r aliasReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.DropAlias(ctx, &milvuspb.DropAliasRequest{DbName: c.db, Alias: r.AliasName})
}

func (h *Handler) describeAlias(ctx context.Context, c *call) (any, error) {
	var r aliasReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.DescribeAlias(ctx, &milvuspb.DescribeAliasRequest{DbName: c.db, Alias: r.AliasName})
	if err != nil {
		return nil, err
	}
	return map[string]any{"aliasName": resp.GetAlias(), "collectionName": resp.GetCollection(), "dbName": resp.GetDbName()}, nil
}

func (h *Handler) listAliases(ctx context.Context, c *call) (any, error) {
	var r aliasReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	resp, err := h.p.ListAliases(ctx, &milvuspb.ListAliasesRequest{DbName: c.db, CollectionName: r.CollectionName})
	if err != nil {
		return nil, err
	}
	return nonNil(resp.GetAliases()), nil
}

// sortedKeys returns m's keys in order, for deterministic parameters.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
