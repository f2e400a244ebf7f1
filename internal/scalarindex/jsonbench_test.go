package scalarindex_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/scalarindex"
)

// BenchmarkJSONIndexes1M measures filters on 1M JSON rows with and
// without a STRING_TO_DOUBLE path index and JSON flat indexes
// (docs/benchmarks.md, "jsoncast"):
//
//	go test -run XXX -bench JSONIndexes1M -benchtime 10x ./internal/scalarindex/

var jsonBench struct {
	sync.Once
	plain  *batch
	idx    []*scalarindex.Index
	builds []string
}

// jsonIndexBatch offers exact-path indexes first, then flat ones on a
// prefix, as the segment does.
type jsonIndexBatch struct {
	*batch
	idx  []*scalarindex.Index
	used *int
}

func (b *jsonIndexBatch) ScalarIndex(fieldID int64, path []string) expr.ScalarIndex {
	for _, x := range b.idx {
		if !x.Flat() && x.FieldID() == fieldID && slices.Equal(x.Path(), path) {
			return &counting{x, b.used}
		}
	}
	for _, x := range b.idx {
		p := x.Path()
		if x.Flat() && x.FieldID() == fieldID && path != nil && len(p) <= len(path) && slices.Equal(p, path[:len(p)]) {
			if sub := x.Sub(path[len(p):]); sub != nil {
				return &countingAny{sub, b.used}
			}
		}
	}
	return nil
}

func jsonBenchData() {
	jsonBench.Do(func() {
		r := rand.New(rand.NewPCG(2, 2))
		n := benchRows
		j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: make([][]byte, n)}
		for i := range n {
			k := fmt.Sprint(r.IntN(n))
			if i%2 == 0 {
				k = `"` + k + `"` // half the numbers arrive as strings
			}
			j.Data[i] = fmt.Appendf(nil, `{"k": %s, "o": {"p": %d, "q": "w%d", "r": {"s": %v}}, "t": "x%d"}`,
				k, r.IntN(n), r.IntN(1000), r.IntN(2) == 0, r.IntN(100))
		}
		jsonBench.plain = &batch{n: n, cols: map[int64]column.Column{fJSON: j}}
		for _, s := range []struct {
			label  string
			params map[string]string
		}{
			{"k DOUBLE STRING_TO_DOUBLE", map[string]string{"index_type": "INVERTED", "json_path": "/k", "json_cast_type": "DOUBLE", "json_cast_function": "STRING_TO_DOUBLE"}},
			{"flat /o", map[string]string{"index_type": "INVERTED", "json_path": "/o", "json_cast_type": "JSON"}},
			{"flat whole field", map[string]string{"index_type": "INVERTED", "json_path": "", "json_cast_type": "JSON"}},
		} {
			start := time.Now()
			x, err := scalarindex.Build(context.Background(), s.params, j)
			if err != nil {
				panic(err)
			}
			took := time.Since(start)
			var buf bytes.Buffer
			if _, err := x.WriteTo(&buf); err != nil {
				panic(err)
			}
			x.SetFieldID(fJSON)
			jsonBench.idx = append(jsonBench.idx, x)
			jsonBench.builds = append(jsonBench.builds, fmt.Sprintf("build %s: %v, file %.1f MB", s.label, took.Round(time.Millisecond), float64(buf.Len())/1e6))
		}
	})
}

func BenchmarkJSONIndexes1M(b *testing.B) {
	jsonBenchData()
	for _, l := range jsonBench.builds {
		b.Log(l)
	}
	casts := []expr.JSONCast{{FieldID: fJSON, Path: []string{"k"}, Function: expr.CastStringToDouble}}
	used := 0
	for _, c := range []struct {
		filter string
		idx    []int // indexes offered in "index" mode
	}{
		{`j["k"] == 123456`, []int{0}},
		{`500000 < j["k"] < 501000`, []int{0}},
		{`j["o"]["p"] == 123456`, []int{1}},
		{`j["o"]["p"] == 123456`, []int{2}},
		{`500000 < j["o"]["p"] < 501000`, []int{1}},
		{`j["o"]["q"] == "w42"`, []int{1}},
		{`j["o"]["q"] like "w42%"`, []int{1}},
		{`j["t"] in ["x1", "x2"]`, []int{2}},
		{`j["o"]["r"]["s"] == true`, []int{2}},
	} {
		e, err := expr.Parse(benchSchema(), c.filter, nil)
		if err != nil {
			b.Fatal(err)
		}
		e = e.WithJSONCasts(casts)
		var offered []*scalarindex.Index
		for _, i := range c.idx {
			offered = append(offered, jsonBench.idx[i])
		}
		ib := &jsonIndexBatch{batch: jsonBench.plain, idx: offered, used: &used}
		want, err := e.Eval(context.Background(), jsonBench.plain)
		if err != nil {
			b.Fatal(err)
		}
		got, err := e.Eval(context.Background(), ib)
		if err != nil {
			b.Fatal(err)
		}
		if !slices.Equal(want.Words(), got.Words()) {
			b.Fatalf("%s: indexed result differs from the scan", c.filter)
		}
		for _, mode := range []string{"scan", "index"} {
			var bt column.Batch = jsonBench.plain
			if mode == "index" {
				bt = ib
			}
			b.Run(fmt.Sprintf("%s/%v/%s", c.filter, c.idx, mode), func(b *testing.B) {
				before, loops := used, 0
				for b.Loop() {
					if _, err := e.Eval(context.Background(), bt); err != nil {
						b.Fatal(err)
					}
					loops++
				}
				b.ReportMetric(float64(want.Count()), "rows")
				b.ReportMetric(float64(used-before)/float64(loops), "index-reads/op")
			})
		}
	}
}
