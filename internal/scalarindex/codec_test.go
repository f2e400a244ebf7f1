package scalarindex_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/scalarindex"
)

// Every truncation and many bit flips of a valid file are rejected or load
// to an index whose answers stay within the segment (no panic either way).
func TestLoadCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := randBatch(r, 300)
	for _, spec := range []struct {
		field  int64
		params map[string]string
	}{
		{fI64, map[string]string{"index_type": "STL_SORT"}},
		{fStr, map[string]string{"index_type": "TRIE"}},
		{fText, map[string]string{"index_type": "NGRAM", "min_gram": "2", "max_gram": "3"}},
		{fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/a", "json_cast_type": "DOUBLE"}},
	} {
		x, err := scalarindex.Build(context.Background(), spec.params, b.cols[spec.field])
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := x.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		for cut := 0; cut < len(data); cut += 1 + len(data)/200 {
			if _, err := scalarindex.Load(data[:cut]); !errors.Is(err, index.ErrCorrupt) {
				t.Fatalf("%v: truncated at %d of %d: err %v", spec.params, cut, len(data), err)
			}
		}
		for range 300 {
			d := bytes.Clone(data)
			d[r.IntN(len(d))] ^= byte(1 << r.IntN(8))
			y, err := scalarindex.Load(d)
			if err != nil {
				continue
			}
			out := bitset.New(300)
			y.Rows(expr.Bound{Open: true}, expr.Bound{Open: true}, out)
			y.RowsPrefix("a", out)
			y.NgramRows([]string{"abc"}, out)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := randBatch(r, 10)
	for _, p := range []map[string]string{
		{"index_type": "HNSW"},
		{"index_type": "NGRAM", "min_gram": "3", "max_gram": "2"},
		{"index_type": "NGRAM", "min_gram": "x", "max_gram": "2"},
		{"index_type": "INVERTED", "json_path": "/a", "json_cast_type": "INT"},
	} {
		f := int64(fText)
		if p["json_path"] != "" {
			f = fJSON
		}
		if _, err := scalarindex.Build(context.Background(), p, b.cols[f]); err == nil {
			t.Errorf("%v: built", p)
		}
	}
}
