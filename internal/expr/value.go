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

// formatFloat renders f so that it lexes back as the same float (never as an int).
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") { // n: NaN, Inf cannot be written; callers reject them
		s += ".0"
	}
	return s
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
		if math.IsNaN(x.FloatVal) || math.IsInf(x.FloatVal, 0) {
			return value{}, fmt.Errorf("template value %v is not a finite number", x.FloatVal)
		}
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
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return value{}, fmt.Errorf("template value %v is not a finite number", f)
			}
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
