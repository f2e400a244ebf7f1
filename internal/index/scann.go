package index

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strconv"
)

// TypeSCANN is Knowhere's SCANN: an inverted file whose lists hold 4-bit
// product-quantized residuals (one sub-quantizer per two components) and,
// with with_raw_data (the default), the raw vectors, by which the
// quantized candidates are re-ranked.
//
// Milvago keeps the same two shapes: with_raw_data scores the probed lists
// on the raw vectors (what the re-rank converges to), without it the lists
// hold the 4-bit codes and scores are the codes' (an IVF_PQ with m = dim/2,
// nbits = 4). Search takes nprobe; reorder_k is accepted (and range-checked)
// but changes nothing, since candidates are already scored exactly or
// have no raw vectors to be re-scored on.
const TypeSCANN = "SCANN"

func init() {
	Register(TypeSCANN, KindFloat,
		func(spec Spec) (Index, error) { return newSCANN(spec) },
		loadSCANN)
}

type scann struct {
	*ivfFloat
	spec Spec
}

func newSCANN(spec Spec) (*scann, error) {
	params := maps.Clone(spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	raw := true
	if v, ok := params["with_raw_data"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("param 'with_raw_data' (%s) should be a boolean: %w", v, ErrInvalidParam)
		}
		raw = b
	}
	inner := Spec{Type: TypeIVFFlat, Metric: spec.Metric, Dim: spec.Dim, Params: map[string]string{}}
	if v, ok := params["nlist"]; ok {
		inner.Params["nlist"] = v
	}
	if !raw {
		if spec.Dim%2 != 0 {
			return nil, fmt.Errorf("SCANN without raw data needs an even dim, got %d: %w", spec.Dim, ErrInvalidParam)
		}
		inner.Type = TypeIVFPQ
		inner.Params["m"] = strconv.Itoa(spec.Dim / 2)
		inner.Params["nbits"] = "4"
	}
	x, err := newIVFFloat(inner)
	if err != nil {
		return nil, err
	}
	params["nlist"] = x.spec.Params["nlist"]
	params["with_raw_data"] = strconv.FormatBool(raw)
	return &scann{ivfFloat: x, spec: Spec{Type: TypeSCANN, Metric: x.spec.Metric, Dim: spec.Dim, Params: params}}, nil
}

// Spec returns the SCANN spec (the inner inverted file's is an implementation detail).
func (s *scann) Spec() Spec { return s.spec }

// Search checks reorder_k and searches the inverted file.
func (s *scann) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if _, err := IntParam(p.Params, "reorder_k", p.K, 1, 1<<31-1); err != nil {
		return nil, err
	}
	return s.ivfFloat.Search(ctx, queries, p)
}

// WriteTo writes the SCANN parameters, then the inner inverted file.
func (s *scann) WriteTo(w io.Writer) (int64, error) {
	ww := newWireWriter(w, TypeSCANN)
	ww.str(string(s.spec.Metric))
	ww.u32(uint32(s.spec.Dim))
	ww.params(s.spec.Params)
	ww.align()
	if ww.err != nil {
		return ww.n, ww.err
	}
	n, err := s.ivfFloat.WriteTo(w)
	return ww.n + n, err
}

func loadSCANN(data []byte) (Index, error) {
	r, err := newWireReader(data, TypeSCANN)
	if err != nil {
		return nil, err
	}
	metric := Metric(r.str("metric", 16))
	dim := r.count("dim", 32768)
	params := r.params()
	r.align()
	if r.err != nil {
		return nil, r.err
	}
	rest := data[r.off:]
	typ, err := PeekType(rest)
	if err != nil {
		return nil, err
	}
	if typ != TypeIVFFlat && typ != TypeIVFPQ {
		return nil, fmt.Errorf("SCANN over %q: %w", typ, ErrCorrupt)
	}
	in, err := loadIVFFloat(typ, rest)
	if err != nil {
		return nil, err
	}
	x, ok := in.(*ivfFloat)
	if !ok {
		return nil, fmt.Errorf("SCANN over %T: %w", in, ErrCorrupt)
	}
	if x.metric != metric || x.dim != dim {
		return nil, fmt.Errorf("SCANN %s/%d over %s/%d: %w", metric, dim, x.metric, x.dim, ErrCorrupt)
	}
	return &scann{ivfFloat: x, spec: Spec{Type: TypeSCANN, Metric: metric, Dim: dim, Params: params}}, nil
}
