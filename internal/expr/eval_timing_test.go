package expr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

const benchRows = 1 << 20

var (
	benchOnce  sync.Once
	benchBatch *memBatch
)

// benchData builds 1M rows once: ids, int64/varchar/JSON/array columns.
func benchData() *memBatch {
	benchOnce.Do(func() {
		r := rand.New(rand.NewPCG(7, 7))
		id := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, benchRows)}
		i32 := &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: make([]int32, benchRows), Valid: make([]bool, benchRows)}
		s := &column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: make([]string, benchRows), Valid: make([]bool, benchRows)}
		j := &column.Scalar[[]byte]{Type: schemapb.DataType_JSON, Data: make([][]byte, benchRows), Valid: make([]bool, benchRows)}
		ai := &column.Scalar[*schemapb.ScalarField]{Type: schemapb.DataType_Array, ElementType: schemapb.DataType_Int64, Data: make([]*schemapb.ScalarField, benchRows)}
		colors := []string{"red", "green", "blue", "black", "white", "orange", "purple", "yellow"}
		// Strings live in one arena, as in a segment loaded from a binlog.
		var arena strings.Builder
		offs := make([]int, benchRows+1)
		for i := range benchRows {
			fmt.Fprintf(&arena, "%s-%d", colors[r.IntN(len(colors))], r.IntN(1000))
			offs[i+1] = arena.Len()
		}
		all := arena.String()
		for i := range benchRows {
			s.Data[i], s.Valid[i] = all[offs[i]:offs[i+1]], true
		}
		for i := range benchRows {
			id.Data[i] = int64(i)
			i32.Data[i], i32.Valid[i] = int32(r.IntN(1000)), r.IntN(10) > 0
			j.Data[i] = fmt.Appendf(nil, `{"color": %q, "size": %d, "tags": ["t%d", "t%d"], "nested": {"k": %d}}`,
				colors[r.IntN(len(colors))], r.IntN(100), r.IntN(10), r.IntN(10), r.IntN(5))
			j.Valid[i] = true
			arr := make([]int64, 1+r.IntN(8))
			for k := range arr {
				arr[k] = int64(r.IntN(100))
			}
			ai.Data[i] = longArray(arr...)
		}
		benchBatch = &memBatch{n: benchRows, cols: map[int64]column.Column{
			fID: id, fI32: i32, fS: s, fJ: j, fAI: ai,
		}}
	})
	return benchBatch
}

// BenchmarkEval measures rows filtered per second on 1M rows for typical
// filters. Run: go test ./internal/expr -run '^$' -bench Eval -benchmem
func BenchmarkEval(b *testing.B) {
	batch := benchData()
	for _, bc := range []struct{ name, expr string }{
		{"int_range", `100000 <= id < 900000`},
		{"int_cmp_nullable", `i32 > 500`},
		{"int_in_8", `i32 in [1, 2, 3, 5, 8, 13, 21, 34]`},
		{"pk_in_1000", pkIn(1000)},
		{"varchar_in", `s in ["red-1", "blue-2", "green-3", "black-4", "white-5", "orange-6", "purple-7", "yellow-8", "red-9", "blue-10"]`},
		{"varchar_eq", `s == "red-1"`},
		{"like_prefix", `s like "red%"`},
		{"like_general", `s like "r%d-_1%"`},
		{"json_path_eq", `j["color"] == "red"`},
		{"json_nested_cmp", `j["nested"]["k"] > 2`},
		{"json_contains", `json_contains(j["tags"], "t3")`},
		{"array_contains", `array_contains(ai, 42)`},
		{"array_length", `array_length(ai) > 4`},
		{"and_or", `(id > 1000 and i32 < 300) or s like "blue%"`},
		{"int_and_json", `j["color"] == "red" and id < 100000`},
	} {
		e, err := Parse(testSchema(), bc.expr, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			for b.Loop() {
				if _, err := e.Eval(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			cpu := threadCPU() - cpu0
			rows := float64(benchRows) * float64(b.N)
			b.ReportMetric(rows/b.Elapsed().Seconds()/1e6, "Mrows/s")
			// On a shared machine wall time includes waiting for a core;
			// thread CPU time does not.
			if cpu > 0 {
				b.ReportMetric(rows/cpu.Seconds()/1e6, "Mrows/cpu-s")
			}
		})
	}
}

// threadCPU is the CPU time consumed by the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pkIn(n int) string {
	b := []byte("id in [")
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d", i*997)
	}
	return string(append(b, ']'))
}

// BenchmarkParse measures parsing and checking a typical filter.
func BenchmarkParse(b *testing.B) {
	schema := testSchema()
	text := `(id > 1000 and i32 < 300) or s like "blue%" or json_contains(j["tags"], "t3") or color in ["red", "blue"]`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(schema, text, nil); err != nil {
			b.Fatal(err)
		}
	}
}
