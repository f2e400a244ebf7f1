package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/jsonrows"
)

// insertCell reads one non-null insert value v of field f as Milvus's REST
// server does before anything else (checkAndSetData,
// httpserver/utils.go:405-660): a value that its conversion for the
// field's type refuses fails with that conversion's text under
// merr.WrapErrParameterInvalid(<type name>, <the value's text>, ...); a
// value it takes is returned in the form internal/jsonrows reads (a number
// for a numeric string, a bool for "1", an array of byte values for a
// base64 binary vector), which then checks sizes and ranges. Types whose
// conversion has no refusal of its own here are returned as they are.
func insertCell(f *schemapb.FieldSchema, v json.RawMessage) (json.RawMessage, error) {
	t := f.GetDataType()
	text := gjsonString(v)
	switch t {
	case schemapb.DataType_Bool:
		// cast.ToBoolE of a string is strconv.ParseBool.
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
		return json.RawMessage(strconv.FormatBool(b)), nil
	case schemapb.DataType_Int8, schemapb.DataType_Int16, schemapb.DataType_Int32:
		// spf13/cast v1.3.1's ToInt8E/ToInt16E/ToInt32E of a string:
		// strconv.ParseInt(s, 0, 0) (so "0x10" is 16), refused as
		// "unable to cast %#v of type string to int8". Milvus then
		// narrows without a check; Milvago refuses what does not fit
		// (jsonrows), rather than storing another number.
		n, err := strconv.ParseInt(text, 0, 64)
		if err != nil {
			goType := map[schemapb.DataType]string{schemapb.DataType_Int8: "int8", schemapb.DataType_Int16: "int16",
				schemapb.DataType_Int32: "int32"}[t]
			return nil, paramInvalid(t.String(), text, fmt.Sprintf("unable to cast %q of type string to %s", text, goType))
		}
		return json.RawMessage(strconv.FormatInt(n, 10)), nil
	case schemapb.DataType_Int64:
		// json.Number(s).Int64(): strconv.ParseInt(s, 10, 64).
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
		return json.RawMessage(strconv.FormatInt(n, 10)), nil
	case schemapb.DataType_Float, schemapb.DataType_Double:
		// cast.ToFloat32E / ToFloat64E of a string: strconv.ParseFloat.
		bits, goType := 64, "float64"
		if t == schemapb.DataType_Float {
			bits, goType = 32, "float32"
		}
		x, err := strconv.ParseFloat(text, bits)
		if err != nil {
			return nil, paramInvalid(t.String(), text, fmt.Sprintf("unable to cast %q of type string to %s", text, goType))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return v, nil // jsonrows refuses it, as the proxy would
		}
		return json.RawMessage(strconv.FormatFloat(x, 'g', -1, bits)), nil
	case schemapb.DataType_FloatVector:
		// json.Unmarshal of the value's text into []float32.
		var vec []float32
		if err := json.Unmarshal([]byte(text), &vec); err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
		return v, nil
	case schemapb.DataType_BinaryVector:
		// json.Unmarshal of the raw value into []byte: an array of byte
		// values, or a base64 string.
		var b []byte
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
		out, err := json.Marshal(byteValues(b))
		if err != nil {
			return nil, fmt.Errorf("binary vector: %w", err)
		}
		return out, nil
	case schemapb.DataType_Float16Vector, schemapb.DataType_BFloat16Vector:
		return v, nil // halfVectorBytes reads it
	case schemapb.DataType_Int8Vector:
		var vec []int8
		if err := json.Unmarshal([]byte(text), &vec); err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
		return v, nil
	}
	return v, nil
}

// halfVectorBytes reads a Float16Vector or BFloat16Vector value as
// Milvus's REST server does (utils.go:449-480, 994-1013, 739-760), into
// the row's little-endian bytes: a JSON array is a float32 vector,
// converted to the field's type; a JSON string is the vector's bytes in
// base64, taken as they are; anything else is "invalid vector field".
// Either form must come to 2 x dim bytes. NaN and ±Inf (in base64, or a
// float past the half type's range) go on to the proxy, which refuses
// them as Milvus's does (typeutil.VerifyFloats16, code 65535).
func halfVectorBytes(f *schemapb.FieldSchema, v json.RawMessage) ([]byte, error) {
	t := f.GetDataType()
	text := gjsonString(v)
	raw := bytes.TrimSpace(v)
	var b []byte
	switch {
	case len(raw) > 0 && raw[0] == '[':
		var fs []float32
		if err := json.Unmarshal(raw, &fs); err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
		b = halfBytes(fs, t)
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, paramInvalid(t.String(), text, err.Error())
		}
	default:
		return nil, paramInvalid(t.String(), text, "invalid vector field: "+f.GetName())
	}
	if dim, err := jsonrows.FieldDim(f); err == nil && len(b) != 2*dim {
		return nil, fmt.Errorf("[]byte size %d doesn't equal to vector dimension %d of %s", len(b), dim, t)
	}
	return b, nil
}

// byteValues is a byte slice that marshals as an array of numbers (a
// []byte marshals as base64).
type byteValues []byte

func (b byteValues) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, x := range b {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.Itoa(int(x)))
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// gjsonString is gjson's Result.String() of a JSON value, the text Milvus's
// checkAndSetData converts: a string's content, a number's text (its
// float64 value's shortest 'f' form when it is not a plain integer), true
// or false, and the raw text of an array or an object.
func gjsonString(v json.RawMessage) string {
	raw := bytes.TrimSpace(v)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return string(raw)
		}
		return s
	case 'n':
		return ""
	case 't', 'f', '[', '{':
		return string(raw)
	}
	i := 0
	if raw[0] == '-' {
		i++
	}
	for ; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			x, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return string(raw)
			}
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
	}
	return string(raw)
}
