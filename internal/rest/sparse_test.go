package rest

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestSparseQueryRowMilvusTexts pins the sparse search vector reader to
// the texts of Milvus's typeutil.CreateSparseFloatRowFromJSON and
// ValidateSparseFloatRows (pkg/util/typeutil/schema.go:3030-3249).
func TestSparseQueryRowMilvusTexts(t *testing.T) {
	bad := []struct{ in, want string }{
		{`[1, 2]`, "json: cannot unmarshal array into Go value of type map[string]interface {}"},
		{`abc`, "invalid character 'a' looking for beginning of value"},
		{``, "EOF"},
		{`{"a": 1}`, `strconv.ParseUint: parsing "a": invalid syntax`},
		{`{"4294967296": 1}`, `strconv.ParseUint: parsing "4294967296": value out of range`},
		{`{"4294967295": 1}`, "invalid index in sparse float vector: must be less than 2^32-1"},
		{`{"1": "x"}`, "invalid value type in JSON: string"},
		{`{"1": null}`, "invalid value type in JSON: %!s(<nil>)"},
		{`{"1": 1e39}`, "value too large in JSON: 1e+39"},
		{`{"1": -1}`, "negative value in sparse float vector"},
		{`{"1": -1e39}`, "value '-Inf' is not a number or infinity"},
		{`{"indices": [1], "values": 2}`, "invalid JSON input"},
		{`{"indices": [1, 2], "values": [0.5]}`, "indices and values length mismatch"},
		{`{"indices": [1.5], "values": [0.5]}`, "invalid index in JSON: 1.5"},
		{`{"indices": ["1"], "values": [0.5]}`, "invalid index type in JSON: string"},
		{`{"indices": [4294967295], "values": [0.5]}`, "index too large in JSON: 4294967295"},
		{`{"indices": [-1], "values": [0.5]}`, "invalid index in sparse float vector: must be less than 2^32-1"},
		{`{"indices": [3, 3], "values": [0.5, 0.5]}`, "unsorted or same indices in sparse float vector"},
		{`{"indices": 5}`, `strconv.ParseUint: parsing "indices": invalid syntax`},
	}
	for _, c := range bad {
		_, err := sparseQueryRow(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
	good := []struct {
		in   string
		idx  []uint32
		vals []float32
	}{
		{`{}`, nil, nil},
		{`{"3": 0.5, "0x1": 2}`, []uint32{1, 3}, []float32{2, 0.5}},
		{`{"indices": [7, 2], "values": [1, 0.25], "extra": true}`, []uint32{2, 7}, []float32{0.25, 1}},
		{`{"indices": [-2], "values": [1]}`, []uint32{math.MaxUint32 - 1}, []float32{1}},
	}
	for _, c := range good {
		row, err := sparseQueryRow(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if len(row) != 8*len(c.idx) {
			t.Fatalf("%s: %d bytes, want %d", c.in, len(row), 8*len(c.idx))
		}
		for i := range c.idx {
			gi := binary.LittleEndian.Uint32(row[8*i:])
			gv := math.Float32frombits(binary.LittleEndian.Uint32(row[8*i+4:]))
			if gi != c.idx[i] || gv != c.vals[i] {
				t.Fatalf("%s: pair %d is (%d, %v), want (%d, %v)", c.in, i, gi, gv, c.idx[i], c.vals[i])
			}
		}
	}
	if got := gjsonText([]byte(`"{\"1\": 1}"`)); got != `{"1": 1}` {
		t.Fatalf("gjsonText of a string: %q", got)
	}
	if n := len(sparseQueryRows([]byte(`{"1": 1}`))); n != 1 {
		t.Fatalf("a lone object is one query, got %d", n)
	}
}
