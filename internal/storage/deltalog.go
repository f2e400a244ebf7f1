package storage

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// Deltas is a batch of deletes: row i deletes primary key IntPKs[i] (Int64
// primary keys) or StrPKs[i] (VarChar primary keys) as of Timestamps[i].
// Exactly one of IntPKs and StrPKs is used; both empty means no deletes.
type Deltas struct {
	IntPKs     []int64
	StrPKs     []string
	Timestamps []uint64
}

// Len is the number of deletes.
func (d Deltas) Len() int { return len(d.Timestamps) }

// EncodeDeltas encodes d as a delta log (docs/format/deltalog.md).
func EncodeDeltas(d Deltas) ([]byte, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	n := len(d.Timestamps)
	if len(d.IntPKs) > 0 && len(d.StrPKs) > 0 {
		return nil, fmt.Errorf("storage: encode deltas: both Int64 and VarChar primary keys")
	}
	h := header{magic: magicDelta, dataType: int32(schemapb.DataType_Int64), rows: int64(n)}
	if len(d.StrPKs) > 0 {
		h.dataType = int32(schemapb.DataType_VarChar)
		if len(d.StrPKs) != n {
			return nil, fmt.Errorf("storage: encode deltas: %d primary keys for %d timestamps", len(d.StrPKs), n)
		}
		total := 0
		for _, s := range d.StrPKs {
			total += len(s)
		}
		w := newWriter(nil, align8(8*n)+8*(n+1)+align8(total))
		w.section(bytesOf(d.Timestamps))
		w.offsets(n, func(i int) int { return len(d.StrPKs[i]) })
		for _, s := range d.StrPKs {
			w.b = append(w.b, s...)
		}
		w.pad()
		return w.finish(h), nil
	}
	if len(d.IntPKs) != n {
		return nil, fmt.Errorf("storage: encode deltas: %d primary keys for %d timestamps", len(d.IntPKs), n)
	}
	w := newWriter(nil, 16*n)
	w.section(bytesOf(d.Timestamps))
	w.section(bytesOf(d.IntPKs))
	return w.finish(h), nil
}

// DecodeDeltas decodes a delta log written by EncodeDeltas, returning an
// error wrapping ErrCorrupt for malformed input. Unlike DecodeColumn it
// copies everything: deletes are few and are merged into long-lived
// in-memory structures, so the result never aliases data.
func DecodeDeltas(data []byte) (Deltas, error) {
	if !littleEndian {
		return Deltas{}, errBigEndian
	}
	h, err := readHeader(data, magicDelta)
	if err != nil {
		return Deltas{}, err
	}
	r := &reader{b: data, off: headerSize, what: "delta log"}
	if h.flags != 0 || h.elemType != 0 || h.dim != 0 {
		return Deltas{}, corruptf("delta log: unused header fields are not zero")
	}
	n := h.rows
	if n > int64(len(data)) {
		return Deltas{}, corruptf("delta log: %d deletes cannot fit in %d bytes", n, len(data))
	}
	ts, err := r.section(8*n, "timestamps")
	if err != nil {
		return Deltas{}, err
	}
	d := Deltas{Timestamps: copyOf[uint64](ts, int(n))}
	switch schemapb.DataType(h.dataType) {
	case schemapb.DataType_Int64:
		pks, err := r.section(8*n, "primary keys")
		if err != nil {
			return Deltas{}, err
		}
		d.IntPKs = copyOf[int64](pks, int(n))
	case schemapb.DataType_VarChar:
		off, err := r.offsets(n, "primary keys")
		if err != nil {
			return Deltas{}, err
		}
		if off[n] > uint64(len(data)) {
			return Deltas{}, corruptf("delta log: key blob of %d bytes runs past the end", off[n])
		}
		blob, err := r.section(int64(off[n]), "primary key blob")
		if err != nil {
			return Deltas{}, err
		}
		if n > 0 {
			arena := string(blob)
			d.StrPKs = make([]string, n)
			for i := range d.StrPKs {
				d.StrPKs[i] = arena[off[i]:off[i+1]]
			}
		}
	default:
		return Deltas{}, corruptf("delta log: primary key type %d is neither Int64 nor VarChar", h.dataType)
	}
	if err := r.done(); err != nil {
		return Deltas{}, err
	}
	return d, nil
}
