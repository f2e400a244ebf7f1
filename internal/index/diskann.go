package index

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// TypeDiskANN is Milvus's DISKANN: a Vamana graph (DiskANN, Subramanya et
// al. 2019) searched with product-quantized codes held in memory, while the
// full vectors and the graph's adjacency lists stay on disk and are read
// through the page cache.
//
// The serialized index ends with the "disk" section: one fixed-size record
// per node, [dim]float32 vector, uint32 degree, [max_degree]uint32
// neighbours. When the query node maps the index file, Load keeps that
// section as a view into the mapping, so only the records a search touches
// are paged in; the PQ codebooks and codes are copied onto the heap, and so
// are the records of the nodes nearest the entry point in BFS order, up to
// search_cache_budget_gb_ratio of the raw data size (DiskANN's node cache).
//
// Build parameters (Milvus's names and ranges): max_degree (R, [1, 512],
// default 56), search_list_size (L, [1, int max], default 100),
// pq_code_budget_gb_ratio ((0, 0.25], default 0.125: PQ code bytes per
// vector over raw bytes per vector) and search_cache_budget_gb_ratio
// ([0, 0.3), default 0.1). Search parameters: search_list (also
// search_list_size; >= topk, default max(topk, 100)) and beam_width_ratio
// ([1, 128], default 4: nodes expanded per step = ratio * GOMAXPROCS,
// capped at 16).
//
// IP is searched as L2 over vectors extended by one component,
// sqrt(maxNorm^2 - |x|^2), which ranks as inner product does (the reduction
// DiskANN uses for MIPS); COSINE normalises vectors and queries first.
const TypeDiskANN = "DISKANN"

const (
	diskannDefaultR      = 56
	diskannDefaultL      = 100
	diskannDefaultPQ     = 0.125
	diskannDefaultCache  = 0.1
	diskannAlpha         = 1.2
	diskannDefaultBeam   = 4.0
	diskannMaxBeam       = 16
	diskannDefaultSearch = 100
	diskannPQTrainMax    = 65536
	diskannVersion       = 1
)

func init() {
	Register(TypeDiskANN, KindFloat,
		func(spec Spec) (Index, error) { return newDiskANN(spec) },
		loadDiskANN)
}

type diskann struct {
	spec   Spec
	dim, n int
	ip     bool // IP or COSINE: rank by inner product
	r, l   int  // max_degree, build search_list_size
	cacheR float64

	medoid int
	pq     *pqCodec
	codes  []byte // n*pq.codeSize(), on the heap
	cnorm  []float32

	// disk holds n records of recSize bytes (see TypeDiskANN). After Load
	// it aliases the mapped index file.
	disk    []byte
	recSize int
	// cache holds copies of the records of the BFS-nearest nodes;
	// cacheSlot[i] is node i's slot in it, or -1.
	cache     []byte
	cacheSlot []int32

	searchers sync.Pool // *diskannSearcher, reused across searches
}

// diskannFloatParam reads a float parameter and checks it against
// (lo, hi] / [lo, hi) bounds, in knowhere's words.
func diskannFloatParam(params map[string]string, key string, def, lo, hi float64, loOpen, hiOpen bool) (float64, error) {
	v, ok, err := FloatParam(params, key, def)
	if err != nil || !ok {
		return v, err
	}
	bad := v < lo || v > hi || (loOpen && v == lo) || (hiOpen && v == hi) || math.IsNaN(v)
	if bad {
		l, r := "[", "]"
		if loOpen {
			l = "("
		}
		if hiOpen {
			r = ")"
		}
		return 0, fmt.Errorf("Out of range in json: param '%s' (%g) should be in range %s%g, %g%s: %w", key, v, l, lo, hi, r, ErrInvalidParam)
	}
	return v, nil
}

func newDiskANN(spec Spec) (*diskann, error) {
	if err := checkFloatMetric(spec.Metric); err != nil {
		return nil, err
	}
	if spec.Dim <= 0 {
		return nil, fmt.Errorf("dim %d: %w", spec.Dim, ErrInvalidParam)
	}
	r, err := IntParam(spec.Params, "max_degree", diskannDefaultR, 1, 512)
	if err != nil {
		return nil, err
	}
	l, err := IntParam(spec.Params, "search_list_size", diskannDefaultL, 1, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	pqRatio, err := diskannFloatParam(spec.Params, "pq_code_budget_gb_ratio", diskannDefaultPQ, 0, 0.25, true, false)
	if err != nil {
		return nil, err
	}
	cacheRatio, err := diskannFloatParam(spec.Params, "search_cache_budget_gb_ratio", diskannDefaultCache, 0, 0.3, false, true)
	if err != nil {
		return nil, err
	}
	params := maps.Clone(spec.Params)
	if params == nil {
		params = map[string]string{}
	}
	params["max_degree"] = strconv.Itoa(r)
	params["search_list_size"] = strconv.Itoa(l)
	params["pq_code_budget_gb_ratio"] = strconv.FormatFloat(pqRatio, 'g', -1, 64)
	params["search_cache_budget_gb_ratio"] = strconv.FormatFloat(cacheRatio, 'g', -1, 64)
	spec.Params = params
	m := diskannPQM(spec.Dim, pqRatio)
	return &diskann{
		spec: spec, dim: spec.Dim, ip: spec.Metric != L2, r: r, l: max(l, r), cacheR: cacheRatio,
		pq: newPQCodec(spec.Dim, m, 8), recSize: 4*spec.Dim + 4 + 4*r,
	}, nil
}

// diskannPQM picks the number of PQ sub-quantizers (one byte each): the
// largest divisor of dim within the code budget ratio*4*dim bytes.
func diskannPQM(dim int, ratio float64) int {
	budget := max(1, int(ratio*4*float64(dim)))
	m := 1
	for d := 1; d <= min(budget, dim); d++ {
		if dim%d == 0 {
			m = d
		}
	}
	return m
}

// ReadsFileAtRandom reports that a loaded DISKANN index reads the vectors
// and graph in place, a record per visited node: whoever mapped the file
// should turn readahead off (MADV_RANDOM) so that a search faults in one
// page per record, not a readahead window.
func (d *diskann) ReadsFileAtRandom() bool { return true }

func (d *diskann) Spec() Spec { return d.spec }
func (d *diskann) Len() int   { return d.n }

// MemoryBytes counts the in-memory part: PQ codes and codebooks and the node
// cache. The disk records are in the mapped file.
func (d *diskann) MemoryBytes() int64 {
	return int64(len(d.codes)+len(d.cache)) + 4*int64(len(d.cnorm)+len(d.cacheSlot)) + d.pq.memoryBytes()
}

// record returns node i's on-disk record (the cached copy if it has one).
func (d *diskann) record(i int) []byte {
	if d.cacheSlot != nil {
		if s := d.cacheSlot[i]; s >= 0 {
			return d.cache[int(s)*d.recSize : (int(s)+1)*d.recSize]
		}
	}
	return d.disk[i*d.recSize : (i+1)*d.recSize]
}

// initSearchState derives the query-time tables after Build or Load.
func (d *diskann) initSearchState() {
	p := d.pq
	d.cnorm = make([]float32, p.m*p.ksub)
	for j := range p.m {
		for c := range p.ksub {
			row := p.codebooks[(j*p.ksub+c)*p.dsub : (j*p.ksub+c+1)*p.dsub]
			d.cnorm[j*p.ksub+c] = dot(row, row)
		}
	}
	d.buildCache()
}

// buildCache copies the records of the nodes nearest the medoid (BFS order)
// to the heap, up to the search cache budget.
func (d *diskann) buildCache() {
	d.cache, d.cacheSlot = nil, nil
	budget := int(d.cacheR * float64(d.n) * float64(4*d.dim))
	count := min(d.n, budget/d.recSize)
	if count <= 0 || d.n == 0 {
		return
	}
	slot := make([]int32, d.n)
	for i := range slot {
		slot[i] = -1
	}
	cache := make([]byte, 0, count*d.recSize)
	queue := []int{d.medoid}
	slot[d.medoid] = 0
	cache = append(cache, d.disk[d.medoid*d.recSize:(d.medoid+1)*d.recSize]...)
	for len(queue) > 0 && len(cache) < count*d.recSize {
		u := queue[0]
		queue = queue[1:]
		for _, v := range d.neighbors(d.disk[u*d.recSize : (u+1)*d.recSize]) {
			if int(v) >= d.n || slot[v] >= 0 || len(cache) >= count*d.recSize {
				continue
			}
			slot[v] = int32(len(cache) / d.recSize)
			cache = append(cache, d.disk[int(v)*d.recSize:(int(v)+1)*d.recSize]...)
			queue = append(queue, int(v))
		}
	}
	d.cache, d.cacheSlot = cache, slot
}

// vector and neighbors decode a record.
func (d *diskann) vector(rec []byte) []float32 { return bytesF32(rec[:4*d.dim]) }

func (d *diskann) neighbors(rec []byte) []uint32 {
	deg := int(leU32(rec[4*d.dim:]))
	deg = min(deg, d.r)
	return bytesU32(rec[4*d.dim+4:])[:deg]
}

// WriteTo writes the parameters, the PQ codebooks and codes, then the disk records.
func (d *diskann) WriteTo(w io.Writer) (int64, error) {
	if d.disk == nil && d.n > 0 {
		return 0, ErrNotBuilt
	}
	ww := newWireWriter(w, TypeDiskANN)
	ww.u32(diskannVersion)
	ww.str(string(d.spec.Metric))
	ww.u32(uint32(d.dim))
	ww.params(d.spec.Params)
	ww.u32(uint32(d.n))
	ww.u32(uint32(d.r))
	ww.u32(uint32(d.medoid))
	ww.u32(uint32(d.pq.m))
	ww.f32s(d.pq.codebooks)
	ww.bytes(d.codes)
	ww.align()
	ww.bytes(d.disk)
	ww.align()
	return ww.n, ww.err
}

func loadDiskANN(data []byte) (Index, error) {
	r, err := newWireReader(data, TypeDiskANN)
	if err != nil {
		return nil, err
	}
	if v := r.u32("version"); r.err == nil && v != diskannVersion {
		return nil, fmt.Errorf("DISKANN payload version %d: %w", v, ErrCorrupt)
	}
	metric := Metric(r.str("metric", 16))
	dim := r.count("dim", 32768)
	params := r.params()
	n := r.count("rows", math.MaxInt32)
	deg := r.count("max_degree", 512)
	medoid := r.count("medoid", math.MaxInt32)
	m := r.count("pq m", 32768)
	if r.err != nil {
		return nil, r.err
	}
	spec := Spec{Type: TypeDiskANN, Metric: metric, Dim: dim, Params: params}
	d, err := newDiskANN(spec)
	if err != nil {
		return nil, fmt.Errorf("DISKANN header: %v: %w", err, ErrCorrupt)
	}
	if d.r != deg || m < 1 || dim%m != 0 || (n > 0 && medoid >= n) {
		return nil, fmt.Errorf("DISKANN header (R %d/%d, m %d, medoid %d of %d): %w", d.r, deg, m, medoid, n, ErrCorrupt)
	}
	d.n, d.medoid = n, medoid
	d.pq = newPQCodec(dim, m, 8)
	d.pq.codebooks = append([]float32(nil), r.f32s(m*256*d.pq.dsub, "pq codebooks")...)
	d.codes = append([]byte(nil), r.bytes(n*m, "pq codes")...)
	d.disk = r.bytes(n*d.recSize, "disk records")
	if len(d.disk) > 0 && uintptr(unsafe.Pointer(&d.disk[0]))&3 != 0 {
		d.disk = append([]byte(nil), d.disk...) // unaligned input: records must be 4-byte aligned
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	// The records are not scanned here: that would page the whole disk
	// section in. Searches skip neighbour ids out of range instead.
	d.initSearchState()
	return d, nil
}

// diskannSearchParams parses search_list and beam_width_ratio.
func (d *diskann) parseSearch(p SearchParams) (l, beam int, err error) {
	key := "search_list"
	if _, ok := lookup(p.Params, key); !ok {
		if _, ok := lookup(p.Params, "search_list_size"); ok {
			key = "search_list_size"
		}
	}
	l, err = IntParam(p.Params, key, max(p.K, diskannDefaultSearch), 1, math.MaxInt32)
	if err != nil {
		return 0, 0, err
	}
	if l < p.K {
		return 0, 0, fmt.Errorf("search_list_size(%d) should be larger than k(%d): %w", l, p.K, ErrInvalidParam)
	}
	if l > max(p.K*10, 65535) {
		return 0, 0, fmt.Errorf("search_list_size should be in range: [topk, max(topk * 10, 65535)]: %w", ErrInvalidParam)
	}
	ratio, err := diskannFloatParam(p.Params, "beam_width_ratio", diskannDefaultBeam, 1, 128, false, false)
	if err != nil {
		return 0, 0, err
	}
	beam = min(diskannMaxBeam, max(1, int(ratio*float64(runtime.GOMAXPROCS(0)))))
	return l, beam, nil
}

// rangeCheck refuses what this index does not do.
func diskannRefuseRange(p SearchParams, m Metric) error {
	win, err := ParseRange(m, p.Params)
	if err != nil {
		return err
	}
	if win.Active {
		return fmt.Errorf("range search on DISKANN: %w", ErrNotSupported)
	}
	return nil
}

func (d *diskann) Search(ctx context.Context, queries Dataset, p SearchParams) (*Result, error) {
	qs, nq, err := prepareQueries(d.spec.Metric, queries, d.dim, p, d.n)
	if err != nil {
		return nil, err
	}
	if err := diskannRefuseRange(p, d.spec.Metric); err != nil {
		return nil, err
	}
	l, beam, err := d.parseSearch(p)
	if err != nil {
		return nil, err
	}
	res := newResult(nq, p.K)
	if d.n == 0 {
		return res, nil
	}
	var skip []uint64
	if p.Filter != nil {
		skip = p.Filter.Words()
	}
	workers := min(nq, runtime.GOMAXPROCS(0))
	if workers == 1 {
		s := d.getSearcher(l)
		defer d.searchers.Put(s)
		for q := range nq {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s.search(qs[q*d.dim:(q+1)*d.dim], p.K, beam, skip, res.Labels[q*p.K:(q+1)*p.K], res.Distances[q*p.K:(q+1)*p.K])
		}
		return res, nil
	}
	errc := make(chan error, workers)
	next := make(chan int, nq)
	for q := range nq {
		next <- q
	}
	close(next)
	for range workers {
		go func() {
			s := d.getSearcher(l)
			defer d.searchers.Put(s)
			for q := range next {
				if err := ctx.Err(); err != nil {
					errc <- err
					return
				}
				s.search(qs[q*d.dim:(q+1)*d.dim], p.K, beam, skip, res.Labels[q*p.K:(q+1)*p.K], res.Distances[q*p.K:(q+1)*p.K])
			}
			errc <- nil
		}()
	}
	var first error
	for range workers {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return res, nil
}

// String describes the index for logs.
func (d *diskann) String() string {
	return fmt.Sprintf("DISKANN(%s dim=%d n=%d R=%d L=%d pq_m=%d cached=%d)", strings.ToUpper(string(d.spec.Metric)), d.dim, d.n, d.r, d.l, d.pq.m, len(d.cache)/max(1, d.recSize))
}

// getSearcher takes a pooled searcher (or makes one) set to list size l.
func (d *diskann) getSearcher(l int) *diskannSearcher {
	if s, ok := d.searchers.Get().(*diskannSearcher); ok {
		s.l = l
		return s
	}
	return newDiskannSearcher(d, l)
}
