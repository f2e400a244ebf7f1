package index

import (
	"context"
	"fmt"
	"io"

	"github.com/milvago/milvago/internal/distance"
)

// FLAT is exact brute-force search over float vectors (L2, IP, COSINE). It
// keeps a reference to the caller's vectors for L2 and IP (no copy) and a
// normalised copy for COSINE, so that COSINE is an inner product at search
// time.

func init() {
	Register(TypeFlat, KindFloat, newFlat, loadFlat)
}

type flatIndex struct {
	spec Spec
	dim  int
	n    int
	// built is set by Build and Load; Search and WriteTo need it.
	built bool
	vecs  []float32 // n*dim, row-major; unit length for COSINE
	// owned reports whether vecs was allocated by the index (COSINE copy or
	// load copy) rather than referenced from the caller or a mapped buffer.
	owned bool
}

func newFlat(spec Spec) (Index, error) {
	if err := checkFloatMetric(spec.Metric); err != nil {
		return nil, err
	}
	if spec.Dim < 0 {
		return nil, fmt.Errorf("dim %d: %w", spec.Dim, ErrInvalidParam)
	}
	return &flatIndex{spec: spec, dim: spec.Dim}, nil
}

// checkFloatMetric accepts the metrics float-vector indexes serve.
func checkFloatMetric(m Metric) error {
	switch m {
	case L2, IP, Cosine:
		return nil
	}
	return fmt.Errorf("metric type %q for float vectors: %w", m, ErrInvalidParam)
}

// floatRows validates a float dataset against the expected dimension (0:
// take it from the data) and returns its dimension and row count.
func floatRows(data Dataset, dim int) (int, int, error) {
	if data.Float == nil && (data.Binary != nil || data.Sparse != nil) {
		return 0, 0, fmt.Errorf("float index needs float vectors: %w", ErrInvalidParam)
	}
	if data.Dim <= 0 {
		return 0, 0, fmt.Errorf("vector dim %d: %w", data.Dim, ErrInvalidParam)
	}
	if dim > 0 && data.Dim != dim {
		return 0, 0, fmt.Errorf("vector dim %d, index dim %d: %w", data.Dim, dim, ErrInvalidParam)
	}
	if len(data.Float)%data.Dim != 0 {
		return 0, 0, fmt.Errorf("%d values is not a multiple of dim %d: %w", len(data.Float), data.Dim, ErrInvalidParam)
	}
	return data.Dim, len(data.Float) / data.Dim, nil
}

// normalizedCopy returns a copy of vecs with every dim-row scaled to unit length.
func normalizedCopy(vecs []float32, dim int) []float32 {
	out := make([]float32, len(vecs))
	copy(out, vecs)
	for i := 0; i < len(out); i += dim {
		distance.Normalize(out[i : i+dim])
	}
	return out
}

func (f *flatIndex) Spec() Spec { return f.spec }
func (f *flatIndex) Len() int   { return f.n }

func (f *flatIndex) Build(ctx context.Context, data Dataset) error {
	dim, n, err := floatRows(data, f.dim)
	if err != nil {
		return fmt.Errorf("build FLAT: %w", err)
	}
	f.dim, f.n, f.built = dim, n, true
	f.spec.Dim = dim
	if f.spec.Metric == Cosine {
		f.vecs, f.owned = normalizedCopy(data.Float, dim), true
		data.copied()
	} else {
		f.vecs, f.owned = data.Float, false
	}
	return ctx.Err()
}

func (f *flatIndex) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	if !f.built {
		return nil, fmt.Errorf("search FLAT: %w", ErrNotBuilt)
	}
	qs, nq, err := prepareQueries(f.spec.Metric, queries, f.dim, p, f.n)
	if err != nil {
		return nil, fmt.Errorf("search FLAT: %w", err)
	}
	win, err := ParseRange(f.spec.Metric, p.Params)
	if err != nil {
		return nil, fmt.Errorf("search FLAT: %w", err)
	}
	res := newResult(nq, p.K)
	scan := flatScan{vecs: f.vecs, dim: f.dim, n: f.n, ip: f.spec.Metric != L2, filter: p.Filter, win: win}
	if err := scan.search(ctx, qs, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (f *flatIndex) MemoryBytes() int64 {
	if f.owned {
		return int64(len(f.vecs)) * 4
	}
	return 0
}

func (f *flatIndex) WriteTo(w io.Writer) (int64, error) {
	if !f.built {
		return 0, fmt.Errorf("write FLAT: %w", ErrNotBuilt)
	}
	e := newPayloadEnc(w, TypeFlat, flatVersion)
	writeSpec(e, f.spec)
	e.u32(uint32(f.dim))
	e.u64(uint64(f.n))
	e.pad(64)
	e.f32s(f.vecs)
	return e.finish()
}

// flatVersion is the FLAT payload version.
const flatVersion = 1

func loadFlat(data []byte) (Index, error) {
	d, err := newPayloadDec(data, TypeFlat, flatVersion)
	if err != nil {
		return nil, fmt.Errorf("load FLAT: %w", err)
	}
	spec := readSpec(d, TypeFlat)
	dim := d.u32("dim")
	n := d.u64("row count")
	d.pad(64)
	if d.err == nil && (dim == 0 || dim > maxDim || n > uint64(len(data))/4/uint64(dim)) {
		d.fail("dimensions")
	}
	vecs := d.f32s(n*uint64(dim), "vectors")
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("load FLAT: %w", err)
	}
	if err := checkFloatMetric(spec.Metric); err != nil {
		return nil, fmt.Errorf("load FLAT: %v: %w", err, ErrCorrupt)
	}
	spec.Dim = int(dim)
	return &flatIndex{spec: spec, dim: int(dim), n: int(n), built: true, vecs: vecs}, nil
}

// maxDim bounds the dimension a loader accepts (Milvus allows 32768).
const maxDim = 1 << 16

// writeSpec writes the metric and build parameters of spec.
func writeSpec(e *payloadEnc, s Spec) {
	e.str(string(s.Metric))
	e.params(s.Params)
}

// readSpec reads what writeSpec wrote.
func readSpec(d *payloadDec, typ string) Spec {
	m := Metric(d.str("metric", 32))
	p := d.params()
	return Spec{Type: typ, Metric: m, Params: p}
}
