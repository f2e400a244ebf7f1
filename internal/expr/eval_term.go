package expr

import (
	"fmt"
	"math"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// `in` / `not in`: the value list is indexed once at Parse (termSet).

func (n *termNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	if res, valid, ok, err := n.evalIndexed(ec); ok || err != nil {
		return res, valid, err
	}
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	var res, valid *bitset.Set
	switch n.f.Type {
	case schemapb.DataType_JSON:
		res, valid, err = evalJSON(ec, c, n.f, func(r jsonVal) bool {
			if n.set.hasJSON(r) {
				return true
			}
			// Under a cast a string that reads as a number is also that
			// number.
			cr := castNumeric(n.f.Cast, r)
			return cr.kind != r.kind && n.set.hasJSON(cr)
		})
	case schemapb.DataType_Array:
		res, valid, err = evalArrayElem(ec, c, n.f, func(e elemVal) bool { return n.set.hasElem(e) })
	default:
		res = bitset.New(ec.n)
		w := res.Words()
		switch s := c.(type) {
		case *column.Scalar[bool]:
			termLoop(s.Data, w, n.set.hasBool)
		case *column.Scalar[int8]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[int16]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[int32]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[int64]:
			termInts(s.Data, n.set, w)
		case *column.Scalar[float32]:
			termLoop(s.Data, w, func(x float32) bool { return n.set.hasFloat(float64(x)) })
		case *column.Scalar[float64]:
			termLoop(s.Data, w, n.set.hasFloat)
		case *column.Scalar[string]:
			termStrings(s.Data, n.set, w)
		default:
			return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
		}
		res, valid, err = finish(res, c, ec.n)
	}
	if err != nil || !n.neg {
		return res, valid, err
	}
	// `not in` is `not (in)`: flip and keep valid rows.
	res.Not()
	if valid != nil {
		res.And(valid)
	}
	return res, valid, nil
}

func termLoop[T any](data []T, w []uint64, has func(T) bool) {
	for i, x := range data {
		if has(x) {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

func termInts[T integer](data []T, s *termSet, w []uint64) {
	switch {
	case s.bitmap != nil:
		// Dense sets: one bounds check and one bit test per row.
		lo, span, bm := s.bitLo, uint64(len(s.bitmap))*64, s.bitmap
		for base := 0; base < len(data); base += 64 {
			var word uint64
			for j, x := range data[base:min(base+64, len(data))] {
				d := uint64(int64(x) - lo)
				if d < span {
					word |= (bm[d>>6] >> (d & 63) & 1) << uint(j)
				}
			}
			w[base>>6] = word
		}
	case s.intMap == nil:
		for base := 0; base < len(data); base += 64 {
			var word uint64
			for j, x := range data[base:min(base+64, len(data))] {
				v := int64(x)
				var hit uint64
				for _, c := range s.ints {
					hit |= b2u(v == c)
				}
				word |= hit << uint(j)
			}
			w[base>>6] = word
		}
	default:
		for i, x := range data {
			if _, ok := s.intMap[int64(x)]; ok {
				w[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	}
}

func termStrings(data []string, s *termSet, w []uint64) {
	if s.strMap == nil {
		// Few values: only values of the row's length are compared.
		for i, x := range data {
			if len(x) >= len(s.byLen) {
				continue
			}
			for _, c := range s.byLen[len(x)] {
				if x == c {
					w[i>>6] |= 1 << (uint(i) & 63)
					break
				}
			}
		}
		return
	}
	for i, x := range data {
		if _, ok := s.strMap[x]; ok {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

// termSet is the value list of an `in`, indexed for the column type.
type termSet struct {
	ints   []int64
	intMap map[int64]struct{}
	bitmap []uint64 // dense integer sets: bit v-bitLo
	bitLo  int64
	floats map[float64]struct{}
	strs   []string
	strMap map[string]struct{}
	byLen  [][]string // small string sets: values by length
	hasT   bool
	hasF   bool
	vals   []value
}

func newTermSet(t schemapb.DataType, vals []value) *termSet {
	s := &termSet{vals: vals}
	if !isInteger(t) && !isString(t) && t != schemapb.DataType_Bool {
		// Float columns, JSON values and array elements look numbers up here.
		s.floats = make(map[float64]struct{}, len(vals))
	}
	for _, v := range vals {
		if t == schemapb.DataType_Float && v.kind == vFloat {
			// A Float column compares in float32, as Milvus does.
			v.f = float64(float32(v.f))
		}
		switch v.kind {
		case vInt:
			s.ints = append(s.ints, v.i)
			if s.floats != nil {
				s.floats[float64(v.i)] = struct{}{}
			}
		case vFloat:
			if v.f == math.Trunc(v.f) && math.Abs(v.f) < 9.2e18 {
				s.ints = append(s.ints, int64(v.f))
			}
			if s.floats != nil {
				s.floats[v.f] = struct{}{}
			}
		case vString:
			s.strs = append(s.strs, v.s)
		case vBool:
			if v.b {
				s.hasT = true
			} else {
				s.hasF = true
			}
		}
	}
	if len(s.ints) > 1 {
		lo, hi := s.ints[0], s.ints[0]
		for _, i := range s.ints {
			lo, hi = min(lo, i), max(hi, i)
		}
		// A bitmap of up to 4 Mbit (512 KiB) beats a map lookup per row.
		if span := uint64(hi - lo); hi-lo >= 0 && span < 1<<22 {
			s.bitLo = lo
			s.bitmap = make([]uint64, span/64+1)
			for _, i := range s.ints {
				d := uint64(i - lo)
				s.bitmap[d>>6] |= 1 << (d & 63)
			}
		} else if len(s.ints) > 8 {
			s.intMap = make(map[int64]struct{}, len(s.ints))
			for _, i := range s.ints {
				s.intMap[i] = struct{}{}
			}
		}
	}
	if len(s.strs) <= 64 {
		for _, x := range s.strs {
			for len(s.byLen) <= len(x) {
				s.byLen = append(s.byLen, nil)
			}
			s.byLen[len(x)] = append(s.byLen[len(x)], x)
		}
	} else {
		s.strMap = make(map[string]struct{}, len(s.strs))
		for _, x := range s.strs {
			s.strMap[x] = struct{}{}
		}
	}
	return s
}

func (s *termSet) hasBool(b bool) bool {
	if b {
		return s.hasT
	}
	return s.hasF
}

func (s *termSet) hasFloat(f float64) bool {
	_, ok := s.floats[f]
	return ok
}

func (s *termSet) hasInt(i int64) bool {
	if s.bitmap != nil {
		d := uint64(i - s.bitLo)
		return d < uint64(len(s.bitmap))*64 && s.bitmap[d>>6]>>(d&63)&1 != 0
	}
	if s.intMap != nil {
		_, ok := s.intMap[i]
		return ok
	}
	for _, c := range s.ints {
		if c == i {
			return true
		}
	}
	return false
}

func (s *termSet) hasString(x string) bool {
	if s.strMap != nil {
		_, ok := s.strMap[x]
		return ok
	}
	if len(x) >= len(s.byLen) {
		return false
	}
	for _, c := range s.byLen[len(x)] {
		if c == x {
			return true
		}
	}
	return false
}

func (s *termSet) hasJSON(r jsonVal) bool {
	switch r.kind {
	case jInt:
		return s.hasInt(r.i)
	case jFloat:
		return s.hasFloat(r.f)
	case jString:
		return s.hasString(r.s)
	case jBool:
		return s.hasBool(r.b)
	case jArray:
		for _, v := range s.vals {
			if v.kind == vArray && jsonEqualsValue(r, v) {
				return true
			}
		}
	}
	return false
}

func (s *termSet) hasElem(e elemVal) bool {
	switch e.kind {
	case vInt:
		return s.hasInt(e.i)
	case vFloat:
		return s.hasFloat(e.f)
	case vString:
		return s.hasString(e.s)
	case vBool:
		return s.hasBool(e.b)
	}
	return false
}
