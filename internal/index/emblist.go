package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/milvago/milvago/internal/bitset"
)

// TypeEmbList is the serialized type of an embedding list index: an
// element-level index (HNSW) over every vector of every row of an
// ArrayOfVector field, with the rows' element ranges. Users create it as
// HNSW with a MAX_SIM metric; the index coordinator builds it from the
// field's column. A search takes each query vector's nearest elements as
// candidate rows, which the caller re-ranks by their exact MAX_SIM score.
const TypeEmbList = "EMB_LIST"

const embListVersion = 1

// EmbList is an embedding list index. It answers Candidates, not Search.
type EmbList struct {
	spec   Spec  // the user's: HNSW family, a MAX_SIM metric
	inner  Index // over the elements, with the element metric
	starts []int64
}

// BuildEmbList builds the element index of an embedding list field: spec
// is the user's index (type and MAX_SIM metric), element the element
// metric, lens the number of vectors of each row and data every row's
// vectors, row after row.
func BuildEmbList(ctx context.Context, spec Spec, element Metric, lens []int, data Dataset) (*EmbList, error) {
	starts := make([]int64, len(lens)+1)
	for i, l := range lens {
		starts[i+1] = starts[i] + int64(l)
	}
	if int(starts[len(lens)]) != data.Len() {
		return nil, fmt.Errorf("embedding list index: %d vectors for rows holding %d: %w", data.Len(), starts[len(lens)], ErrInvalidParam)
	}
	inner, err := New(Spec{Type: spec.Type, Metric: element, Dim: spec.Dim, Params: spec.Params})
	if err != nil {
		return nil, err
	}
	if err := inner.Build(ctx, data); err != nil {
		return nil, err
	}
	return &EmbList{spec: spec, inner: inner, starts: starts}, nil
}

// Spec implements Index: the user's spec (its MAX_SIM metric).
func (e *EmbList) Spec() Spec { return e.spec }

// Len implements Index: the number of rows.
func (e *EmbList) Len() int { return len(e.starts) - 1 }

// Build implements Index; an embedding list index is built by BuildEmbList.
func (e *EmbList) Build(context.Context, Dataset) error {
	return fmt.Errorf("embedding list index: build with BuildEmbList: %w", ErrNotSupported)
}

// Search implements Index; embedding list searches use Candidates.
func (e *EmbList) Search(context.Context, Dataset, SearchParams) (*Result, error) {
	return nil, fmt.Errorf("embedding list index: search with Candidates: %w", ErrNotSupported)
}

// MemoryBytes implements Index.
func (e *EmbList) MemoryBytes() int64 { return e.inner.MemoryBytes() + 8*int64(len(e.starts)) }

// RowOf is the row holding element el.
func (e *EmbList) RowOf(el int64) int {
	lo, hi := 0, len(e.starts)-1 // starts[lo] <= el < starts[hi]
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if e.starts[mid] <= el {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// ElementSkip is the element filter of a row filter: the elements of
// every row allowed does not keep, for Candidates. It is nil when allowed
// keeps no row (there is nothing to search).
func (e *EmbList) ElementSkip(allowed *bitset.Set) *bitset.Set {
	skip := bitset.New(e.inner.Len())
	kept := 0
	for r := 0; r < e.Len(); r++ {
		if r < allowed.Len() && allowed.Test(r) {
			kept++
			continue
		}
		for el := e.starts[r]; el < e.starts[r+1]; el++ {
			skip.Set(int(el))
		}
	}
	if kept == 0 {
		return nil
	}
	return skip
}

// Candidates returns, for each query vector, the rows of its perVector
// nearest elements: the rows worth scoring exactly. params are the
// search params ("ef"). skip, when not nil, is the elements a filter
// drops (ElementSkip): the graph search passes over them, so a selective
// filter still gets perVector elements of kept rows (as Milvus passes the
// filter's bitset to the element index).
func (e *EmbList) Candidates(ctx context.Context, queries Dataset, perVector int, params map[string]string, skip *bitset.Set) ([]int, error) {
	if e.inner.Len() == 0 {
		return nil, nil
	}
	res, err := e.inner.Search(ctx, queries, SearchParams{K: perVector, Params: params, Filter: skip})
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var rows []int
	for _, l := range res.Labels {
		if l < 0 {
			continue
		}
		if r := e.RowOf(l); !seen[r] {
			seen[r] = true
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// WriteTo implements Index: the header, the user's type and metric, the
// row starts, then the element index as its own WriteTo writes it.
func (e *EmbList) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	if _, err := WriteHeader(&buf, TypeEmbList, embListVersion); err != nil {
		return 0, err
	}
	put := func(s string) {
		buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
		buf.WriteString(s)
	}
	put(e.spec.Type)
	put(string(e.spec.Metric))
	buf.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(e.starts))))
	for _, s := range e.starts {
		buf.Write(binary.LittleEndian.AppendUint64(nil, uint64(s)))
	}
	n, err := w.Write(buf.Bytes())
	if err != nil {
		return int64(n), err
	}
	m, err := e.inner.WriteTo(w)
	return int64(n) + m, err
}

func loadEmbList(data []byte) (Index, error) {
	_, version, p, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	if version != embListVersion {
		return nil, fmt.Errorf("embedding list index version %d: %w", version, ErrNotSupported)
	}
	str := func() (string, error) {
		if len(p) < 4 {
			return "", ErrCorrupt
		}
		n := int(binary.LittleEndian.Uint32(p))
		if n > maxTypeLen || len(p) < 4+n {
			return "", ErrCorrupt
		}
		s := string(p[4 : 4+n])
		p = p[4+n:]
		return s, nil
	}
	e := &EmbList{}
	if e.spec.Type, err = str(); err != nil {
		return nil, err
	}
	m, err := str()
	if err != nil {
		return nil, err
	}
	e.spec.Metric = Metric(m)
	if len(p) < 8 {
		return nil, ErrCorrupt
	}
	n := binary.LittleEndian.Uint64(p)
	p = p[8:]
	if n == 0 || n > uint64(len(p)/8) {
		return nil, fmt.Errorf("embedding list index: %d row starts: %w", n, ErrCorrupt)
	}
	e.starts = make([]int64, n)
	for i := range e.starts {
		e.starts[i] = int64(binary.LittleEndian.Uint64(p[8*i:]))
		if i > 0 && e.starts[i] < e.starts[i-1] {
			return nil, fmt.Errorf("embedding list index: row starts decrease: %w", ErrCorrupt)
		}
	}
	if e.inner, err = Load(p[8*n:]); err != nil {
		return nil, err
	}
	if int64(e.inner.Len()) != e.starts[n-1] {
		return nil, fmt.Errorf("embedding list index: %d elements indexed, rows hold %d: %w", e.inner.Len(), e.starts[n-1], ErrCorrupt)
	}
	e.spec.Dim = e.inner.Spec().Dim
	e.spec.Params = e.inner.Spec().Params
	return e, nil
}

func init() {
	Register(TypeEmbList, KindFloat, func(Spec) (Index, error) {
		return nil, fmt.Errorf("embedding list index: build with BuildEmbList: %w", ErrNotSupported)
	}, loadEmbList)
}

// EmbListElement is the element metric of a MAX_SIM metric, or "" when m
// is not one: COSINE for MAX_SIM and MAX_SIM_COSINE, IP, L2, HAMMING and
// JACCARD for the others.
func EmbListElement(m Metric) Metric {
	switch m {
	case MaxSim, MaxSimCosine:
		return Cosine
	case MaxSimIP:
		return IP
	case MaxSimL2:
		return L2
	case MaxSimHamming:
		return Hamming
	case MaxSimJaccard:
		return Jaccard
	}
	return ""
}

// ElementMaxSim is the MAX_SIM metric whose element metric is m (COSINE:
// MAX_SIM_COSINE, IP: MAX_SIM_IP, L2: MAX_SIM_L2, HAMMING, JACCARD), or ""
// when m is no element metric. An element-level search (one vector per
// query against a row's embedding list, scored by the row's best element)
// is a MAX_SIM search with one-vector query lists; an embedding list
// index built with an element metric is that metric's element graph.
func ElementMaxSim(m Metric) Metric {
	switch m {
	case Cosine:
		return MaxSimCosine
	case IP:
		return MaxSimIP
	case L2:
		return MaxSimL2
	case Hamming:
		return MaxSimHamming
	case Jaccard:
		return MaxSimJaccard
	}
	return ""
}

// EmbListIndexElement is the element metric of the graph of an embedding
// list index created with metric m: m's element metric for a MAX_SIM
// metric, m itself for an element metric, else "".
func EmbListIndexElement(m Metric) Metric {
	if e := EmbListElement(m); e != "" {
		return e
	}
	if ElementMaxSim(m) != "" {
		return m
	}
	return ""
}

// SameEmbListScoring reports whether metrics a and b rank an embedding
// list search alike: equal, or an element metric and its MAX_SIM metric.
func SameEmbListScoring(a, b Metric) bool {
	return a == b || ElementMaxSim(a) == b || ElementMaxSim(b) == a
}
