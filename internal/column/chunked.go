package column

import "github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

// Chunked holds a fixed-width vector column (FloatVector or ByteVector
// rows) in chunks of a fixed number of rows: a growing segment's vectors.
// Appending never moves a stored row: a full chunk stays where it is and
// the next rows go to a new one, so the column costs its size, where one
// contiguous slice reallocated as it grows holds the old and the new
// buffer while it copies (1.5x to 3x the data at the peak).
//
// Every chunk but the last is full. The first chunk grows by doubling up to
// the chunk size (a segment of a few rows does not hold a whole chunk);
// every later chunk is allocated whole.
//
// A Chunked made by NewChunked is the owner: only it is appended to. Slice
// returns views that share its full chunks and get a header of their own
// for the partial last one, so a view stays valid, and free of data races,
// while the owner keeps appending.
type Chunked struct {
	proto     Column   // empty *FloatVector or *ByteVector: type and dimension
	chunkRows int      // rows of a full chunk
	full      []Column // full chunks, never modified again
	tail      Column   // the partial last chunk (nil when none): the owner appends here
	off       int      // rows of the first chunk before this column's row 0 (views)
	n         int      // rows
	// nullable is set once an appended batch had a validity mask: Take
	// then returns one, as a contiguous column's would.
	nullable bool
}

// NewChunked returns an empty chunked column of proto's type and dimension
// (an empty *FloatVector or *ByteVector) with chunks of chunkRows rows.
func NewChunked(proto Column, chunkRows int) *Chunked {
	switch proto.(type) {
	case *FloatVector, *ByteVector:
	default:
		panic("column: Chunked holds fixed-width vectors only")
	}
	return &Chunked{proto: proto.Empty(), chunkRows: max(chunkRows, 1)}
}

// Proto is an empty column of the chunks' concrete type, dimension and
// vector type.
func (c *Chunked) Proto() Column { return c.proto }

// DataType implements Column.
func (c *Chunked) DataType() schemapb.DataType { return c.proto.DataType() }

// Len implements Column.
func (c *Chunked) Len() int { return c.n }

// chunk returns the k-th chunk.
func (c *Chunked) chunk(k int) Column {
	if k < len(c.full) {
		return c.full[k]
	}
	return c.tail
}

// Run returns the chunk holding row i, as a column whose row r is this
// column's row base+r, and end, the first row past it (capped at Len):
// rows [max(base, 0), end) are read from chunk at row - base. It never
// allocates.
func (c *Chunked) Run(i int) (chunk Column, base, end int) {
	g := i + c.off
	k := g / c.chunkRows
	chunk = c.chunk(k)
	base = k*c.chunkRows - c.off
	return chunk, base, min(base+chunk.Len(), c.n)
}

// IsNull implements Column.
func (c *Chunked) IsNull(i int) bool {
	ch, base, _ := c.Run(i)
	return ch.IsNull(i - base)
}

// Take implements Column: a contiguous column of the chunks' type.
func (c *Chunked) Take(idx []int) Column {
	var valid []bool
	if c.nullable {
		valid = make([]bool, len(idx))
		for j, i := range idx {
			valid[j] = !c.IsNull(i)
		}
	}
	switch p := c.proto.(type) {
	case *FloatVector:
		out := &FloatVector{Dim: p.Dim, Data: make([]float32, 0, len(idx)*p.Dim), Valid: valid}
		for _, i := range idx {
			ch, base, _ := c.Run(i)
			out.Data = append(out.Data, ch.(*FloatVector).Row(i-base)...)
		}
		return out
	default:
		p2 := c.proto.(*ByteVector)
		out := &ByteVector{Type: p2.Type, Dim: p2.Dim, Data: make([]byte, 0, len(idx)*p2.RowBytes()), Valid: valid}
		for _, i := range idx {
			ch, base, _ := c.Run(i)
			out.Data = append(out.Data, ch.(*ByteVector).Row(i-base)...)
		}
		return out
	}
}

// Slice implements Column: a view sharing the chunks.
func (c *Chunked) Slice(lo, hi int) Column {
	if hi == lo {
		return &Chunked{proto: c.proto, chunkRows: c.chunkRows, nullable: c.nullable}
	}
	g0, g1 := c.off+lo, c.off+hi
	k0 := g0 / c.chunkRows
	v := &Chunked{proto: c.proto, chunkRows: c.chunkRows, off: g0 - k0*c.chunkRows, n: hi - lo, nullable: c.nullable}
	k1 := (g1 - 1) / c.chunkRows // chunk of the last row
	nf := len(c.full)
	v.full = c.full[min(k0, nf):min(k1+1, nf):min(k1+1, nf)]
	if k1 >= nf && c.tail != nil {
		// A header of the view's own: the owner keeps appending to its tail.
		v.tail = c.tail.Slice(0, c.tail.Len())
	}
	return v
}

// Append implements Column. other is a column of the chunks' type or a
// Chunked of it; its rows are copied. Only the owner is appended to.
func (c *Chunked) Append(other Column) {
	if o, ok := other.(*Chunked); ok {
		c.nullable = c.nullable || o.nullable
		for i := 0; i < o.n; {
			ch, base, end := o.Run(i)
			c.Append(ch.Slice(i-base, end-base))
			i = end
		}
		return
	}
	m := other.Len()
	c.nullable = c.nullable || chunkValid(other) != nil
	for done := 0; done < m; {
		if c.tail == nil {
			rows := c.chunkRows
			if len(c.full) == 0 {
				rows = min(m-done, c.chunkRows) // the first chunk grows as needed
			}
			c.tail = c.proto.Empty()
			c.tail.(grower).grow(rows)
		}
		take := min(c.chunkRows-c.tail.Len(), m-done)
		if len(c.full) == 0 {
			c.growFirst(take)
		}
		c.tail.Append(other.Slice(done, done+take))
		done += take
		if c.tail.Len() == c.chunkRows {
			c.full = append(c.full, c.tail)
			c.tail = nil
		}
	}
	c.n += m
}

// growFirst gives the first chunk room for rows more, doubling it up to a
// whole chunk. The old storage is copied, never modified: views keep it.
func (c *Chunked) growFirst(rows int) {
	have, room := c.tail.Len(), chunkCap(c.tail)
	if have+rows <= room {
		return
	}
	want := min(max(have+rows, 2*room), c.chunkRows)
	switch t := c.tail.(type) {
	case *FloatVector:
		t.Data = append(make([]float32, 0, want*t.Dim), t.Data...)
	case *ByteVector:
		t.Data = append(make([]byte, 0, want*t.RowBytes()), t.Data...)
	}
}

// chunkCap is the rows a chunk has room for.
func chunkCap(c Column) int {
	switch t := c.(type) {
	case *FloatVector:
		if t.Dim > 0 {
			return cap(t.Data) / t.Dim
		}
	case *ByteVector:
		if w := t.RowBytes(); w > 0 {
			return cap(t.Data) / w
		}
	}
	return 0
}

// CapRows is the rows the column's storage has room for: the memory it
// holds is CapRows times the row width.
func (c *Chunked) CapRows() int {
	rows := len(c.full) * c.chunkRows
	if c.tail != nil {
		rows += chunkCap(c.tail)
	}
	return rows
}

// Empty implements Column: an empty owner with the same chunk size.
func (c *Chunked) Empty() Column { return NewChunked(c.proto, c.chunkRows) }

// chunkValid is a chunk's validity mask (nil: no null row).
func chunkValid(c Column) []bool {
	switch t := c.(type) {
	case *FloatVector:
		return t.Valid
	case *ByteVector:
		return t.Valid
	}
	return nil
}
