package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
)

// valKind is the type of a constant.
type valKind uint8

const (
	vNone valKind = iota
	vBool
	vInt
	vFloat
	vString
	vArray
)

// value is a typed constant from the filter text or a template.
type value struct {
	kind valKind
	b    bool
	i    int64
	f    float64
	s    string
	arr  []value
	f32  bool // a Float (float32) array element: compare in float32
}

func (v value) typeName() string {
	switch v.kind {
	case vBool:
		return "Bool"
	case vInt:
		return "Int64"
	case vFloat:
		return "Double"
	case vString:
		return "VarChar"
	case vArray:
		return "Array"
	}
	return "None"
}

// num returns the value as float64 for a number.
func (v value) num() float64 {
	if v.kind == vInt {
		return float64(v.i)
	}
	return v.f
}

func (v value) isNum() bool { return v.kind == vInt || v.kind == vFloat }

// String renders v as a literal that the lexer reads back as v.
func (v value) String() string {
	switch v.kind {
	case vBool:
		return strconv.FormatBool(v.b)
	case vInt:
		return strconv.FormatInt(v.i, 10)
	case vFloat:
		return formatFloat(v.f)
	case vString:
		return quote(v.s)
	case vArray:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.String())
		}
		b.WriteByte(']')
		return b.String()
	}
	return "null"
}

// formatFloat renders f so that it parses back as the same float (never
// as an int). NaN and ±Inf have no literal: they are written as the
// templates of nonFinite, which a serialized plan's parse supplies.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "{" + tplNaN + "}"
	case math.IsInf(f, 1):
		return "{" + tplPosInf + "}"
	case math.IsInf(f, -1):
		return "{" + tplNegInf + "}"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// The template names formatFloat writes NaN and ±Inf as.
const (
	tplNaN    = "__milvago_nan"
	tplPosInf = "__milvago_inf"
	tplNegInf = "__milvago_neg_inf"
)

// nonFinite is the template values of formatFloat's names.
func nonFinite() map[string]*schemapb.TemplateValue {
	v := func(f float64) *schemapb.TemplateValue {
		return &schemapb.TemplateValue{Val: &schemapb.TemplateValue_FloatVal{FloatVal: f}}
	}
	return map[string]*schemapb.TemplateValue{tplNaN: v(math.NaN()), tplPosInf: v(math.Inf(1)), tplNegInf: v(math.Inf(-1))}
}

// equalValues compares two constants by type (numbers numerically).
func equalValues(a, b value) bool {
	if a.isNum() && b.isNum() {
		if a.kind == vInt && b.kind == vInt {
			return a.i == b.i
		}
		return a.num() == b.num()
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case vBool:
		return a.b == b.b
	case vString:
		return a.s == b.s
	case vArray:
		if len(a.arr) != len(b.arr) {
			return false
		}
		for i := range a.arr {
			if !equalValues(a.arr[i], b.arr[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// fromTemplate converts a request's expr_template_values entry.
func fromTemplate(t *schemapb.TemplateValue) (value, error) {
	switch x := t.GetVal().(type) {
	case *schemapb.TemplateValue_BoolVal:
		return value{kind: vBool, b: x.BoolVal}, nil
	case *schemapb.TemplateValue_Int64Val:
		return value{kind: vInt, i: x.Int64Val}, nil
	case *schemapb.TemplateValue_FloatVal:
		// NaN and ±Inf are taken, as Milvus's ConvertToGenericValue takes
		// any double; they compare as segcore's C++ compares them (NaN:
		// only != holds).
		return value{kind: vFloat, f: x.FloatVal}, nil
	case *schemapb.TemplateValue_StringVal:
		return value{kind: vString, s: x.StringVal}, nil
	case *schemapb.TemplateValue_ArrayVal:
		return fromTemplateArray(x.ArrayVal, 0)
	}
	// Milvus's ConvertToGenericValue (planparserv2/convert_field_data_to_generic_value.go).
	return value{}, &plainError{"expression elements can only be scalars"}
}

func fromTemplateArray(a *schemapb.TemplateArrayValue, depth int) (value, error) {
	if depth > MaxDepth {
		return value{}, fmt.Errorf("template array nested deeper than %d levels", MaxDepth)
	}
	out := value{kind: vArray}
	switch d := a.GetData().(type) {
	case *schemapb.TemplateArrayValue_BoolData:
		for _, b := range d.BoolData.GetData() {
			out.arr = append(out.arr, value{kind: vBool, b: b})
		}
	case *schemapb.TemplateArrayValue_LongData:
		for _, i := range d.LongData.GetData() {
			out.arr = append(out.arr, value{kind: vInt, i: i})
		}
	case *schemapb.TemplateArrayValue_DoubleData:
		for _, f := range d.DoubleData.GetData() {
			out.arr = append(out.arr, value{kind: vFloat, f: f})
		}
	case *schemapb.TemplateArrayValue_StringData:
		for _, s := range d.StringData.GetData() {
			out.arr = append(out.arr, value{kind: vString, s: s})
		}
	case *schemapb.TemplateArrayValue_ArrayData:
		for _, e := range d.ArrayData.GetData() {
			v, err := fromTemplateArray(e, depth+1)
			if err != nil {
				return value{}, err
			}
			out.arr = append(out.arr, v)
		}
	case *schemapb.TemplateArrayValue_JsonData:
		for _, raw := range d.JsonData.GetData() {
			var x any
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.UseNumber()
			if err := dec.Decode(&x); err != nil {
				return value{}, &plainError{err.Error()} // convertArrayValue returns the decoder's error
			}
			v, err := fromJSONValue(x, depth+1)
			if err != nil {
				return value{}, err
			}
			out.arr = append(out.arr, v)
		}
	default:
		// Milvus's convertArrayValue: an array value without data.
		return value{}, &plainError{fmt.Sprintf("unknown template variable value type: %v", d)}
	}
	return out, nil
}

func fromJSONValue(x any, depth int) (value, error) {
	if depth > MaxDepth {
		return value{}, fmt.Errorf("template array nested deeper than %d levels", MaxDepth)
	}
	switch t := x.(type) {
	case bool:
		return value{kind: vBool, b: t}, nil
	case string:
		return value{kind: vString, s: t}, nil
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return value{kind: vInt, i: i}, nil
		}
		f, err := t.Float64()
		if err != nil {
			return value{}, fmt.Errorf("template JSON number %s: %w", t, err)
		}
		return value{kind: vFloat, f: f}, nil
	case []any:
		out := value{kind: vArray}
		for _, e := range t {
			v, err := fromJSONValue(e, depth+1)
			if err != nil {
				return value{}, err
			}
			out.arr = append(out.arr, v)
		}
		return out, nil
	}
	return value{}, fmt.Errorf("template JSON value of type %T is not supported", x)
}
