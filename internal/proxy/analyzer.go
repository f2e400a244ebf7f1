package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/analyzer"
	"github.com/milvago/milvago/internal/bm25"
	"github.com/milvago/milvago/internal/errs"
)

// RunAnalyzer tokenizes texts as Milvus 2.6 does: with the analyzer that
// analyzer_params describe, or, given a collection and field, with the
// analyzer of that field (which must be a BM25 function's input).
func (s *Server) RunAnalyzer(ctx context.Context, req *milvuspb.RunAnalyzerRequest) (*milvuspb.RunAnalyzerResponse, error) {
	if len(req.GetPlaceholder()) == 0 {
		return &milvuspb.RunAnalyzerResponse{Results: []*milvuspb.AnalyzerResult{}}, nil
	}
	var a *analyzer.Analyzer
	var multi bm25.Function // a field's function, with a multi-language analyzer
	if req.GetCollectionName() == "" {
		var err error
		if a, err = analyzer.New(req.GetAnalyzerParams()); err != nil {
			return nil, errInvalidMsg("failed to create analyzer: %v", err)
		}
	} else {
		// validateRunAnalyzer (util.go): fmt.Errorf texts, code 65535
		if req.GetAnalyzerParams() != "" {
			return nil, errPlain("run analyzer can't use analyzer params and (collection,field) in same time")
		}
		if req.GetFieldName() == "" {
			return nil, errPlain("must set field name when collection name was set")
		}
		if n := len(req.GetAnalyzerNames()); req.GetAnalyzerNames() != nil && n != 1 && n != len(req.GetPlaceholder()) {
			return nil, errPlain("only support set one analyzer name for all text or set analyzer name for each text, but now analzer name num: %d, text num: %d",
				n, len(req.GetPlaceholder()))
		}
		c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
		if err != nil {
			return nil, err
		}
		f := c.Field(req.GetFieldName())
		if f == nil {
			return nil, errs.FieldNotFound(req.GetFieldName())
		}
		fns, err := bm25.Functions(c.Schema)
		if err != nil {
			return nil, errInvalidMsg("%v", err)
		}
		found := false
		for _, fn := range fns {
			if fn.Input.GetFieldID() == f.GetFieldID() {
				a, multi, found = fn.Analyzer, fn, true
			}
		}
		if !found {
			return nil, errPlain("analyzer runner for field %d not exist, now only support run analyzer by field if field was bm25 input field", f.GetFieldID())
		}
		if multi.Multi != nil && len(req.GetAnalyzerNames()) == 0 {
			return nil, errInvalidMsg("analyzer names must be set for multi analyzer")
		}
	}
	out := &milvuspb.RunAnalyzerResponse{Results: make([]*milvuspb.AnalyzerResult, len(req.GetPlaceholder()))}
	for i, text := range req.GetPlaceholder() {
		if multi.Multi != nil {
			names := req.GetAnalyzerNames()
			if len(names) == 1 {
				a = multi.AnalyzerFor(names[0])
			} else {
				a = multi.AnalyzerFor(names[i])
			}
		}
		res := &milvuspb.AnalyzerResult{Tokens: []*milvuspb.AnalyzerToken{}}
		for _, t := range a.Analyze(string(text)) {
			tok := &milvuspb.AnalyzerToken{Token: t.Text}
			if req.GetWithDetail() {
				tok.StartOffset, tok.EndOffset = int64(t.Start), int64(t.End)
				tok.Position, tok.PositionLength = int64(t.Position), int64(t.PositionLength)
			}
			if req.GetWithHash() {
				tok.Hash = bm25.Hash(t.Text)
			}
			res.Tokens = append(res.Tokens, tok)
		}
		out.Results[i] = res
	}
	return out, nil
}
