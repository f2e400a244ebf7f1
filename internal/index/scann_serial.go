package index

import (
	"context"
	"fmt"
	"io"
)

// SCANN payload versions (docs/format/index.md, section 9). Version 1 was
// written by the earlier SCANN, a wrapper around a complete IVF_FLAT or
// IVF_PQ file; it still loads (scannLegacy) so that indexes built before
// the fast-scan index keep serving until they are rebuilt.
const (
	scannWireLegacy  = 1
	scannWireVersion = 2
)

// WriteTo serializes the index (payload version 2).
func (s *scann) WriteTo(w io.Writer) (int64, error) {
	if !s.built {
		return 0, fmt.Errorf("SCANN: %w", ErrNotBuilt)
	}
	n, err := WriteHeader(w, TypeSCANN, scannWireVersion)
	ww := &wireWriter{w: w, n: n, err: err}
	ww.str(string(s.metric))
	ww.u32(uint32(s.dim))
	ww.u32(uint32(s.n))
	ww.u32(uint32(s.lists))
	ww.u32(uint32(s.pq.m))
	raw := uint32(0)
	if s.withRaw {
		raw = 1
	}
	ww.u32(raw)
	ww.params(s.spec.Params)
	ww.f32s(s.cent)
	ww.u32s(s.layout.offsets)
	ww.i32s(s.layout.ids)
	ww.f32s(s.pq.codebooks)
	ww.bytes(s.codes)
	ww.f32s(s.norms)
	ww.f32s(s.raw)
	ww.align()
	return ww.n, ww.err
}

// loadSCANN decodes either payload version. Every count is checked against
// the data before it is used; sections alias data when aligned.
func loadSCANN(data []byte) (Index, error) {
	typ, ver, payload, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	if typ != TypeSCANN {
		return nil, fmt.Errorf("index type %q, want %q: %w", typ, TypeSCANN, ErrCorrupt)
	}
	switch ver {
	case scannWireLegacy:
		return loadSCANNLegacy(data)
	case scannWireVersion:
	default:
		return nil, fmt.Errorf("SCANN payload version %d is not one this build reads (1, 2): rebuild the index: %w", ver, ErrCorrupt)
	}
	r := &wireReader{data: data, off: len(data) - len(payload)}
	metric := Metric(r.str("metric", 16))
	dim := r.count("dim", 32768)
	n := r.count("rows", 1<<31-1)
	lists := r.count("lists", 65536)
	m := r.count("sub-quantizers", 32768)
	raw := r.count("with raw data", 1)
	params := r.params()
	if r.err != nil {
		return nil, r.err
	}
	if _, err := ivfMetric(metric); err != nil || metric == "" {
		return nil, fmt.Errorf("SCANN: metric %q: %w", metric, ErrCorrupt)
	}
	if dim < 1 || m < 1 || dim%m != 0 || lists < 1 || lists > max(1, n) {
		return nil, fmt.Errorf("SCANN: dim %d, %d sub-quantizers, %d lists for %d rows: %w", dim, m, lists, n, ErrCorrupt)
	}
	s := &scann{
		spec:    Spec{Type: TypeSCANN, Metric: metric, Dim: dim, Params: params},
		metric:  metric,
		dim:     dim,
		n:       n,
		lists:   lists,
		pq:      newPQCodec(dim, m, 4),
		withRaw: raw == 1,
		built:   true,
	}
	s.cent = r.f32s(lists*dim, "centroids")
	s.layout.offsets = r.u32s(lists+1, "list offsets")
	s.layout.ids = r.i32s(n, "row ids")
	if r.err != nil {
		return nil, r.err
	}
	if err := wireCheckOffsets(s.layout.offsets, n); err != nil {
		return nil, err
	}
	if err := wireCheckIDs(s.layout.ids, n); err != nil {
		return nil, err
	}
	s.blockOff = make([]uint32, lists+1)
	for l := range lists {
		cnt := int(s.layout.offsets[l+1] - s.layout.offsets[l])
		s.blockOff[l+1] = s.blockOff[l] + uint32((cnt+fsBlockVecs-1)/fsBlockVecs)
	}
	s.pq.codebooks = r.f32s(scannKsub*dim, "codebooks")
	s.codes = r.bytes(int(s.blockOff[lists])*fsBlockBytes(m), "codes")
	if metric == L2 {
		s.norms = r.f32s(n, "norm terms")
	}
	if s.withRaw {
		s.raw = r.f32s(n*dim, "raw vectors")
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	s.mapped = r.mapped
	return s, nil
}

// scannLegacy is an index read from a version-1 SCANN file: an inverted
// file scored exactly (with_raw_data) or by 8-bit-table PQ (without). It
// searches as it did when it was written; rebuilding the index turns it
// into the fast-scan index.
type scannLegacy struct {
	*ivfFloat
	spec Spec
}

// Spec returns the SCANN spec.
func (s *scannLegacy) Spec() Spec { return s.spec }

// Search checks reorder_k as SCANN does and searches the inverted file.
func (s *scannLegacy) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if _, err := scannReorderK(p); err != nil {
		return nil, err
	}
	return s.ivfFloat.Search(ctx, queries, p)
}

// WriteTo writes the version-1 layout back unchanged.
func (s *scannLegacy) WriteTo(w io.Writer) (int64, error) {
	n, err := WriteHeader(w, TypeSCANN, scannWireLegacy)
	ww := &wireWriter{w: w, n: n, err: err}
	ww.str(string(s.spec.Metric))
	ww.u32(uint32(s.spec.Dim))
	ww.params(s.spec.Params)
	ww.align()
	if ww.err != nil {
		return ww.n, ww.err
	}
	m, err := s.ivfFloat.WriteTo(w)
	return ww.n + m, err
}

// loadSCANNLegacy reads a version-1 file: the wrapper's metric, dim and
// parameters, then the inner IVF_FLAT or IVF_PQ file.
func loadSCANNLegacy(data []byte) (Index, error) {
	_, _, payload, _ := ReadHeader(data)
	r := &wireReader{data: data, off: len(data) - len(payload)}
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
		return nil, fmt.Errorf("SCANN (version 1) over %q: %w", typ, ErrCorrupt)
	}
	in, err := loadIVFFloat(typ, rest)
	if err != nil {
		return nil, err
	}
	x, ok := in.(*ivfFloat)
	if !ok {
		return nil, fmt.Errorf("SCANN (version 1) over %T: %w", in, ErrCorrupt)
	}
	if x.metric != metric || x.dim != dim {
		return nil, fmt.Errorf("SCANN %s/%d over %s/%d: %w", metric, dim, x.metric, x.dim, ErrCorrupt)
	}
	return &scannLegacy{ivfFloat: x, spec: Spec{Type: TypeSCANN, Metric: metric, Dim: dim, Params: params}}, nil
}
