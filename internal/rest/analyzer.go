package rest

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// runAnalyzerReq is Milvus 2.6's RunAnalyzerReq.
type runAnalyzerReq struct {
	AnalyzerParams string   `json:"analyzerParams"`
	Text           []string `json:"text"`
	WithDetail     bool     `json:"withDetail"`
	WithHash       bool     `json:"withHash"`
	CollectionName string   `json:"collectionName"`
	FieldName      string   `json:"fieldName"`
	AnalyzerNames  []string `json:"analyzerNames"`
}

// runAnalyzer is POST /v2/vectordb/common/run_analyzer: the tokens of each
// text, with offsets and positions (withDetail) and hashes (withHash).
func (h *Handler) runAnalyzer(ctx context.Context, c *call) (any, error) {
	var r runAnalyzerReq
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	ph := make([][]byte, len(r.Text))
	for i, t := range r.Text {
		ph[i] = []byte(t)
	}
	resp, err := h.p.RunAnalyzer(ctx, &milvuspb.RunAnalyzerRequest{DbName: c.db, AnalyzerParams: r.AnalyzerParams,
		Placeholder: ph, WithDetail: r.WithDetail, WithHash: r.WithHash, CollectionName: r.CollectionName,
		FieldName: r.FieldName, AnalyzerNames: r.AnalyzerNames})
	if err != nil {
		return nil, err
	}
	results := make([]map[string]any, len(resp.GetResults()))
	for i, res := range resp.GetResults() {
		toks := make([]map[string]any, len(res.GetTokens()))
		for j, t := range res.GetTokens() {
			m := map[string]any{"token": t.GetToken()}
			if r.WithDetail {
				m["startOffset"], m["endOffset"] = t.GetStartOffset(), t.GetEndOffset()
				m["position"], m["positionLength"] = t.GetPosition(), t.GetPositionLength()
			}
			if r.WithHash {
				m["hash"] = t.GetHash()
			}
			toks[j] = m
		}
		results[i] = map[string]any{"tokens": toks}
	}
	return map[string]any{"results": results}, nil
}
