//go:build unix

package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/bitset"
)

// Benchmarks for the IVF, quantized, binary and sparse indexes.
//
// The Go benchmarks below run on synthetic data. TestIVFDatasetSweep runs the
// recall/QPS/memory protocol of ../shared/bench on a real data set directory
// (base.fvecs, query.fvecs, gt.ivecs) and prints one table row per setting:
//
//	MILVAGO_DATASET=/work/shared/data/glove-100-10k go test -run TestIVFDatasetSweep -v -timeout 30m ./internal/index/
//
// Optional: MILVAGO_IVF_TYPES=IVF_FLAT,IVF_SQ8,IVF_PQ, MILVAGO_NLIST=128,256,
// MILVAGO_NPROBE=1,2,4,8,16,32,64,128, MILVAGO_QUERIES=1000, and
// MILVAGO_FILTER=0,0.5,0.99 (fractions of rows filtered out; recall is then
// measured against a brute-force filtered ground truth).

func BenchmarkIVFSearch(b *testing.B) {
	const n, d, nq = 20000, 128, 64
	data := clusteredFloats(1, n, d, 100)
	queries := clusteredFloats(2, nq, d, 100)
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		idx := buildIndex(b, Spec{Type: typ, Metric: L2, Dim: d, Params: map[string]string{"nlist": "128", "m": "32"}}, Dataset{Dim: d, Float: data})
		for _, nprobe := range []int{8, 32} {
			b.Run(fmt.Sprintf("%s/d=%d/n=%d/nprobe=%d", typ, d, n, nprobe), func(b *testing.B) {
				sp := SearchParams{K: 10, Params: map[string]string{"nprobe": strconv.Itoa(nprobe)}}
				b.ReportAllocs()
				i := 0
				c0 := ivfbCPU()
				for b.Loop() {
					q := queries[(i%nq)*d : (i%nq+1)*d]
					if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: q}, sp); err != nil {
						b.Fatal(err)
					}
					i++
				}
				ivfbReportCPU(b, c0)
			})
		}
	}
}

func BenchmarkIVFBuild(b *testing.B) {
	const n, d = 10000, 64
	data := clusteredFloats(3, n, d, 50)
	for _, typ := range []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ} {
		b.Run(fmt.Sprintf("%s/d=%d/n=%d", typ, d, n), func(b *testing.B) {
			b.ReportAllocs()
			c0 := ivfbCPU()
			for b.Loop() {
				buildIndex(b, Spec{Type: typ, Metric: L2, Dim: d, Params: map[string]string{"nlist": "100", "m": "16"}}, Dataset{Dim: d, Float: data})
			}
			ivfbReportCPU(b, c0)
		})
	}
}

func BenchmarkBinSearch(b *testing.B) {
	const n, bits, nq = 50000, 256, 64
	data := bintClustered(4, n, bits, 100)
	queries := bintClustered(5, nq, bits, 100)
	for _, typ := range []string{TypeBinFlat, TypeBinIVFFlat} {
		idx := buildIndex(b, Spec{Type: typ, Metric: Hamming, Dim: bits, Params: map[string]string{"nlist": "128"}}, Dataset{Dim: bits, Binary: data})
		b.Run(fmt.Sprintf("%s/bits=%d/n=%d", typ, bits, n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			c0 := ivfbCPU()
			for b.Loop() {
				q := queries[(i%nq)*bits/8 : (i%nq+1)*bits/8]
				if _, err := idx.Search(context.Background(), Dataset{Dim: bits, Binary: q}, SearchParams{K: 10}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			ivfbReportCPU(b, c0)
		})
	}
}

func BenchmarkSparseSearch(b *testing.B) {
	const n, vocab, nq = 50000, 30000, 64
	data := spartRandom(6, n, vocab, 60, false)
	queries := spartRandom(7, nq, vocab, 10, false)
	idx := buildIndex(b, Spec{Type: TypeSparseInv, Metric: IP}, Dataset{Sparse: data})
	for _, drop := range []string{"0", "0.5"} {
		b.Run(fmt.Sprintf("n=%d/drop=%s", n, drop), func(b *testing.B) {
			sp := SearchParams{K: 10, Params: map[string]string{"drop_ratio_search": drop}}
			b.ReportAllocs()
			i := 0
			c0 := ivfbCPU()
			for b.Loop() {
				if _, err := idx.Search(context.Background(), Dataset{Sparse: queries[i%nq : i%nq+1]}, sp); err != nil {
					b.Fatal(err)
				}
				i++
			}
			ivfbReportCPU(b, c0)
		})
	}
}

// ivfbReadVecs reads an fvecs (or, with ints, ivecs) file: per row an int32
// dimension then that many 4-byte values.
func ivfbReadVecs(path string, ints bool) (rows [][]float32, irows [][]int32, dim int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, 0, err
	}
	for off := 0; off+4 <= len(b); {
		d := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		if d <= 0 || off+4*d > len(b) {
			return nil, nil, 0, fmt.Errorf("%s: bad row at byte %d", path, off)
		}
		dim = d
		if ints {
			r := make([]int32, d)
			for j := range r {
				r[j] = int32(binary.LittleEndian.Uint32(b[off+4*j:]))
			}
			irows = append(irows, r)
		} else {
			r := make([]float32, d)
			for j := range r {
				r[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[off+4*j:]))
			}
			rows = append(rows, r)
		}
		off += 4 * d
	}
	return rows, irows, dim, nil
}

func ivfbEnvInts(key, def string) []int {
	s := os.Getenv(key)
	if s == "" {
		s = def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func ivfbEnvFloats(key, def string) []float64 {
	s := os.Getenv(key)
	if s == "" {
		s = def
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// ivfbTruth turns the data set's exact neighbours into groundTruth's shape.
func ivfbTruth(gt [][]int32, nq int) [][]int64 {
	out := make([][]int64, nq)
	for q := range out {
		for _, l := range gt[q][:10] {
			out[q] = append(out[q], int64(l))
		}
	}
	return out
}

// ivfbCPU returns the process's user+system CPU time.
func ivfbCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ivfbReportCPU reports the process CPU time per iteration since c0 as
// "cpu-ns/op": on a shared machine wall time per op mostly measures the
// other tenants.
func ivfbReportCPU(b *testing.B, c0 time.Duration) {
	b.ReportMetric(float64(ivfbCPU()-c0)/float64(b.N), "cpu-ns/op")
}

// ivfbRSS returns the resident set size in bytes from /proc/self/status
// (0 where there is none).
func ivfbRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ivfbCounter counts bytes written.
type ivfbCounter struct{ n int64 }

func (c *ivfbCounter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*ivfbCounter)(nil)

func TestIVFDatasetSweep(t *testing.T) {
	dir := os.Getenv("MILVAGO_DATASET")
	if dir == "" {
		t.Skip("set MILVAGO_DATASET to a directory with base.fvecs, query.fvecs, gt.ivecs")
	}
	flat, queries, d := readBenchDataset(t, dir)
	n := len(flat) / d
	_, gt, _, err := ivfbReadVecs(filepath.Join(dir, "gt.ivecs"), true)
	if err != nil {
		t.Fatal(err)
	}
	nq := min(len(queries), len(gt), ivfbEnvInts("MILVAGO_QUERIES", "1000")[0])
	qflat := make([]float32, 0, nq*d)
	for _, r := range queries[:nq] {
		qflat = append(qflat, r...)
	}
	name := filepath.Base(dir)
	types := strings.Split(os.Getenv("MILVAGO_IVF_TYPES"), ",")
	if types[0] == "" {
		types = []string{TypeIVFFlat, TypeIVFSQ8, TypeIVFPQ}
	}
	fmt.Printf("\n%s (n=%d, d=%d, queries=%d, metric L2, GOMAXPROCS=%s)\n\n", name, n, d, nq, os.Getenv("GOMAXPROCS"))
	fmt.Println("| index | params | recall@10 | 1T QPS (cpu) | 1T QPS (wall) | batch QPS (wall) | build s (wall / cpu) | RSS growth MB | MemoryBytes MB | serialized MB |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, typ := range types {
		for _, nlist := range ivfbEnvInts("MILVAGO_NLIST", "128,256") {
			params := map[string]string{"nlist": strconv.Itoa(nlist)}
			pdesc := fmt.Sprintf("nlist=%d", nlist)
			if typ == TypeIVFPQ {
				params["m"], params["nbits"] = strconv.Itoa(pqDefaultM(d)), "8"
				pdesc += fmt.Sprintf(",m=%sx8", params["m"])
			}
			runtime.GC()
			debug.FreeOSMemory()
			rss0 := ivfbRSS()
			w0, c0 := time.Now(), ivfbCPU()
			idx := buildIndex(t, Spec{Type: typ, Metric: L2, Dim: d, Params: params}, Dataset{Dim: d, Float: flat})
			buildWall, buildCPU := time.Since(w0), ivfbCPU()-c0
			// Retained memory: training buffers are garbage by now, and
			// returned to the OS so that they do not count.
			runtime.GC()
			debug.FreeOSMemory()
			rssGrowth := ivfbRSS() - rss0
			var cnt ivfbCounter
			if _, err := idx.WriteTo(&cnt); err != nil {
				t.Fatal(err)
			}
			for _, frac := range ivfbEnvFloats("MILVAGO_FILTER", "0") {
				truth, filter := ivfbTruth(gt, nq), (*bitset.Set)(nil)
				fdesc := ""
				if frac > 0 {
					filter = randFilter(77, n, frac)
					truth = groundTruth(L2, flat, qflat, d, 10, filter)
					fdesc = fmt.Sprintf(",filter=%g", frac)
				}
				for _, nprobe := range ivfbEnvInts("MILVAGO_NPROBE", "1,2,4,8,16,32,64,128") {
					if nprobe > nlist {
						continue
					}
					sp := SearchParams{K: 10, Params: map[string]string{"nprobe": strconv.Itoa(nprobe)}, Filter: filter}
					res := &Result{NQ: nq, K: 10, Labels: make([]int64, nq*10), Distances: make([]float32, nq*10)}
					w1, c1 := time.Now(), ivfbCPU()
					for q := range nq {
						r, err := idx.Search(context.Background(), Dataset{Dim: d, Float: qflat[q*d : (q+1)*d]}, sp)
						if err != nil {
							t.Fatal(err)
						}
						copy(res.Labels[q*10:], r.Labels)
					}
					wall1, cpu1 := time.Since(w1), ivfbCPU()-c1
					w2 := time.Now()
					if _, err := idx.Search(context.Background(), Dataset{Dim: d, Float: qflat}, sp); err != nil {
						t.Fatal(err)
					}
					wallB := time.Since(w2)
					fmt.Printf("| milvago-%s | %s,nprobe=%d%s | %.4f | %.0f | %.0f | %.0f | %.1f / %.1f | %.0f | %.1f | %.1f |\n",
						typ, pdesc, nprobe, fdesc, recallAtK(res, truth, 10),
						float64(nq)/cpu1.Seconds(), float64(nq)/wall1.Seconds(), float64(nq)/wallB.Seconds(),
						buildWall.Seconds(), buildCPU.Seconds(), float64(rssGrowth)/(1<<20), float64(idx.MemoryBytes())/1e6, float64(cnt.n)/1e6)
				}
			}
		}
	}
}

// readBenchDataset reads DIR/base.fvecs as one row-major slab and
// DIR/query.fvecs as rows.
func readBenchDataset(tb testing.TB, dir string) (base []float32, queries [][]float32, dim int) {
	tb.Helper()
	rows, _, d, err := ivfbReadVecs(filepath.Join(dir, "base.fvecs"), false)
	if err != nil {
		tb.Fatal(err)
	}
	queries, _, _, err = ivfbReadVecs(filepath.Join(dir, "query.fvecs"), false)
	if err != nil {
		tb.Fatal(err)
	}
	base = make([]float32, 0, len(rows)*d)
	for _, r := range rows {
		base = append(base, r...)
	}
	return base, queries, d
}
