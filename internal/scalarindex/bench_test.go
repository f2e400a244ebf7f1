package scalarindex_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/expr"
	"github.com/milvago/milvago/internal/scalarindex"
)

// BenchmarkFilter1M measures filters over 1M rows with and without each
// scalar index (docs/benchmarks.md, "Scalar indexes used by filters"):
//
//	go test -run XXX -bench Filter1M -benchtime 20x ./internal/scalarindex/
const benchRows = 1_000_000

var benchOnce struct {
	sync.Once
	plain   *batch
	indexed *indexedBatch
	builds  map[string]time.Duration
	sizes   map[string]int
}

func benchData(b *testing.B) (*batch, *indexedBatch) {
	benchOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 1))
		n := benchRows
		i64 := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, n)}
		tag := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, n)}
		name := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, n)}
		note := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, n)}
		j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: make([][]byte, n)}
		for i := range n {
			i64.Data[i] = int64(r.IntN(n))
			tag.Data[i] = "tag" + strconv.Itoa(r.IntN(100))
			name.Data[i] = fmt.Sprintf("user%07d", r.IntN(n))
			note.Data[i] = fmt.Sprintf("order %d shipped", r.IntN(n))
			j.Data[i] = fmt.Appendf(nil, `{"k": %d, "s": "v%d", "x": {"y": true}}`, r.IntN(n), r.IntN(1000))
		}
		plain := &batch{n: n, cols: map[int64]column.Column{fI64: i64, fStr: tag, fText: note, fF64: name, fJSON: j}}
		used := 0
		ib := &indexedBatch{batch: plain, used: &used}
		benchOnce.builds = map[string]time.Duration{}
		benchOnce.sizes = map[string]int{}
		for _, s := range []struct {
			label  string
			field  int64
			params map[string]string
		}{
			{"STL_SORT i64", fI64, map[string]string{"index_type": "STL_SORT"}},
			{"BITMAP tag", fStr, map[string]string{"index_type": "BITMAP"}},
			{"TRIE name", fF64, map[string]string{"index_type": "TRIE"}},
			{"NGRAM note", fText, map[string]string{"index_type": "NGRAM", "min_gram": "3", "max_gram": "3"}},
			{"JSON k DOUBLE", fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/k", "json_cast_type": "DOUBLE"}},
			{"JSON s VARCHAR", fJSON, map[string]string{"index_type": "INVERTED", "json_path": "/s", "json_cast_type": "VARCHAR"}},
		} {
			start := time.Now()
			x, err := scalarindex.Build(context.Background(), s.params, plain.cols[s.field])
			if err != nil {
				panic(err)
			}
			benchOnce.builds[s.label] = time.Since(start)
			var buf bytes.Buffer
			if _, err := x.WriteTo(&buf); err != nil {
				panic(err)
			}
			benchOnce.sizes[s.label] = buf.Len()
			x.SetFieldID(s.field)
			ib.idx = append(ib.idx, x)
		}
		benchOnce.plain, benchOnce.indexed = plain, ib
	})
	return benchOnce.plain, benchOnce.indexed
}

func benchSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{FieldID: fI64, Name: "i64", DataType: schemapb.DataType_Int64},
		{FieldID: fStr, Name: "tag", DataType: schemapb.DataType_VarChar},
		{FieldID: fF64, Name: "name", DataType: schemapb.DataType_VarChar},
		{FieldID: fText, Name: "note", DataType: schemapb.DataType_VarChar},
		{FieldID: fJSON, Name: "j", DataType: schemapb.DataType_JSON},
	}}
}

func BenchmarkFilter1M(b *testing.B) {
	plain, indexed := benchData(b)
	for label, d := range benchOnce.builds {
		b.Logf("build %s: %v, file %.1f MB", label, d.Round(time.Millisecond), float64(benchOnce.sizes[label])/1e6)
	}
	for _, f := range []string{
		`i64 == 123456`,
		`500000 < i64 < 501000`,
		`i64 > 500000 and i64 < 501000`,
		`i64 > 500000`,
		`tag == "tag42"`,
		`tag in ["tag1", "tag2", "tag3"]`,
		`name like "user00012%"`,
		`note like "%123456%"`,
		`j["k"] == 123456`,
		`500000 < j["k"] < 501000`,
		`j["k"] > 500000 and j["k"] < 501000`,
		`j["k"] > 500000`,
		`j["s"] == "v42"`,
	} {
		e, err := expr.Parse(benchSchema(), f, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"scan", "index"} {
			var bt interface {
				Len() int
				Column(int64) (column.Column, error)
			} = plain
			if mode == "index" {
				bt = indexed
			}
			b.Run(f+"/"+mode, func(b *testing.B) {
				before, loops := *indexed.used, 0
				for b.Loop() {
					if _, err := e.Eval(context.Background(), bt); err != nil {
						b.Fatal(err)
					}
					loops++
				}
				b.ReportMetric(float64(*indexed.used-before)/float64(loops), "index-reads/op")
			})
		}
	}
}
