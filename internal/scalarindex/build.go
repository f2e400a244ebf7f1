package scalarindex

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
)

// Index parameter keys (Milvus's common.JSONPathKey and friends).
const (
	ParamIndexType = "index_type"
	ParamJSONPath  = "json_path"
	ParamJSONCast  = "json_cast_type"
	ParamJSONFunc  = "json_cast_function"
	ParamMinGram   = "min_gram"
	ParamMaxGram   = "max_gram"
)

// ParsePointer splits a JSON Pointer ("/a/b", "" for the whole document)
// into keys, unescaping ~1 and ~0.
func ParsePointer(p string) []string {
	if p == "" {
		return []string{}
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}

// Build indexes col with the index parameters params (index_type and, by
// type, json_path, json_cast_type, min_gram, max_gram).
func Build(ctx context.Context, params map[string]string, col column.Column) (*Index, error) {
	typ := strings.ToUpper(params[ParamIndexType])
	if !Supports(typ) {
		return nil, fmt.Errorf("scalarindex: unsupported index type %q", params[ParamIndexType])
	}
	x := &Index{typ: typ, n: col.Len()}
	if typ == TypeNgram {
		var err error
		if x.minGram, err = strconv.Atoi(params[ParamMinGram]); err != nil {
			return nil, fmt.Errorf("scalarindex: min_gram %q: %w", params[ParamMinGram], err)
		}
		if x.maxGram, err = strconv.Atoi(params[ParamMaxGram]); err != nil {
			return nil, fmt.Errorf("scalarindex: max_gram %q: %w", params[ParamMaxGram], err)
		}
		if x.minGram <= 0 || x.minGram > x.maxGram {
			return nil, fmt.Errorf("scalarindex: invalid min_gram or max_gram value for Ngram index, min_gram: %d, max_gram: %d", x.minGram, x.maxGram)
		}
	}
	var b builder
	switch c := col.(type) {
	case *column.Scalar[bool]:
		x.kind = expr.KeyBool
		for i, v := range c.Data {
			if valid(c.Valid, i) {
				b.addInt(int64(btoi(v)), i)
			}
		}
	case *column.Scalar[int8]:
		addInts(&b, x, c)
	case *column.Scalar[int16]:
		addInts(&b, x, c)
	case *column.Scalar[int32]:
		addInts(&b, x, c)
	case *column.Scalar[int64]:
		addInts(&b, x, c)
	case *column.Scalar[float32]:
		x.kind = expr.KeyFloat
		for i, v := range c.Data {
			if valid(c.Valid, i) {
				b.addFloat(float64(v), i)
			}
		}
	case *column.Scalar[float64]:
		x.kind = expr.KeyFloat
		for i, v := range c.Data {
			if valid(c.Valid, i) {
				b.addFloat(v, i)
			}
		}
	case *column.Scalar[string]:
		x.kind = expr.KeyString
		for i, v := range c.Data {
			if valid(c.Valid, i) {
				x.addString(&b, v, i)
			}
		}
	case *column.Scalar[*schemapb.ScalarField]:
		x.elements = true
		if err := addArrays(&b, x, c); err != nil {
			return nil, err
		}
	case *column.Scalar[[]byte]:
		if c.Type != schemapb.DataType_JSON {
			return nil, fmt.Errorf("scalarindex: %s cannot build on a %s field", typ, c.Type)
		}
		if err := x.addJSON(ctx, &b, params, c); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("scalarindex: %s cannot build on a %s field", typ, col.DataType())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.finish(x)
	return x, nil
}

func valid(v []bool, i int) bool { return v == nil || v[i] }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func addInts[T int8 | int16 | int32 | int64](b *builder, x *Index, c *column.Scalar[T]) {
	x.kind = expr.KeyInt
	for i, v := range c.Data {
		if valid(c.Valid, i) {
			b.addInt(int64(v), i)
		}
	}
}

func (x *Index) addString(b *builder, s string, row int) {
	if x.typ != TypeNgram {
		b.addString(s, row)
		return
	}
	b.starts = b.starts[:0]
	for i := range s {
		b.starts = append(b.starts, i)
	}
	b.starts = append(b.starts, len(s))
	for n := x.minGram; n <= x.maxGram; n++ {
		for k := 0; k+n < len(b.starts); k++ {
			b.addGram(s[b.starts[k]:b.starts[k+n]], row)
		}
	}
}

func addArrays(b *builder, x *Index, c *column.Scalar[*schemapb.ScalarField]) error {
	switch c.ElementType {
	case schemapb.DataType_Bool:
		x.kind = expr.KeyBool
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32, schemapb.DataType_Int64:
		x.kind = expr.KeyInt
	case schemapb.DataType_Float, schemapb.DataType_Double:
		x.kind = expr.KeyFloat
	case schemapb.DataType_VarChar, schemapb.DataType_String:
		x.kind = expr.KeyString
	default:
		return fmt.Errorf("scalarindex: %s cannot build on an array of %s", x.typ, c.ElementType)
	}
	for i, sf := range c.Data {
		if !valid(c.Valid, i) || sf == nil {
			continue
		}
		for _, v := range sf.GetBoolData().GetData() {
			b.addInt(int64(btoi(v)), i)
		}
		for _, v := range sf.GetIntData().GetData() {
			b.addInt(int64(v), i)
		}
		for _, v := range sf.GetLongData().GetData() {
			b.addInt(v, i)
		}
		for _, v := range sf.GetFloatData().GetData() {
			b.addFloat(float64(v), i)
		}
		for _, v := range sf.GetDoubleData().GetData() {
			b.addFloat(v, i)
		}
		for _, v := range sf.GetStringData().GetData() {
			b.addString(v, i)
		}
	}
	return nil
}

// addJSON indexes the values at json_path cast to json_cast_type. A row
// whose value there is missing or of another type is not in the index (as
// Milvus's JSON index skips values it cannot cast).
func (x *Index) addJSON(ctx context.Context, b *builder, params map[string]string, c *column.Scalar[[]byte]) error {
	x.jsonPath = params[ParamJSONPath]
	x.path = ParsePointer(x.jsonPath)
	x.cast = strings.ToUpper(strings.TrimSpace(params[ParamJSONCast]))
	if x.typ == TypeNgram && x.cast == "" {
		x.cast = "VARCHAR"
	}
	want := expr.KeyNone
	switch x.cast {
	case "BOOL", "ARRAY_BOOL":
		want = expr.KeyBool
	case "DOUBLE", "ARRAY_DOUBLE":
		want = expr.KeyFloat
	case "VARCHAR", "ARRAY_VARCHAR":
		want = expr.KeyString
	case CastJSON:
		if x.typ != TypeInverted {
			return fmt.Errorf("scalarindex: json_cast_type JSON needs an INVERTED index, not %s", x.typ)
		}
		return x.buildFlat(ctx, c)
	default:
		return fmt.Errorf("scalarindex: json_cast_type %s is not supported", params[ParamJSONCast])
	}
	x.kind = want
	x.elements = strings.HasPrefix(x.cast, "ARRAY_")
	if fn := strings.ToUpper(strings.TrimSpace(params[ParamJSONFunc])); fn != "" {
		if fn != expr.CastStringToDouble || x.cast != "DOUBLE" {
			return fmt.Errorf("scalarindex: json_cast_function %s is not supported for json_cast_type %s", fn, x.cast)
		}
		x.castFn = fn
	}
	add := func(row int) func(kind expr.KeyKind, i int64, f float64, s string) {
		return func(kind expr.KeyKind, i int64, f float64, s string) {
			if kind != want {
				return
			}
			switch kind {
			case expr.KeyBool:
				b.addInt(i, row)
			case expr.KeyFloat:
				b.addFloat(f, row)
			case expr.KeyString:
				x.addString(b, s, row)
			}
		}
	}
	for i, doc := range c.Data {
		if i&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !valid(c.Valid, i) {
			continue
		}
		switch {
		case x.elements:
			expr.JSONElementsAt(doc, x.path, add(i))
		case x.castFn != "":
			// STRING_TO_DOUBLE: a string that reads as a number is
			// indexed as that number (the filter plan casts the same way).
			kind, iv, f, s := expr.JSONScalarAt(doc, x.path)
			if kind == expr.KeyString {
				if v, ok := expr.StringToDouble(s); ok {
					kind, f = expr.KeyFloat, v
				}
			}
			add(i)(kind, iv, f, s)
		default:
			add(i)(expr.JSONScalarAt(doc, x.path))
		}
	}
	return nil
}

// builder collects (key, row) pairs, rows ascending.
type builder struct {
	ints   []intPair
	floats []floatPair
	strs   []strPair
	gramID map[string]uint32
	grams  [][]uint32 // NGRAM: rows per gram ID
	starts []int      // NGRAM: scratch, the rune offsets of one value
}

type intPair struct {
	k   int64
	row uint32
}

type floatPair struct {
	k   float64
	row uint32
}

type strPair struct {
	k   string
	row uint32
}

func (b *builder) addInt(k int64, row int) { b.ints = append(b.ints, intPair{k, uint32(row)}) }

func (b *builder) addFloat(k float64, row int) {
	if math.IsNaN(k) {
		return // no comparison holds for NaN
	}
	if k == 0 {
		k = 0 // -0 sorts with 0
	}
	b.floats = append(b.floats, floatPair{k, uint32(row)})
}

func (b *builder) addString(k string, row int) {
	b.strs = append(b.strs, strPair{strings.Clone(k), uint32(row)})
}

func (b *builder) addGram(g string, row int) {
	if b.gramID == nil {
		b.gramID = map[string]uint32{}
	}
	id, ok := b.gramID[g]
	if !ok {
		id = uint32(len(b.grams))
		b.gramID[strings.Clone(g)] = id
		b.grams = append(b.grams, nil)
	}
	l := b.grams[id]
	if len(l) == 0 || l[len(l)-1] != uint32(row) {
		b.grams[id] = append(l, uint32(row))
	}
}

// finish lays the pairs out as sorted distinct keys and posting lists.
func (b *builder) finish(x *Index) {
	x.offs = []uint32{0}
	if b.gramID != nil {
		keys := make([]string, 0, len(b.gramID))
		for g := range b.gramID {
			keys = append(keys, g)
		}
		slices.Sort(keys)
		for _, g := range keys {
			x.strs = append(x.strs, g)
			x.rows = append(x.rows, b.grams[b.gramID[g]]...)
			x.offs = append(x.offs, uint32(len(x.rows)))
		}
		return
	}
	switch x.kind {
	case expr.KeyBool, expr.KeyInt:
		slices.SortFunc(b.ints, func(a, b intPair) int { return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.row, b.row)) })
		x.ints = layout(b.ints, func(p intPair) (int64, uint32) { return p.k, p.row }, x)
	case expr.KeyFloat:
		slices.SortFunc(b.floats, func(a, b floatPair) int { return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.row, b.row)) })
		x.floats = layout(b.floats, func(p floatPair) (float64, uint32) { return p.k, p.row }, x)
	case expr.KeyString:
		slices.SortFunc(b.strs, func(a, b strPair) int { return cmp.Or(strings.Compare(a.k, b.k), cmp.Compare(a.row, b.row)) })
		x.strs = layout(b.strs, func(p strPair) (string, uint32) { return p.k, p.row }, x)
	}
}

// layout turns pairs sorted by key, then row, into keys and postings.
func layout[P any, K cmp.Ordered](pairs []P, get func(P) (K, uint32), x *Index) []K {
	var keys []K
	x.rows = make([]uint32, 0, len(pairs))
	for i, p := range pairs {
		k, row := get(p)
		if i == 0 || k != keys[len(keys)-1] {
			if i > 0 {
				x.offs = append(x.offs, uint32(len(x.rows)))
			}
			keys = append(keys, k)
		} else if x.rows[len(x.rows)-1] == row {
			continue // an array row holding the key twice
		}
		x.rows = append(x.rows, row)
	}
	if len(keys) > 0 {
		x.offs = append(x.offs, uint32(len(x.rows)))
	}
	return keys
}
