package index

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
)

// hnswbCPU is the process's user+system CPU time in nanoseconds.
func hnswbCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// hnswbReportCPU adds "cpu-ns/op" since c0: on the shared machine wall time
// per op mostly measures the other tenants.
func hnswbReportCPU(b *testing.B, c0 int64) {
	b.ReportMetric(float64(hnswbCPU()-c0)/float64(b.N), "cpu-ns/op")
}

// Benchmarks for FLAT and HNSW on synthetic clustered data (the real data
// sets are run by `milvago bench ann`). They build once per shape and are
// never part of the default test run.

var (
	benchIdxMu sync.Mutex
	benchIdx   = map[string]Index{}
)

// benchIndex builds (once) an index over n clustered vectors of dimension d.
func benchIndex(b *testing.B, typ string, n, d int) (Index, []float32) {
	b.Helper()
	key := fmt.Sprintf("%s/%d/%d", typ, n, d)
	// Queries come from the same clusters as the data (the last 200 rows).
	all := clusteredFloats(901, n+200, d, 50)
	data, queries := all[:n*d], all[n*d:]
	benchIdxMu.Lock()
	defer benchIdxMu.Unlock()
	if idx, ok := benchIdx[key]; ok {
		return idx, queries
	}
	idx := buildIndex(b, Spec{Type: typ, Metric: L2, Dim: d, Params: map[string]string{"M": "16", "efConstruction": "100"}}, Dataset{Dim: d, Float: data})
	benchIdx[key] = idx
	return idx, queries
}

// BenchmarkHNSWSearchFiltered measures one query per call at several
// filtered-out fractions (the brute-force fallback takes over at high ones).
func BenchmarkHNSWSearchFiltered(b *testing.B) {
	const n, d = 20000, 64
	idx, queries := benchIndex(b, TypeHNSW, n, d)
	for _, frac := range []float64{0, 0.01, 0.5, 0.9, 0.99} {
		var filter = randFilter(903, n, frac)
		if frac == 0 {
			filter = nil
		}
		b.Run(fmt.Sprintf("n=%d/d=%d/filtered=%g%%", n, d, frac*100), func(b *testing.B) {
			b.ReportAllocs()
			p := SearchParams{K: 10, Filter: filter, Params: map[string]string{"ef": "64"}}
			i := 0
			c0 := hnswbCPU()
			for b.Loop() {
				q := queries[(i%200)*d : (i%200+1)*d]
				if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, p); err != nil {
					b.Fatal(err)
				}
				i++
			}
			hnswbReportCPU(b, c0)
		})
	}
}

// BenchmarkFlatSearch measures exact search, one query and a batch of 64.
func BenchmarkFlatSearch(b *testing.B) {
	for _, d := range []int{100, 128, 784} {
		n := 20000
		idx, queries := benchIndex(b, TypeFlat, n, d)
		for _, nq := range []int{1, 64} {
			b.Run(fmt.Sprintf("n=%d/d=%d/nq=%d", n, d, nq), func(b *testing.B) {
				b.ReportAllocs()
				p := SearchParams{K: 10}
				c0 := hnswbCPU()
				for b.Loop() {
					if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: queries[:nq*d]}, p); err != nil {
						b.Fatal(err)
					}
				}
				hnswbReportCPU(b, c0)
			})
		}
	}
}

// BenchmarkHNSWBuild measures a build of 5000 vectors per dimension.
func BenchmarkHNSWBuild(b *testing.B) {
	for _, d := range []int{32, 128} {
		data := clusteredFloats(904, 5000, d, 50)
		b.Run(fmt.Sprintf("n=5000/d=%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buildIndex(b, Spec{Type: TypeHNSW, Metric: L2, Dim: d, Params: map[string]string{"M": "16", "efConstruction": "100"}}, Dataset{Dim: d, Float: data})
			}
		})
	}
}
