package index

import (
	"fmt"
	"io"
)

// WriteTo serializes the index (layout in docs/format/index.md, section
// "IVF_FLAT, IVF_SQ8, IVF_PQ").
func (x *ivfFloat) WriteTo(w io.Writer) (int64, error) {
	if !x.built {
		return 0, fmt.Errorf("%s: %w", x.spec.Type, ErrNotBuilt)
	}
	ww := newWireWriter(w, x.spec.Type)
	ww.str(string(x.metric))
	ww.u32(uint32(x.dim))
	ww.u32(uint32(x.n))
	ww.u32(uint32(x.lists))
	ww.params(x.spec.Params)
	switch {
	case x.sq != nil:
		ww.u32(uint32(len(x.sqNorms)))
	case x.pq != nil:
		ww.u32(uint32(x.pq.m))
		ww.u32(uint32(x.pq.nbits))
		ww.u32(uint32(len(x.pqNorms)))
	}
	ww.f32s(x.cent)
	ww.u32s(x.layout.offsets)
	ww.i32s(x.layout.ids)
	switch {
	case x.vecs != nil:
		ww.f32s(x.vecs)
	case x.sq != nil:
		ww.f32s(x.sq.vmin)
		ww.f32s(x.sq.scale)
		ww.bytes(x.sqCodes)
		ww.f32s(x.sqNorms)
	case x.pq != nil:
		ww.f32s(x.pq.codebooks)
		ww.bytes(x.pqCodes)
		ww.f32s(x.pqNorms)
	}
	ww.align()
	return ww.n, ww.err
}

// loadIVFFloat decodes an index written by WriteTo. Centroids, lists,
// vectors and codes alias data when it is suitably aligned.
func loadIVFFloat(typ string, data []byte) (Index, error) {
	r, err := newWireReader(data, typ)
	if err != nil {
		return nil, err
	}
	metric := Metric(r.str("metric", 16))
	dim := r.count("dim", 32768)
	n := r.count("rows", 1<<31-1)
	lists := r.count("lists", 65536)
	params := r.params()
	if r.err != nil {
		return nil, r.err
	}
	if metric == "" || dim < 1 || lists < 1 || lists > max(1, n) {
		return nil, fmt.Errorf("%s: metric %q, dim %d, %d lists for %d rows: %w", typ, metric, dim, lists, n, ErrCorrupt)
	}
	if _, err := ivfMetric(metric); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", typ, err, ErrCorrupt)
	}
	spec := Spec{Type: typ, Metric: metric, Dim: dim, Params: params}
	x := &ivfFloat{spec: spec, metric: metric, dim: dim, n: n, lists: lists, built: true}
	hasNorms := 0
	switch typ {
	case TypeIVFSQ8:
		hasNorms = r.count("norm count", n)
		if r.err == nil && hasNorms != 0 && (hasNorms != n || metric != L2) {
			return nil, fmt.Errorf("%s: %d norms for %d rows: %w", typ, hasNorms, n, ErrCorrupt)
		}
	case TypeIVFPQ:
		m := r.count("m", dim)
		nbits := r.count("nbits", 16)
		if r.err != nil {
			return nil, r.err
		}
		if m < 1 || dim%m != 0 || nbits < 1 {
			return nil, fmt.Errorf("%s: m %d, nbits %d for dim %d: %w", typ, m, nbits, dim, ErrCorrupt)
		}
		x.pq = newPQCodec(dim, m, nbits)
		hasNorms = r.count("norm count", n)
		if r.err == nil && hasNorms != 0 && (hasNorms != n || metric != L2) {
			return nil, fmt.Errorf("%s: %d norms for %d rows: %w", typ, hasNorms, n, ErrCorrupt)
		}
	}
	x.cent = r.f32s(lists*dim, "centroids")
	x.layout.offsets = r.u32s(lists+1, "list offsets")
	x.layout.ids = r.i32s(n, "row ids")
	switch typ {
	case TypeIVFFlat:
		x.vecs = r.f32s(n*dim, "vectors")
	case TypeIVFSQ8:
		x.sq = &sqCodec{vmin: r.f32s(dim, "sq min"), scale: r.f32s(dim, "sq scale")}
		x.sqCodes = r.bytes(n*dim, "sq codes")
		x.sqNorms = r.f32s(hasNorms, "sq norms")
		if hasNorms == 0 {
			x.sqNorms = nil
		}
	case TypeIVFPQ:
		x.pq.codebooks = r.f32s(x.pq.m*x.pq.ksub*x.pq.dsub, "pq codebooks")
		x.pqCodes = r.bytes(n*x.pq.codeSize(), "pq codes")
		x.pqNorms = r.f32s(hasNorms, "pq norms")
		if hasNorms == 0 {
			x.pqNorms = nil
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	if err := wireCheckOffsets(x.layout.offsets, n); err != nil {
		return nil, err
	}
	if err := wireCheckIDs(x.layout.ids, n); err != nil {
		return nil, err
	}
	if (typ == TypeIVFSQ8 || typ == TypeIVFPQ) && metric == L2 && hasNorms != n {
		return nil, fmt.Errorf("%s: L2 index without norms: %w", typ, ErrCorrupt)
	}
	if x.pq != nil {
		if !x.pq.validCodes(x.pqCodes) {
			return nil, fmt.Errorf("%s: code out of range for nbits %d: %w", typ, x.pq.nbits, ErrCorrupt)
		}
	}
	x.mapped = r.mapped
	return x, nil
}
