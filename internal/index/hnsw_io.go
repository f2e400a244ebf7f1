package index

import (
	"fmt"
	"io"
	"math"
)

// hnswVersion is the HNSW and HNSW_SQ payload version (docs/format/index.md).
const hnswVersion = 1

// Payload flags.
const (
	hnswFlagFloats = 1 << 0 // float vectors present
	hnswFlagSQ8    = 1 << 1 // SQ8 section present
)

// WriteTo writes the header, the graph and the vectors or codes. Sections
// that a loader aliases are padded to 4 bytes (links) or 64 bytes (vectors).
func (h *hnswIndex) WriteTo(w io.Writer) (int64, error) {
	name := h.typeName()
	if !h.built {
		return 0, fmt.Errorf("write %s: %w", name, ErrNotBuilt)
	}
	e := newPayloadEnc(w, name, hnswVersion)
	writeSpec(e, h.spec)
	var flags uint32
	if h.vecs != nil {
		flags |= hnswFlagFloats
	}
	if h.sq != nil {
		flags |= hnswFlagSQ8
	}
	e.u32(uint32(h.dim))
	e.u64(uint64(h.n))
	e.u32(uint32(h.m))
	e.u32(uint32(h.efC))
	e.u32(uint32(int32(h.maxLevel)))
	e.u32(h.entry)
	e.u32(flags)
	e.raw(h.levels)
	e.pad(4)
	e.u32s(h.links0)
	e.u64(uint64(len(h.upper)))
	e.u32s(h.upper)
	if h.vecs != nil {
		e.pad(64)
		e.f32s(h.vecs)
	}
	if h.sq != nil {
		e.pad(4)
		e.f32s(h.sq.vmin)
		e.f32s(h.sq.scale)
		e.f32s(h.sq.norms)
		e.raw(h.sq.codes)
	}
	return e.finish()
}

func loadHNSW(data []byte) (Index, error)   { return loadHNSWType(data, TypeHNSW) }
func loadHNSWSQ(data []byte) (Index, error) { return loadHNSWType(data, TypeHNSWSQ) }

// loadHNSWType reads a payload written by WriteTo, aliasing the links,
// vectors and codes in data where alignment allows. Every count and id is
// checked, so garbage yields ErrCorrupt and never a panic at search time.
func loadHNSWType(data []byte, typ string) (Index, error) {
	idx, err := decodeHNSW(data, typ)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", typ, err)
	}
	return idx, nil
}

func decodeHNSW(data []byte, typ string) (*hnswIndex, error) {
	d, err := newPayloadDec(data, typ, hnswVersion)
	if err != nil {
		return nil, err
	}
	spec := readSpec(d, typ)
	dim := d.u32("dim")
	n := d.u64("row count")
	m := d.u32("M")
	efC := d.u32("efConstruction")
	maxLevel := int32(d.u32("max level"))
	entry := d.u32("entry point")
	flags := d.u32("flags")
	if d.err != nil {
		return nil, d.err
	}
	if dim == 0 || dim > maxDim || m < 2 || m > 2048 || n >= math.MaxUint32 || n > uint64(len(data)) {
		return nil, fmt.Errorf("header dim=%d n=%d M=%d: %w", dim, n, m, ErrCorrupt)
	}
	if err := checkFloatMetric(spec.Metric); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrCorrupt)
	}
	wantSQ := typ == TypeHNSWSQ
	if (flags&hnswFlagSQ8 != 0) != wantSQ || (!wantSQ && flags&hnswFlagFloats == 0) || flags&^3 != 0 {
		return nil, fmt.Errorf("flags %#x for %s: %w", flags, typ, ErrCorrupt)
	}
	h := &hnswIndex{
		spec: spec, dim: int(dim), n: int(n), m: int(m), m0: 2 * int(m), efC: int(efC),
		maxLevel: int(maxLevel), entry: entry, built: true,
	}
	h.spec.Dim = h.dim
	h.levels = d.bytes(n, "levels")
	d.pad(4)
	if d.err == nil && (n*uint64(h.m0+1) > uint64(len(data))/4) {
		d.fail("level-0 links")
	}
	h.links0 = d.u32s(n*uint64(h.m0+1), "level-0 links")
	nUpper := d.u64("upper link count")
	if d.err == nil && nUpper > uint64(len(data))/4 {
		d.fail("upper links")
	}
	h.upper = d.u32s(nUpper, "upper links")
	if flags&hnswFlagFloats != 0 {
		d.pad(64)
		if d.err == nil && n*uint64(dim) > uint64(len(data))/4 {
			d.fail("vectors")
		}
		h.vecs = d.f32s(n*uint64(dim), "vectors")
	}
	if wantSQ {
		d.pad(4)
		h.sq = &sq8{}
		h.sq.vmin = d.f32s(uint64(dim), "sq min")
		h.sq.scale = d.f32s(uint64(dim), "sq scale")
		h.sq.norms = d.f32s(n, "sq norms")
		if d.err == nil && n*uint64(dim) > uint64(len(data)) {
			d.fail("sq codes")
		}
		h.sq.codes = d.bytes(n*uint64(dim), "sq codes")
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	if err := h.checkGraph(nUpper); err != nil {
		return nil, err
	}
	h.mode = modeL2
	if spec.Metric != L2 {
		h.mode = modeIP
	}
	if wantSQ {
		h.mode += modeSQL2
		h.refine = h.vecs != nil
	}
	return h, nil
}

// checkGraph validates levels, the entry point and every link list.
func (h *hnswIndex) checkGraph(nUpper uint64) error {
	if h.n == 0 {
		if h.maxLevel != -1 {
			return fmt.Errorf("empty graph with max level %d: %w", h.maxLevel, ErrCorrupt)
		}
		return nil
	}
	if h.maxLevel < 0 || h.maxLevel > hnswMaxLevel || int(h.entry) >= h.n || int(h.levels[h.entry]) != h.maxLevel {
		return fmt.Errorf("entry point %d at level %d: %w", h.entry, h.maxLevel, ErrCorrupt)
	}
	h.upperOff = make([]uint32, h.n)
	total := uint64(0)
	for i, l := range h.levels {
		if int(l) > h.maxLevel {
			return fmt.Errorf("node %d level %d above max %d: %w", i, l, h.maxLevel, ErrCorrupt)
		}
		h.upperOff[i] = uint32(total)
		total += uint64(l) * uint64(h.m+1)
		if total > nUpper {
			return fmt.Errorf("upper links: %w", ErrCorrupt)
		}
	}
	if total != nUpper {
		return fmt.Errorf("upper links: %d slots, levels need %d: %w", nUpper, total, ErrCorrupt)
	}
	check := func(slab []uint32, stride, maxCount int) error {
		for base := 0; base < len(slab); base += stride {
			c := int(slab[base])
			if c > maxCount {
				return fmt.Errorf("link list of %d entries (max %d): %w", c, maxCount, ErrCorrupt)
			}
			for _, id := range slab[base+1 : base+1+c] {
				if int(id) >= h.n {
					return fmt.Errorf("link to node %d of %d: %w", id, h.n, ErrCorrupt)
				}
			}
		}
		return nil
	}
	if err := check(h.links0, h.m0+1, h.m0); err != nil {
		return err
	}
	if err := check(h.upper, h.m+1, h.m); err != nil {
		return err
	}
	// An upper-level link must point at a node that lives on that level.
	for i, top := range h.levels {
		for l := 1; l <= int(top); l++ {
			for _, id := range h.neighbors(uint32(i), l) {
				if int(h.levels[id]) < l {
					return fmt.Errorf("level-%d link from node %d to node %d of level %d: %w", l, i, id, h.levels[id], ErrCorrupt)
				}
			}
		}
	}
	return nil
}
