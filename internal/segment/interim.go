package segment

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/distance"
	"github.com/milvago/milvago/internal/index"
)

// The interim index of a growing segment (Milvus's
// queryNode.segcore.interimIndex, type IVF_FLAT_CC): once a float, float16,
// bfloat16 or int8 vector field holds enough rows, a coarse quantizer of nlist centroids is trained
// on them, and from then on every full chunk of interimChunkRows rows is
// appended to the inverted lists in the background, off the insert path.
// A search probes the nprobe lists whose centroids are closest to the query
// and scores their rows exactly, and scans the rows not yet in the lists
// (the partial last chunk, or everything before training) by brute force.
// Deletes, MVCC visibility and filters apply through the same allowed
// bitset as the scan, and range windows through the same keys, so with
// nprobe = nlist the results equal the brute-force ones.

// interimChunkRows is how many rows one background step adds to the lists.
// It is a multiple of 64, so the indexed prefix ends on a bitset word.
const interimChunkRows = 1024

// InterimIndexConfig is queryNode.segcore.interimIndex.*.
type InterimIndexConfig struct {
	Enable bool // enableIndex
	NList  int  // nlist: centroids of the coarse quantizer
	NProbe int  // nprobe: lists probed when the request names none
	// BuildRatio (indexBuildRatio) times the rows of a full segment
	// (SegmentMaxBytes over the vector's row size) is the row count at
	// which the quantizer is trained.
	BuildRatio      float64
	SegmentMaxBytes int64 // dataCoord.segment.maxSize in bytes
}

// DefaultInterimIndexConfig is Milvus 2.6's: on, nlist 128, nprobe 16,
// trained at a tenth of a 1 GiB segment.
func DefaultInterimIndexConfig() InterimIndexConfig {
	return InterimIndexConfig{Enable: true, NList: 128, NProbe: 16, BuildRatio: 0.1, SegmentMaxBytes: 1024 << 20}
}

// Validate refuses a configuration the interim index cannot run with.
func (cfg InterimIndexConfig) Validate() error {
	if cfg.NList < 1 || cfg.NList > interimChunkRows {
		return fmt.Errorf("interim index: nlist %d out of [1, %d]", cfg.NList, interimChunkRows)
	}
	if cfg.NProbe < 1 || cfg.NProbe > cfg.NList {
		return fmt.Errorf("interim index: nprobe %d out of [1, nlist %d]", cfg.NProbe, cfg.NList)
	}
	if cfg.BuildRatio < 0 || cfg.BuildRatio >= 1 {
		return fmt.Errorf("interim index: indexBuildRatio %g out of [0, 1)", cfg.BuildRatio)
	}
	if cfg.SegmentMaxBytes < 0 {
		return fmt.Errorf("interim index: segment size %d is negative", cfg.SegmentMaxBytes)
	}
	return nil
}

// interimSet holds the interim indexes of a growing segment's dense vector
// fields.
type interimSet struct {
	fields map[int64]*interimIVF
	sparse map[int64]*sparseInterim // growing segments' sparse fields (interim_sparse.go)
	nprobe int
	wg     sync.WaitGroup // running builders (tests wait on it)

	typesMu sync.Mutex
	types   map[int64]string // growing: the index types SetIndexType was told
}

// newInterimSet returns the interim indexes for the layout's dense and
// sparse vector fields, or nil when the interim index is off or there is
// none. Each starts off: it builds once SetIndexType names a non-FLAT
// index on its field.
func newInterimSet(l *layout, cfg InterimIndexConfig) *interimSet {
	if !cfg.Enable {
		return nil
	}
	set := &interimSet{fields: map[int64]*interimIVF{}, nprobe: cfg.NProbe, types: map[int64]string{}}
	for _, fi := range l.order {
		var elem int64
		switch fi.typ {
		case schemapb.DataType_FloatVector:
			elem = 4
		case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
			elem = 2
		case schemapb.DataType_Int8Vector:
			elem = 1
		}
		if elem == 0 || fi.dim <= 0 {
			continue
		}
		rowBytes := int64(fi.dim) * elem
		at := int(cfg.BuildRatio * float64(cfg.SegmentMaxBytes/rowBytes))
		// At least one chunk and 8 rows a list (Milvus: nlist "must be
		// smaller than chunkRows/8"), in whole chunks.
		at = max(at, interimChunkRows, 8*cfg.NList)
		at = (at + interimChunkRows - 1) / interimChunkRows * interimChunkRows
		set.fields[fi.id] = &interimIVF{field: fi.id, dim: fi.dim, nlist: cfg.NList, trainAt: at}
	}
	set.sparse = newSparseInterims(l)
	if len(set.fields) == 0 && len(set.sparse) == 0 {
		return nil
	}
	return set
}

// interimIVF is the interim index of one field.
type interimIVF struct {
	field   int64
	dim     int
	nlist   int
	trainAt int // rows needed before the quantizer is trained (its training sample)
	// retryAt (guarded by mu): a nullable field with fewer than trainAt
	// valid rows tries training again at this many rows.
	retryAt int

	building atomic.Bool
	failed   atomic.Bool // training failed: the field stays brute force

	mu sync.RWMutex
	// on: the field's index may be answered from an interim index
	// (SetIndexType); off, nothing is built and the lists are freed.
	on bool
	// gen counts the resets (index dropped or made exact): a builder's
	// step computed before one is thrown away.
	gen   int
	cent  []float32 // nlist*dim; nil until trained
	cnorm []float32 // centroid norms (COSINE probing)
	// lists holds each list's row offsets, ascending: only the row
	// numbers, 4 bytes a row. A probe reads the rows' vectors in place
	// from the segment's column (rows below a snapshot's count never
	// change), so the index holds no second copy of the vectors.
	lists [][]int32
	rows  int // rows [0, rows) are in the lists; a multiple of interimChunkRows (a sealed segment: or all its rows)
}

// interimView is a consistent read of an interimIVF: lists capped at rows.
type interimView struct {
	cent, cnorm []float32
	lists       [][]int32
	rows        int
}

func (x *interimIVF) view() (interimView, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.cent == nil || x.rows == 0 {
		return interimView{}, false
	}
	lists := make([][]int32, len(x.lists))
	for i, l := range x.lists {
		lists[i] = l[:len(l):len(l)]
	}
	return interimView{cent: x.cent, cnorm: x.cnorm, lists: lists, rows: x.rows}, true
}

func (x *interimIVF) bytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := int64(len(x.cent)+len(x.cnorm)) * 4
	for _, l := range x.lists {
		b += int64(cap(l))*4 + 24
	}
	return b
}

// interimBytes is the memory the interim indexes hold.
func (c *core) interimBytes() int64 {
	if c.interim == nil {
		return 0
	}
	var b int64
	for _, x := range c.interim.fields {
		b += x.bytes()
	}
	for _, x := range c.interim.sparse {
		b += x.size()
	}
	return b
}

// InterimRows is how many of the segment's rows the interim index of a
// vector field holds (0: it has none, or has not been built yet).
func (c *core) InterimRows(field int64) int {
	if c.interim == nil {
		return 0
	}
	if x := c.interim.fields[field]; x != nil {
		x.mu.RLock()
		defer x.mu.RUnlock()
		if x.cent == nil {
			return 0
		}
		return x.rows
	}
	if x := c.interim.sparse[field]; x != nil {
		x.mu.RLock()
		defer x.mu.RUnlock()
		return x.rows
	}
	return 0
}

// SetIndexType tells a growing segment the type of the index the
// collection defines on a vector field ("" when it defines none). As in
// Milvus (a growing segment's field gets an interim index only when the
// collection's index meta names a non-FLAT index on it), the field's
// interim index is built only while that type is one an interim index may
// answer for (interimApplies): set to one, the index starts building over
// every row already held; set to "" or FLAT/BIN_FLAT (the index dropped or
// exact), what was built is freed. New segments start with no type.
func (g *Growing) SetIndexType(field int64, indexType string) {
	set := g.interim
	if set == nil {
		return
	}
	set.typesMu.Lock()
	set.types[field] = indexType
	set.typesMu.Unlock()
	on := interimApplies(indexType)
	changed := false
	if x := set.fields[field]; x != nil {
		changed = x.setOn(on) || changed
	}
	if x := set.sparse[field]; x != nil {
		changed = x.setOn(on) || changed
	}
	if changed && on {
		g.kickInterim()
	}
}

// setOn turns x on or off (off frees its lists) and reports whether that
// changed anything.
func (x *interimIVF) setOn(on bool) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.on == on {
		return false
	}
	x.on = on
	if !on {
		x.gen++
		x.cent, x.cnorm, x.lists, x.rows = nil, nil, nil, 0
		x.failed.Store(false)
	}
	return true
}

// kickInterim starts a background builder for every field whose index lags
// the segment by a full chunk (or that has reached its training size).
func (g *Growing) kickInterim() {
	set := g.interim
	if set == nil {
		return
	}
	for _, x := range set.fields {
		g.keepBuilding(set, x.due, &x.building, func() { g.buildInterim(x) })
	}
	for _, x := range set.sparse {
		g.keepBuilding(set, x.due, &x.building, func() { g.core.buildSparseInterim(context.Background(), x) })
	}
}

// keepBuilding starts one background builder for an interim index that
// is due and not already building; it builds until the index has caught
// up with the segment.
func (g *Growing) keepBuilding(set *interimSet, due func(n int) bool, building *atomic.Bool, build func()) {
	rows := func() int {
		g.mu.RLock()
		defer g.mu.RUnlock()
		return g.n
	}
	if !due(rows()) || !building.CompareAndSwap(false, true) {
		return
	}
	set.wg.Add(1)
	go func() {
		defer set.wg.Done()
		for {
			build()
			building.Store(false)
			// Rows appended while the flag was still up found it taken:
			// look again so they are not left out.
			if !due(rows()) || !building.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// due reports whether n rows give x work to do.
func (x *interimIVF) due(n int) bool {
	if x.failed.Load() {
		return false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.on {
		return false
	}
	if x.cent == nil {
		return n >= max(x.trainAt, x.retryAt)
	}
	return n-x.rows >= interimChunkRows
}

// buildInterim trains x if needed, then adds every full chunk published.
func (g *Growing) buildInterim(x *interimIVF) { g.core.buildInterim(context.Background(), x) }

// buildInterim trains x if needed, then adds every full chunk of the
// snapshot's rows (a sealed segment's last, partial chunk too), one chunk
// per step, until ctx ends.
func (g *core) buildInterim(ctx context.Context, x *interimIVF) {
	for {
		if ctx.Err() != nil {
			return
		}
		s := g.snapshot()
		col, err := s.Column(x.field)
		if err != nil {
			x.failed.Store(true)
			slog.Warn("interim index: no column", "segment", g.id, "field", x.field, "err", err)
			return
		}
		rowsOf, ok := interimRowsOf(col, x.dim)
		if !ok {
			x.failed.Store(true)
			return
		}
		full := s.n / interimChunkRows * interimChunkRows
		if g.sealed {
			full = s.n // nothing more comes: the last chunk may be partial
		}
		// The centroids are read under the lock with the generation: a
		// reset (setOn) may drop them meanwhile; the generation check
		// below then discards this step.
		x.mu.RLock()
		cent, rows, gen, on := x.cent, x.rows, x.gen, x.on
		x.mu.RUnlock()
		trained := cent != nil
		if !on {
			return
		}
		if !trained {
			if full < x.trainAt {
				return
			}
			var cent []float32
			var err error
			if nulls := nullRows(col, full); nulls == nil {
				// The quantizer trains on a sample of the first trainAt
				// rows: only the sample is copied out of the chunks.
				cent, err = index.KMeansL2Rows(ctx, x.trainAt, func(i int) []float32 { return rowsOf(i, i+1) }, x.dim, x.nlist, uint64(g.id))
			} else {
				// A nullable field trains on valid rows only (a null
				// row's zeros would pull the centroids to the origin):
				// the first trainAt valid ones, or, while there are too
				// few, again a chunk later.
				sample := validSample(rowsOf, nulls, full, x.dim, x.trainAt)
				if len(sample) < x.trainAt*x.dim && !g.sealed {
					x.mu.Lock()
					x.retryAt = full + interimChunkRows
					x.mu.Unlock()
					return
				}
				if len(sample) < x.nlist*x.dim {
					x.failed.Store(true) // a sealed segment with fewer valid rows than lists
					return
				}
				cent, err = index.KMeansL2(ctx, sample, x.dim, x.nlist, uint64(g.id))
			}
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				x.failed.Store(true)
				slog.Warn("interim index: training failed", "segment", g.id, "field", x.field, "err", err)
				return
			}
			cnorm := make([]float32, x.nlist)
			for i := range cnorm {
				cnorm[i] = float32(math.Sqrt(float64(distance.Dot(cent[i*x.dim:(i+1)*x.dim], cent[i*x.dim:(i+1)*x.dim]))))
			}
			x.mu.Lock()
			if x.gen == gen {
				x.cent, x.cnorm, x.lists = cent, cnorm, make([][]int32, x.nlist)
			}
			x.mu.Unlock()
			continue
		}
		if full <= rows {
			return
		}
		// One chunk at a time, so searches see the lists grow and the lock
		// is held briefly.
		hi := min(rows+interimChunkRows, full)
		assign := make([]int32, hi-rows)
		data := rowsOf(rows, hi)
		index.AssignL2(data, x.dim, cent, assign)
		x.mu.Lock()
		if x.gen != gen {
			x.mu.Unlock()
			continue // reset meanwhile: look again
		}
		for i, l := range assign {
			x.lists[l] = append(x.lists[l], int32(rows+i))
		}
		x.rows = hi
		x.mu.Unlock()
	}
}

// validSample returns the first want valid rows among the first n (fewer
// if there are not as many) of a column read through rowsOf.
func validSample(rowsOf func(lo, hi int) []float32, nulls *bitset.Set, n, dim, want int) []float32 {
	out := make([]float32, 0, want*dim)
	for i := range n {
		if len(out) == want*dim {
			break
		}
		if !nulls.Test(i) {
			out = append(out, rowsOf(i, i+1)...)
		}
	}
	return out
}

// interimRowsOf returns how the interim index reads a dense vector
// column, contiguous (sealed) or chunked (growing): rowsOf(lo, hi) gives
// rows [lo, hi) as float32s, float16, bfloat16 and int8 rows converted as
// the scan converts them. Float rows within one run of storage (a step of
// interimChunkRows is one chunk) are shared, not copied. ok is false for a
// column of another type.
func interimRowsOf(col column.Column, dim int) (rowsOf func(lo, hi int) []float32, ok bool) {
	switch vectorShape(col).(type) {
	case *column.FloatVector:
		rowsOf = func(lo, hi int) []float32 {
			run, base, end := vectorRun(col, lo)
			if hi <= end {
				return run.(*column.FloatVector).Data[(lo-base)*dim : (hi-base)*dim]
			}
			out := make([]float32, 0, (hi-lo)*dim)
			for i := lo; i < hi; {
				run, base, end := vectorRun(col, i)
				out = append(out, run.(*column.FloatVector).Data[(i-base)*dim:(min(hi, end)-base)*dim]...)
				i = end
			}
			return out
		}
	case *column.ByteVector:
		rowsOf = func(lo, hi int) []float32 {
			out := make([]float32, (hi-lo)*dim)
			for i := lo; i < hi; i++ {
				run, base, _ := vectorRun(col, i)
				convertRow(run.(*column.ByteVector), i-base, out[(i-lo)*dim:(i-lo+1)*dim])
			}
			return out
		}
	default:
		return nil, false
	}
	return rowsOf, true
}

// waitInterim blocks until no builder runs (tests).
func (g *Growing) waitInterim() {
	if g.interim != nil {
		g.interim.wg.Wait()
	}
}

// interimNProbe is the request's nprobe (capped at nlist), else the
// configured one.
func (set *interimSet) nprobeFor(params map[string]string, nlist int) int {
	np := set.nprobe
	if v, ok := params["nprobe"]; ok {
		if p, err := strconv.Atoi(v); err == nil && p >= 1 {
			np = p
		}
	}
	return min(np, nlist)
}

// searchInterim answers a plain top-k or range search of a dense vector
// field from the interim index and a scan of the rows it does not hold. It
// reports false, doing nothing, where the interim index does not apply.
func (c *core) searchInterim(ctx context.Context, s *snapshot, fi *fieldInfo, metric index.Metric, win index.RangeWindow, req *SearchRequest, allowed *bitset.Set, res *SearchResult) (bool, error) {
	if c.interim == nil || req.Exact || req.After != nil || !interimApplies(req.IndexType) {
		return false, nil
	}
	x := c.interim.fields[fi.id]
	if x == nil || (metric != index.L2 && metric != index.IP && metric != index.Cosine) {
		return false, nil
	}
	v, ok := x.view()
	if !ok || !useIndex(allowed, s.n, c.indexMinAllowed) {
		return false, nil
	}
	rows := min(v.rows, s.n/64*64)
	b, err := c.newScan(s, fi, metric, win, req.Queries, req.Params.Params, allowed)
	if err != nil {
		return false, err
	}
	nq, k := res.NQ, res.K

	tailKeys, tailOffs, err := c.scanTail(ctx, b, allowed, rows, nq, k)
	if err != nil {
		return false, err
	}

	nprobe := c.interim.nprobeFor(req.Params.Params, x.nlist)
	aw := allowed.Words()
	one := func(q int, scores []float32, order []int, sc *rowScorer, mark []uint64) error {
		col := newCollector(k)
		for i := q * k; i < (q+1)*k && tailOffs[i] >= 0; i++ {
			col.push(tailKeys[i], tailOffs[i])
		}
		qv := b.qf[q*b.dim : (q+1)*b.dim]
		switch metric {
		case index.L2:
			distance.L2SqBatch(qv, v.cent, scores)
		default:
			distance.DotBatch(qv, v.cent, scores)
			for i := range scores {
				if metric == index.Cosine {
					scores[i] = cosine(scores[i], v.cnorm[i])
				}
				scores[i] = -scores[i]
			}
		}
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			if scores[a] != scores[b] {
				if scores[a] < scores[b] {
					return -1
				}
				return 1
			}
			return a - b
		})
		// The probed lists' rows are marked, then scored in ascending row
		// order, as the brute-force scan scores a row (the same distance
		// functions and conversions, so the same keys), reading them in
		// place from the snapshot's column: a chunk's marked rows are
		// scored together by the row kernels, prefetched a few rows ahead
		// (rowScorer), walking the column forward.
		for _, l := range order[:nprobe] {
			for _, r32 := range v.lists[l] {
				if r := int(r32); r < rows {
					mark[r>>6] |= 1 << (uint(r) & 63)
				}
			}
		}
		sc.reset()
		cols := []*collector{col}
		for wi := range mark {
			if wi&1023 == 0 {
				if err := ctx.Err(); err != nil {
					clear(mark[wi:]) // the worker's next query starts clear
					return err
				}
			}
			w := mark[wi] & aw[wi]
			mark[wi] = 0
			for ; w != 0; w &= w - 1 {
				sc.add(wi<<6|bits.TrailingZeros64(w), qv, cols, b.win)
			}
		}
		sc.collect(qv, cols, b.win)
		col.drain(res.Scores[q*k:(q+1)*k], res.Offsets[q*k:(q+1)*k])
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), nq)
	errsOut := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			scores, order := make([]float32, x.nlist), make([]int, x.nlist)
			sc := newRowScorer(b.col, metric, b.dim, b.norms)
			mark := make([]uint64, rows/64) // rows is a multiple of 64
			for q := w; q < nq; q += workers {
				if err := one(q, scores, order, sc, mark); err != nil {
					errsOut[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errsOut {
		if err != nil {
			return false, fmt.Errorf("segment %d: search: %w", c.id, err)
		}
	}
	if metric.HigherIsBetter() {
		for i, off := range res.Offsets {
			if off >= 0 {
				res.Scores[i] = -res.Scores[i]
			}
		}
	}
	return true, nil
}

// Sealed segments loaded before their index is built (a flushed segment is
// handed to the shard at once and reloaded with its index later) get an
// interim index too, as Milvus 2.6 builds one ("binlog index",
// ChunkedSegmentSealedImpl::generate_interim_index) for a vector field of
// a sealed segment without its index whose collection index is a non-FLAT
// one, once the segment holds max(indexBuildRatio x its rows, 39 x nlist)
// rows: for float, float16 and bfloat16 fields the same IVF lists as a
// growing segment's, for sparse fields the same inverted index
// (interim_sparse.go), each over every row including the last partial
// chunk. The query node builds them before the segment serves (as Milvus
// does while loading a field), so its answers do not change while it
// serves; a build stopped early leaves the rest to an exact scan.

// PrepareInterim sets up the interim indexes of the segment's vector
// fields that have no index and whose collection index, in types (field
// ID -> index type, "" or absent for none), is one an interim index may
// answer for, and reports whether there is any to build (BuildInterim).
// Call it before the segment is shared.
func (s *Sealed) PrepareInterim(cfg InterimIndexConfig, types map[int64]string) bool {
	if !cfg.Enable || s.interim != nil {
		return false
	}
	if s.n < max(int(cfg.BuildRatio*float64(s.n)), 39*cfg.NList) {
		return false // Milvus's GetBuildThreshold
	}
	set := &interimSet{fields: map[int64]*interimIVF{}, sparse: map[int64]*sparseInterim{}, nprobe: cfg.NProbe}
	for _, fi := range s.layout.order {
		if s.indexes[fi.id] != nil || !interimApplies(types[fi.id]) {
			continue
		}
		switch fi.typ {
		case schemapb.DataType_FloatVector, schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
			if fi.dim <= 0 || fi.nullable {
				continue
			}
			set.fields[fi.id] = &interimIVF{field: fi.id, dim: fi.dim, nlist: cfg.NList, trainAt: min(s.n, 256*cfg.NList), on: true}
		case schemapb.DataType_SparseFloatVector:
			// Null rows are empty: they have no postings, and the
			// search's allowed rows leave them out.
			set.sparse[fi.id] = &sparseInterim{field: fi.id, postings: map[uint32][]sparsePosting{}, on: true}
		default:
			continue // Milvus's sealed interim index skips int8 and binary vectors
		}
	}
	if len(set.fields) == 0 && len(set.sparse) == 0 {
		return false
	}
	s.interim = set
	return true
}

// BuildInterim builds the interim indexes PrepareInterim set up, field by
// field, until done or ctx ends. The caller keeps the segment's columns
// mapped until it returns.
func (s *Sealed) BuildInterim(ctx context.Context) {
	if s.interim == nil {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(s.interim.fields)) {
		x := s.interim.fields[id]
		if !x.building.CompareAndSwap(false, true) {
			continue
		}
		s.buildInterim(ctx, x)
		x.building.Store(false)
	}
	for _, id := range slices.Sorted(maps.Keys(s.interim.sparse)) {
		x := s.interim.sparse[id]
		if !x.building.CompareAndSwap(false, true) {
			continue
		}
		s.buildSparseInterim(ctx, x)
		x.building.Store(false)
	}
}

// interimApplies reports whether a field whose collection index is of
// type indexType may be answered from an interim index: as in Milvus, only
// when the collection defines an index on it and that index is not an
// exact one (FLAT, BIN_FLAT).
func interimApplies(indexType string) bool {
	return indexType != "" && indexType != "FLAT" && indexType != "BIN_FLAT"
}

// scanTail scores exactly the allowed rows at or past rows, the ones an
// interim index does not hold yet: nq*k keys and offsets, -1 past the hits.
func (c *core) scanTail(ctx context.Context, b *bfScan, allowed *bitset.Set, rows, nq, k int) ([]float32, []int64, error) {
	tail := allowed.Clone()
	clear(tail.Words()[:rows/64])
	tb := *b
	tb.allowed = tail
	keys, offs := make([]float32, nq*k), make([]int64, nq*k)
	if err := tb.run(ctx, nq, k, offs, keys); err != nil {
		return nil, nil, fmt.Errorf("segment %d: search: %w", c.id, err)
	}
	return keys, offs, nil
}
