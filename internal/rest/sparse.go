package rest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// sparseQueryRows splits a search request's "data" as gjson's Array()
// does for Milvus's serializeSparseFloatVectors (httpserver/utils.go:1364):
// an array's items, nothing for null or absent, else the value alone.
func sparseQueryRows(data json.RawMessage) []json.RawMessage {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if data[0] != '[' {
		return []json.RawMessage{data}
	}
	var rows []json.RawMessage
	_ = json.Unmarshal(data, &rows) // bind checked the body
	return rows
}

// gjsonText is gjson's Result.String() of a JSON value: a string's text,
// "" for null, else the value's JSON.
func gjsonText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if string(v) == "null" {
		return ""
	}
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// sparseQueryRow reads one sparse search vector with the rules and texts
// of Milvus's typeutil.CreateSparseFloatRowFromJSON
// (pkg/util/typeutil/schema.go:3129-3249): the text is decoded as a
// map[string]any; {"indices": [...], "values": [...]} when both are
// arrays, else {"index": value, ...}; an empty object is the empty row.
// Indices are sorted, then checked as ValidateSparseFloatRows
// (schema.go:3030-3056) checks them.
func sparseQueryRow(text string) ([]byte, error) {
	var obj map[string]any
	if err := json.NewDecoder(bytes.NewReader([]byte(text))).Decode(&obj); err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return []byte{}, nil
	}
	var idx []uint32
	var vals []float32
	jsonIdx, ok1 := obj["indices"].([]any)
	jsonVals, ok2 := obj["values"].([]any)
	switch {
	case ok1 && ok2:
		for _, x := range jsonIdx {
			i, err := sparseIndex(x)
			if err != nil {
				return nil, err
			}
			idx = append(idx, i)
		}
		for _, x := range jsonVals {
			v, err := sparseValue(x)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
	case !ok1 && !ok2:
		for k, x := range obj {
			i, err := strconv.ParseUint(k, 0, 32)
			if err != nil {
				return nil, err
			}
			v, err := sparseValue(x)
			if err != nil {
				return nil, err
			}
			idx = append(idx, uint32(i))
			vals = append(vals, v)
		}
	default:
		return nil, errors.New("invalid JSON input")
	}
	if len(idx) != len(vals) {
		return nil, errors.New("indices and values length mismatch")
	}
	order := make([]int, len(idx))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case idx[a] < idx[b]:
			return -1
		case idx[a] > idx[b]:
			return 1
		}
		return 0
	})
	row := make([]byte, 8*len(order))
	for n, o := range order {
		i, v := idx[o], vals[o]
		if i == math.MaxUint32 {
			return nil, errors.New("invalid index in sparse float vector: must be less than 2^32-1")
		}
		if n > 0 && i <= idx[order[n-1]] {
			return nil, errors.New("unsorted or same indices in sparse float vector")
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("value '%f' is not a number or infinity", v)
		}
		if v < 0 {
			return nil, errors.New("negative value in sparse float vector")
		}
		binary.LittleEndian.PutUint32(row[8*n:], i)
		binary.LittleEndian.PutUint32(row[8*n+4:], math.Float32bits(v))
	}
	return row, nil
}

// sparseIndex is one "indices" item: a whole number below 2^32-1; a
// negative one wraps to uint32 as in Milvus.
func sparseIndex(x any) (uint32, error) {
	f, ok := x.(float64)
	if !ok {
		return 0, fmt.Errorf("invalid index type in JSON: %s", reflect.TypeOf(x))
	}
	if f != float64(int64(f)) {
		return 0, fmt.Errorf("invalid index in JSON: %v", f)
	}
	i := int64(f)
	if i >= math.MaxUint32 {
		return 0, fmt.Errorf("index too large in JSON: %v", i)
	}
	return uint32(i), nil
}

// sparseValue is one value: a number no larger than the largest float32.
func sparseValue(x any) (float32, error) {
	f, ok := x.(float64)
	if !ok {
		return 0, fmt.Errorf("invalid value type in JSON: %s", reflect.TypeOf(x))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid value in JSON: %v", f)
	}
	if f > math.MaxFloat32 {
		return 0, fmt.Errorf("value too large in JSON: %v", f)
	}
	return float32(f), nil
}
