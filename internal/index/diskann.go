package index

import (
	"context"
	"fmt"
	"io"
	"maps"
	"strconv"
)

// TypeDiskANN is Milvus's DISKANN: a proximity graph (Vamana) searched by
// best-first traversal with a candidate list of search_list entries.
//
// Milvago keeps every index in memory, so it serves DISKANN with its
// in-memory proximity graph (the HNSW implementation) and DiskANN's
// parameters: max_degree is the graph's base-layer degree (HNSW's 2*M),
// search_list_size the build's candidate list (efConstruction), and the
// search parameter search_list the search's candidate list (ef). The
// results are those of a graph index built with those parameters, not a
// byte-for-byte Vamana graph; the on-disk PQ cache parameters
// (pq_code_budget_gb_ratio, search_cache_budget_gb_ratio, beamwidth) are
// accepted and have nothing to tune.
const TypeDiskANN = "DISKANN"

func init() {
	Register(TypeDiskANN, KindFloat,
		func(spec Spec) (Index, error) { return newDiskANN(spec) },
		loadDiskANN)
}

type diskANN struct {
	Index // the graph
	spec  Spec
}

func newDiskANN(spec Spec) (*diskANN, error) {
	if err := checkFloatMetric(spec.Metric); err != nil {
		return nil, err
	}
	params := maps.Clone(spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	degree, err := IntParam(params, "max_degree", 56, 1, 512)
	if err != nil {
		return nil, err
	}
	list, err := IntParam(params, "search_list_size", 100, 1, 1<<31-1)
	if err != nil {
		return nil, err
	}
	params["max_degree"], params["search_list_size"] = strconv.Itoa(degree), strconv.Itoa(list)
	g, err := newHNSWIndex(Spec{Type: TypeHNSW, Metric: spec.Metric, Dim: spec.Dim, Params: map[string]string{
		"M": strconv.Itoa(max(2, degree/2)), "efConstruction": strconv.Itoa(list),
	}}, false)
	if err != nil {
		return nil, err
	}
	return &diskANN{Index: g, spec: Spec{Type: TypeDiskANN, Metric: spec.Metric, Dim: spec.Dim, Params: params}}, nil
}

// Spec returns the DISKANN spec.
func (d *diskANN) Spec() Spec { return d.spec }

// Search maps search_list to the graph's candidate list.
func (d *diskANN) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	list, err := IntParam(p.Params, "search_list", max(p.K, 16), 1, 1<<31-1)
	if err != nil {
		return nil, err
	}
	if list < p.K {
		return nil, fmt.Errorf("search_list(%d) should be larger than k(%d): %w", list, p.K, ErrInvalidParam)
	}
	params := maps.Clone(p.Params)
	if params == nil {
		params = map[string]string{}
	}
	delete(params, "search_list")
	params["ef"] = strconv.Itoa(list)
	p.Params = params
	return d.Index.Search(ctx, queries, p)
}

// WriteTo writes the DISKANN parameters, then the graph.
func (d *diskANN) WriteTo(w io.Writer) (int64, error) {
	ww := newWireWriter(w, TypeDiskANN)
	ww.str(string(d.spec.Metric))
	ww.u32(uint32(d.spec.Dim))
	ww.params(d.spec.Params)
	ww.align()
	if ww.err != nil {
		return ww.n, ww.err
	}
	n, err := d.Index.WriteTo(w)
	return ww.n + n, err
}

func loadDiskANN(data []byte) (Index, error) {
	r, err := newWireReader(data, TypeDiskANN)
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
	g, err := loadHNSW(data[r.off:])
	if err != nil {
		return nil, err
	}
	if s := g.Spec(); s.Metric != metric || s.Dim != dim {
		return nil, fmt.Errorf("DISKANN %s/%d over %s/%d: %w", metric, dim, s.Metric, s.Dim, ErrCorrupt)
	}
	return &diskANN{Index: g, spec: Spec{Type: TypeDiskANN, Metric: metric, Dim: dim, Params: params}}, nil
}
