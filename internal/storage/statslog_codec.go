package storage

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Limits a stats log must respect; they keep a corrupt file from asking the
// decoder for absurd amounts of memory or work.
const (
	maxBloomHashes = 64
	maxBloomBits   = 1 << 40
)

const flagHasBounds = 1 << 0

// statsFlagCentroids, in a stats log's header, says a centroid section
// follows the bloom filters (Stats.Centroids).
const statsFlagCentroids = 1 << 0

// maxCentroidDim bounds a centroid's dimension as Milvus bounds vectors.
const maxCentroidDim = 32768

// EncodeStats encodes st as a stats log (docs/format/statslog.md).
func EncodeStats(st *Stats) ([]byte, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	if st == nil {
		return nil, fmt.Errorf("storage: encode nil stats")
	}
	if st.PK.Type != schemapb.DataType_None && st.PK.Type != schemapb.DataType_Int64 && st.PK.Type != schemapb.DataType_VarChar {
		return nil, fmt.Errorf("storage: encode stats: primary key type %s is neither Int64 nor VarChar", st.PK.Type)
	}
	if st.Rows < 0 {
		return nil, fmt.Errorf("storage: encode stats: negative row count %d", st.Rows)
	}
	h := header{magic: magicStats, dataType: int32(st.PK.Type), rows: st.Rows}
	w := newWriter(nil, 256)
	if err := w.fieldStats(st.PK); err != nil {
		return nil, fmt.Errorf("storage: encode stats: primary key: %w", err)
	}
	ids := make([]int64, 0, len(st.Fields))
	for id := range st.Fields {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.u64(uint64(len(ids)))
	for _, id := range ids {
		fs := st.Fields[id]
		if fs == nil {
			return nil, fmt.Errorf("storage: encode stats: field %d: nil stats", id)
		}
		w.u64(uint64(id))
		if err := w.fieldStats(*fs); err != nil {
			return nil, fmt.Errorf("storage: encode stats: field %d: %w", id, err)
		}
	}
	if len(st.Blooms) > 0 && st.PK.Type == schemapb.DataType_None {
		return nil, fmt.Errorf("storage: encode stats: bloom filters without a primary key type")
	}
	w.u64(uint64(len(st.Blooms)))
	for _, bf := range st.Blooms {
		if bf == nil || bf.Cap() > maxBloomBits || bf.K() == 0 || bf.K() > maxBloomHashes {
			return nil, fmt.Errorf("storage: encode stats: bloom filter outside the format's limits")
		}
		words := bf.BitSet().Words()
		need := (bf.Cap() + 63) / 64
		if uint(len(words)) < need {
			return nil, fmt.Errorf("storage: encode stats: bloom filter of %d bits has %d words", bf.Cap(), len(words))
		}
		w.u64(uint64(bf.Cap()))
		w.u64(uint64(bf.K()))
		w.b = append(w.b, bytesOf(words[:need])...)
	}
	if len(st.Centroids) > 0 {
		h.flags |= statsFlagCentroids
		if err := w.centroids(st.Centroids); err != nil {
			return nil, fmt.Errorf("storage: encode stats: %w", err)
		}
	}
	return w.finish(h), nil
}

// centroids writes the centroid section: the field count, then per field
// in ascending ID order its ID, dimension, centroid count and the
// centroids' float32 values.
func (w *writer) centroids(m map[int64][][]float32) error {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.u64(uint64(len(ids)))
	for _, id := range ids {
		cs := m[id]
		dim := 0
		if len(cs) > 0 {
			dim = len(cs[0])
		}
		if dim == 0 || dim > maxCentroidDim || len(cs) > math.MaxUint32 {
			return fmt.Errorf("field %d: %d centroids of dimension %d", id, len(cs), dim)
		}
		w.u64(uint64(id))
		w.u32(uint32(dim))
		w.u32(uint32(len(cs)))
		for _, c := range cs {
			if len(c) != dim {
				return fmt.Errorf("field %d: centroids of dimensions %d and %d", id, dim, len(c))
			}
			for _, v := range c {
				w.u32(math.Float32bits(v))
			}
		}
	}
	return nil
}

// centroids reads the centroid section centroids wrote.
func (c *cursor) centroids() map[int64][][]float32 {
	nf := c.u64("centroid field count")
	if c.err == nil && nf > uint64(len(c.b))/16 {
		c.err = corruptf("stats log: %d centroid fields cannot fit in %d bytes", nf, len(c.b))
	}
	out := map[int64][][]float32{}
	prev := int64(math.MinInt64)
	for i := uint64(0); i < nf && c.err == nil; i++ {
		id := int64(c.u64("centroid field id"))
		dim, n := uint64(c.u32("centroid dimension")), uint64(c.u32("centroid count"))
		if c.err != nil {
			break
		}
		switch {
		case i > 0 && id <= prev:
			c.err = corruptf("stats log: centroid field ids not ascending at %d", id)
		case dim == 0 || dim > maxCentroidDim || n == 0:
			c.err = corruptf("stats log: field %d: %d centroids of dimension %d", id, n, dim)
		case n*dim > uint64(len(c.b))/4:
			c.err = corruptf("stats log: field %d: %d centroids of dimension %d cannot fit in %d bytes", id, n, dim, len(c.b))
		}
		if c.err != nil {
			break
		}
		prev = id
		p := c.take(4*n*dim, "centroids")
		cs := make([][]float32, n)
		for j := range cs {
			cs[j] = make([]float32, dim)
			for k := range cs[j] {
				off := 4 * (uint64(j)*dim + uint64(k))
				cs[j][k] = math.Float32frombits(binary.LittleEndian.Uint32(p[off:]))
			}
		}
		out[id] = cs
	}
	return out
}

func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }

func (w *writer) str(s string) {
	w.u32(uint32(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) fieldStats(fs FieldStats) error {
	k := kindOf(fs.Type)
	if k == kindNone && fs.Type != schemapb.DataType_None {
		return fmt.Errorf("type %s has no bounds", fs.Type)
	}
	if fs.Type == schemapb.DataType_None && fs.HasBounds {
		return fmt.Errorf("bounds without a type")
	}
	if fs.Rows < 0 || fs.Nulls < 0 || fs.Nulls > fs.Rows {
		return fmt.Errorf("%d nulls in %d rows", fs.Nulls, fs.Rows)
	}
	if fs.HasBounds {
		switch k {
		case kindInt:
			if fs.MinInt > fs.MaxInt {
				return fmt.Errorf("min %d above max %d", fs.MinInt, fs.MaxInt)
			}
		case kindFloat:
			if !(fs.MinFloat <= fs.MaxFloat) {
				return fmt.Errorf("float bounds [%v, %v] unordered or NaN", fs.MinFloat, fs.MaxFloat)
			}
		case kindString:
			if fs.MinStr > fs.MaxStr {
				return fmt.Errorf("min %q above max %q", fs.MinStr, fs.MaxStr)
			}
		}
	}
	var flags uint32
	if fs.HasBounds {
		flags |= flagHasBounds
	}
	w.u32(uint32(fs.Type))
	w.u32(flags)
	w.u64(uint64(fs.Rows))
	w.u64(uint64(fs.Nulls))
	if !fs.HasBounds {
		return nil
	}
	switch k {
	case kindInt:
		w.u64(uint64(fs.MinInt))
		w.u64(uint64(fs.MaxInt))
	case kindFloat:
		w.u64(math.Float64bits(fs.MinFloat))
		w.u64(math.Float64bits(fs.MaxFloat))
	case kindString:
		if len(fs.MinStr) > math.MaxUint32 || len(fs.MaxStr) > math.MaxUint32 {
			return fmt.Errorf("bound longer than 4 GiB")
		}
		w.str(fs.MinStr)
		w.str(fs.MaxStr)
	}
	return nil
}

// cursor reads the sequential, unaligned fields of a stats payload.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) take(n uint64, what string) []byte {
	if c.err != nil {
		return nil
	}
	if n > uint64(len(c.b)) {
		c.err = corruptf("stats log: %s needs %d bytes, %d left", what, n, len(c.b))
		return nil
	}
	p := c.b[:n]
	c.b = c.b[n:]
	return p
}

func (c *cursor) u32(what string) uint32 {
	if p := c.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (c *cursor) u64(what string) uint64 {
	if p := c.take(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (c *cursor) str(what string) string {
	n := c.u32(what + " length")
	return string(c.take(uint64(n), what))
}

// DecodeStats decodes a stats log written by EncodeStats, returning an error
// wrapping ErrCorrupt for malformed input. The result never aliases data.
func DecodeStats(data []byte) (*Stats, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	h, err := readHeader(data, magicStats)
	if err != nil {
		return nil, err
	}
	if h.flags&^statsFlagCentroids != 0 || h.elemType != 0 || h.dim != 0 {
		return nil, corruptf("stats log: unused header fields are not zero")
	}
	c := &cursor{b: data[headerSize:]}
	st := &Stats{Rows: h.rows, Fields: make(map[int64]*FieldStats)}
	st.PK = c.fieldStats("primary key")
	if c.err == nil && int32(st.PK.Type) != h.dataType {
		return nil, corruptf("stats log: header says primary key type %d, record says %d", h.dataType, st.PK.Type)
	}
	switch st.PK.Type {
	case schemapb.DataType_None, schemapb.DataType_Int64, schemapb.DataType_VarChar:
	default:
		return nil, corruptf("stats log: primary key type %s is neither Int64 nor VarChar", st.PK.Type)
	}
	nf := c.u64("field count")
	if c.err == nil && nf > uint64(len(c.b))/24 {
		return nil, corruptf("stats log: %d fields cannot fit in %d bytes", nf, len(c.b))
	}
	prev := int64(math.MinInt64)
	for i := uint64(0); i < nf && c.err == nil; i++ {
		id := int64(c.u64("field id"))
		if i > 0 && id <= prev {
			return nil, corruptf("stats log: field ids not ascending at %d", id)
		}
		prev = id
		fs := c.fieldStats(fmt.Sprintf("field %d", id))
		st.Fields[id] = &fs
	}
	nb := c.u64("bloom count")
	if c.err == nil && nb > 0 && st.PK.Type == schemapb.DataType_None {
		return nil, corruptf("stats log: bloom filters without a primary key type")
	}
	if c.err == nil && nb > uint64(len(c.b))/16 {
		return nil, corruptf("stats log: %d bloom filters cannot fit in %d bytes", nb, len(c.b))
	}
	for i := uint64(0); i < nb && c.err == nil; i++ {
		m, k := c.u64("bloom bits"), c.u64("bloom hashes")
		if c.err != nil {
			break
		}
		if m == 0 || m > maxBloomBits || k == 0 || k > maxBloomHashes {
			return nil, corruptf("stats log: bloom filter %d: %d bits, %d hashes", i, m, k)
		}
		nw := (m + 63) / 64
		p := c.take(8*nw, "bloom words")
		if c.err != nil {
			break
		}
		bf := bloom.New(uint(m), uint(k))
		if bf == nil || bf.Cap() > maxBloomBits || bf.K() == 0 || bf.K() > maxBloomHashes {
			return nil, fmt.Errorf("storage: encode stats: bloom filter outside the format's limits")
		}
		words := bf.BitSet().Words()
		if uint64(len(words)) != nw {
			return nil, corruptf("stats log: bloom filter %d: %d words for %d bits", i, len(words), m)
		}
		copy(bytesOf(words), p)
		if tail := m % 64; tail != 0 && words[nw-1]>>tail != 0 {
			return nil, corruptf("stats log: bloom filter %d: bits set past bit %d", i, m)
		}
		st.Blooms = append(st.Blooms, bf)
	}
	if c.err == nil && h.flags&statsFlagCentroids != 0 {
		st.Centroids = c.centroids()
	}
	if c.err != nil {
		return nil, c.err
	}
	if len(c.b) != 0 {
		return nil, corruptf("stats log: %d trailing bytes", len(c.b))
	}
	return st, nil
}

func (c *cursor) fieldStats(what string) FieldStats {
	fs := FieldStats{Type: schemapb.DataType(int32(c.u32(what + " type")))}
	flags := c.u32(what + " flags")
	fs.Rows = int64(c.u64(what + " rows"))
	fs.Nulls = int64(c.u64(what + " nulls"))
	if c.err != nil {
		return fs
	}
	k := kindOf(fs.Type)
	switch {
	case k == kindNone && fs.Type != schemapb.DataType_None:
		c.err = corruptf("stats log: %s: type %d has no bounds", what, fs.Type)
	case flags&^flagHasBounds != 0:
		c.err = corruptf("stats log: %s: unknown flags %#x", what, flags)
	case fs.Rows < 0 || fs.Nulls < 0 || fs.Nulls > fs.Rows:
		c.err = corruptf("stats log: %s: %d nulls in %d rows", what, fs.Nulls, fs.Rows)
	case flags&flagHasBounds != 0 && k == kindNone:
		c.err = corruptf("stats log: %s: bounds without a type", what)
	}
	if c.err != nil || flags&flagHasBounds == 0 {
		return fs
	}
	fs.HasBounds = true
	ordered := true
	switch k {
	case kindInt:
		fs.MinInt, fs.MaxInt = int64(c.u64(what+" min")), int64(c.u64(what+" max"))
		ordered = fs.MinInt <= fs.MaxInt
	case kindFloat:
		fs.MinFloat = math.Float64frombits(c.u64(what + " min"))
		fs.MaxFloat = math.Float64frombits(c.u64(what + " max"))
		ordered = cmp.Compare(fs.MinFloat, fs.MaxFloat) <= 0 && !math.IsNaN(fs.MinFloat) && !math.IsNaN(fs.MaxFloat)
	case kindString:
		fs.MinStr, fs.MaxStr = c.str(what+" min"), c.str(what+" max")
		ordered = fs.MinStr <= fs.MaxStr
	}
	if c.err == nil && !ordered {
		c.err = corruptf("stats log: %s: min above max", what)
	}
	return fs
}
