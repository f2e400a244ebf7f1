package rest

import (
	"context"
	"strconv"
	"time"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/proxy"
)

// importRoutes are Milvus 2.6's bulk import jobs (docs/import.md).
func (h *Handler) importRoutes() map[string]endpoint {
	return map[string]endpoint{
		"/jobs/import/create":       h.createImport,
		"/jobs/import/list":         h.listImports,
		"/jobs/import/describe":     h.describeImport,
		"/jobs/import/get_progress": h.describeImport,
	}
}

type importReq struct {
	CollectionName string            `json:"collectionName"`
	PartitionName  string            `json:"partitionName"`
	Files          [][]string        `json:"files"`
	Options        map[string]string `json:"options"`
	JobID          string            `json:"jobId"`
}

func (h *Handler) createImport(ctx context.Context, c *call) (any, error) {
	var r importReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	id, err := h.p.CreateImport(ctx, proxy.ImportRequest{DB: c.db, Collection: r.CollectionName,
		Partition: r.PartitionName, Files: r.Files, Options: r.Options})
	if err != nil {
		return nil, err
	}
	return map[string]any{"jobId": strconv.FormatInt(id, 10)}, nil
}

func (h *Handler) listImports(ctx context.Context, c *call) (any, error) {
	var r importReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	jobs, err := h.p.ListImports(ctx, c.db, r.CollectionName)
	if err != nil {
		return nil, err
	}
	records := make([]map[string]any, 0, len(jobs))
	for _, j := range jobs {
		rec := map[string]any{"jobId": strconv.FormatInt(j.ID, 10), "collectionName": j.CollectionName,
			"state": j.State, "progress": j.Progress}
		if j.Reason != "" {
			rec["reason"] = j.Reason
		}
		records = append(records, rec)
	}
	return map[string]any{"records": records}, nil
}

func (h *Handler) describeImport(ctx context.Context, c *call) (any, error) {
	var r importReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	j, err := h.p.ImportJob(ctx, r.JobID)
	if err != nil {
		return nil, err
	}
	return importDetail(j), nil
}

func importDetail(j contract.ImportJob) map[string]any {
	stamp := func(ms int64) string {
		if ms == 0 {
			return ""
		}
		return time.UnixMilli(ms).Format(time.RFC3339)
	}
	out := map[string]any{"jobId": strconv.FormatInt(j.ID, 10), "collectionName": j.CollectionName,
		"createTime": stamp(j.CreateTime), "completeTime": stamp(j.CompleteTime), "state": j.State,
		"progress": j.Progress, "importedRows": j.ImportedRows, "totalRows": j.TotalRows,
		"fileSize": 0, "details": []map[string]any{}}
	if j.Reason != "" {
		out["reason"] = j.Reason
	}
	return out
}
