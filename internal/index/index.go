// Package index is Milvago's vector search engine: pure Go, no cgo.
//
// Index types and parameters use Milvus's names (FLAT, IVF_FLAT, IVF_SQ8,
// IVF_PQ, HNSW, HNSW_SQ, BIN_FLAT, BIN_IVF_FLAT, SPARSE_INVERTED_INDEX,
// AUTOINDEX) so that CreateIndex and search parameters pass straight through.
//
// Contract shared by every implementation:
//   - Build is called once with every vector; row i of the data set gets label i.
//   - Search is safe from many goroutines at once, after Build or Load.
//   - Distances are reported as Milvus reports them: squared L2 (smaller is
//     better), IP and COSINE similarity (larger is better), HAMMING and JACCARD
//     distance (smaller is better).
//   - Results are flattened: nq*K slots, best first within each query; empty
//     slots have label -1.
//   - The filter bitset marks rows to skip (Milvus's convention: bit set = filtered out).
package index

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/milvago/milvago/internal/bitset"
)

// Metric is a Milvus metric type name.
type Metric string

// The metrics Milvus exposes.
const (
	L2      Metric = "L2"
	IP      Metric = "IP"
	Cosine  Metric = "COSINE"
	Hamming Metric = "HAMMING"
	Jaccard Metric = "JACCARD"
	BM25    Metric = "BM25"

	// Embedding-list metrics (struct array vector sub-fields): a row's
	// score is the sum, over the query list's vectors, of the best score
	// of the element metric against the row's vectors. MAX_SIM is
	// MAX_SIM_COSINE.
	MaxSim        Metric = "MAX_SIM"
	MaxSimCosine  Metric = "MAX_SIM_COSINE"
	MaxSimIP      Metric = "MAX_SIM_IP"
	MaxSimL2      Metric = "MAX_SIM_L2"
	MaxSimHamming Metric = "MAX_SIM_HAMMING"
	MaxSimJaccard Metric = "MAX_SIM_JACCARD"

	// Substructure and Superstructure (BIN_FLAT only) match rather than
	// rank: a row matches when the query's bits are a subset of its bits
	// (Substructure) or its bits a subset of the query's (Superstructure);
	// matches score 0 and come in row order, other rows are not returned.
	Substructure   Metric = "SUBSTRUCTURE"
	Superstructure Metric = "SUPERSTRUCTURE"
)

// Index type names, as Milvus spells them.
const (
	TypeFlat       = "FLAT"
	TypeIVFFlat    = "IVF_FLAT"
	TypeIVFSQ8     = "IVF_SQ8"
	TypeIVFPQ      = "IVF_PQ"
	TypeHNSW       = "HNSW"
	TypeHNSWSQ     = "HNSW_SQ"
	TypeBinFlat    = "BIN_FLAT"
	TypeBinIVFFlat = "BIN_IVF_FLAT"
	TypeSparseInv  = "SPARSE_INVERTED_INDEX"
	TypeSparseWAND = "SPARSE_WAND"
	TypeAutoIndex  = "AUTOINDEX"
)

// HigherIsBetter reports whether larger scores rank first for m.
func (m Metric) HigherIsBetter() bool {
	return m == IP || m == Cosine || m == BM25 || m == MaxSim || m == MaxSimCosine || m == MaxSimIP
}

// Kind is the kind of vector an index holds.
type Kind int

// Vector kinds.
const (
	KindFloat Kind = iota
	KindBinary
	KindSparse
)

// Spec describes an index to build: its type, metric, dimension and the
// Milvus build parameters ("M", "efConstruction", "nlist", "m", "nbits", ...).
type Spec struct {
	Type   string
	Metric Metric
	Dim    int // float: components; binary: bits; sparse: ignored
	Params map[string]string
}

// Dataset holds n vectors of one kind; exactly one of Float, Binary and
// Sparse is set. The index may keep references to the slices: the caller must
// not modify them after Build.
type Dataset struct {
	Dim    int       // float: components per vector; binary: bits per vector
	Float  []float32 // n*Dim values, row-major
	Binary []byte    // n*Dim/8 bytes, row-major
	Sparse [][]byte  // one row each, Milvus's sparse row format: little-endian (uint32 index, float32 value) pairs, indices ascending

	// Evict, when set, drops the data set's vectors from the resident set
	// (they are a view of a memory-mapped file, paged back in if read
	// again). A Build that copies the vectors and reads only its copy
	// (COSINE normalizes them) calls it once copied, so that the input and
	// the copy are not both resident while the graph is built.
	Evict func()
}

// copied tells the data set that its vectors were copied and are no
// longer read (Evict).
func (d Dataset) copied() {
	if d.Evict != nil {
		d.Evict()
	}
}

// Len is the number of vectors in d.
func (d Dataset) Len() int {
	switch {
	case d.Sparse != nil:
		return len(d.Sparse)
	case d.Binary != nil:
		if d.Dim == 0 {
			return 0
		}
		return len(d.Binary) / (d.Dim / 8)
	default:
		if d.Dim == 0 {
			return 0
		}
		return len(d.Float) / d.Dim
	}
}

// SearchParams are the per-request knobs of a search.
type SearchParams struct {
	K      int               // hits per query; must be >= 1
	Params map[string]string // Milvus search params: "ef", "nprobe", "drop_ratio_search", "radius", "range_filter", ...
	Filter *bitset.Set       // rows to skip; nil skips nothing. Its length is the index's Len.
}

// Result is the flattened answer for nq queries.
type Result struct {
	NQ        int
	K         int
	Labels    []int64   // nq*K; -1 marks an empty slot
	Distances []float32 // nq*K
}

// Index is a built, searchable vector index.
type Index interface {
	// Spec returns the spec the index was built with, after defaults were applied.
	Spec() Spec
	// Len is the number of vectors indexed.
	Len() int
	// Build trains (if needed) and adds every vector of data.
	Build(ctx context.Context, data Dataset) error
	// Search returns the K best rows for each query.
	Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error)
	// WriteTo serializes the index in the format Load reads.
	WriteTo(w io.Writer) (int64, error)
	// MemoryBytes estimates the heap the index holds (excluding mapped files).
	MemoryBytes() int64
}

// Constructor creates an empty index of one type from a validated spec.
type Constructor func(spec Spec) (Index, error)

// Loader rebuilds an index of one type from the bytes its WriteTo produced.
// data may be a memory-mapped file: the index may keep references into it
// instead of copying vector data.
type Loader func(data []byte) (Index, error)

type registration struct {
	kind   Kind
	newFn  Constructor
	loadFn Loader
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
)

// Register makes an index type available to New and Load. It is called from
// init functions of this package's files only.
func Register(typ string, kind Kind, newFn Constructor, loadFn Loader) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("index: duplicate registration of " + typ)
	}
	registry[typ] = registration{kind: kind, newFn: newFn, loadFn: loadFn}
}

// Types lists the registered index types, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// KindOf returns the vector kind an index type serves.
func KindOf(typ string) (Kind, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	r, ok := registry[strings.ToUpper(typ)]
	return r.kind, ok
}

// New creates an empty index for spec. AUTOINDEX resolves as Milvus does
// (HNSW M=18 efConstruction=240 for float vectors; the metric defaults to COSINE).
func New(spec Spec) (Index, error) {
	spec = ResolveAuto(spec)
	registryMu.RLock()
	r, ok := registry[spec.Type]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("index type %q: %w", spec.Type, ErrNotSupported)
	}
	return r.newFn(spec)
}

// ResolveAuto turns AUTOINDEX into the concrete spec Milvus would build, and
// upper-cases type and metric names. Other specs pass through.
func ResolveAuto(spec Spec) Spec {
	spec.Type = strings.ToUpper(spec.Type)
	spec.Metric = Metric(strings.ToUpper(string(spec.Metric)))
	if spec.Type != TypeAutoIndex && spec.Type != "" {
		return spec
	}
	params := map[string]string{}
	for k, v := range spec.Params {
		params[k] = v
	}
	spec.Params = params
	switch spec.Metric {
	case Hamming, Jaccard:
		spec.Type = TypeBinFlat
	case BM25:
		spec.Type = TypeSparseInv
	default:
		if spec.Metric == "" {
			spec.Metric = Cosine
		}
		spec.Type = TypeHNSW
		if _, ok := params["M"]; !ok {
			params["M"] = "18"
		}
		if _, ok := params["efConstruction"]; !ok {
			params["efConstruction"] = "240"
		}
	}
	return spec
}

// Load reads an index serialized by WriteTo. The type is taken from the
// serialized header.
func Load(data []byte) (Index, error) {
	typ, err := PeekType(data)
	if err != nil {
		return nil, err
	}
	registryMu.RLock()
	r, ok := registry[typ]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("load index of type %q: %w", typ, ErrNotSupported)
	}
	return r.loadFn(data)
}
