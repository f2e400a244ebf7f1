//go:build linux

package index_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milvago/milvago/internal/annbench"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/objstore"
)

// TestDiskANNDiskBench measures DISKANN on a texmex data set with the index
// read from a file through the page cache, as a query node reads it. It
// runs only when MILVAGO_DISKANN_DATA names a data set directory:
//
//	MILVAGO_DISKANN_MODE=build  builds and writes MILVAGO_DISKANN_FILE
//	MILVAGO_DISKANN_MODE=search maps MILVAGO_DISKANN_FILE, drops it from the
//	                            page cache, and sweeps search_list
//
// Run the search mode inside a memory cgroup smaller than the file to
// measure an index larger than memory (see docs/benchmarks.md).
func TestDiskANNDiskBench(t *testing.T) {
	dir := os.Getenv("MILVAGO_DISKANN_DATA")
	if dir == "" {
		t.Skip("MILVAGO_DISKANN_DATA not set")
	}
	file := os.Getenv("MILVAGO_DISKANN_FILE")
	switch os.Getenv("MILVAGO_DISKANN_MODE") {
	case "build":
		base, d, n, err := annbench.ReadFvecs(filepath.Join(dir, "base.fvecs"))
		if err != nil {
			t.Fatal(err)
		}
		params := map[string]string{}
		for _, kv := range strings.Split(os.Getenv("MILVAGO_DISKANN_BUILD"), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				params[k] = v
			}
		}
		idx, err := index.New(index.Spec{Type: index.TypeDiskANN, Metric: index.L2, Dim: d, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := idx.Build(context.Background(), index.Dataset{Dim: d, Float: base}); err != nil {
			t.Fatal(err)
		}
		build := time.Since(t0)
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		size, err := idx.WriteTo(w)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("build n=%d d=%d params=%v threads=%d: %.1f s, file %.1f MiB\n", n, d, idx.Spec().Params, runtime.GOMAXPROCS(0), build.Seconds(), float64(size)/(1<<20))
	case "search":
		query, d, nq, err := annbench.ReadFvecs(filepath.Join(dir, "query.fvecs"))
		if err != nil {
			t.Fatal(err)
		}
		gt, gtd, _, err := annbench.ReadIvecs(filepath.Join(dir, "gt.ivecs"))
		if err != nil {
			t.Fatal(err)
		}
		nq = min(nq, 1000)
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		// Map the file as the query node does (objstore's local store)
		// and give it the advice the query node gives a loaded DISKANN
		// index (querynode/load.go): MADV_RANDOM. MILVAGO_DISKANN_MADV=normal
		// keeps the kernel's readahead, for comparison.
		store, err := objstore.NewLocal(filepath.Dir(file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := store.Map(context.Background(), filepath.Base(file))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		data := m.Bytes()
		idx, err := index.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		advice := "normal (readahead)"
		if rr, ok := idx.(interface{ ReadsFileAtRandom() bool }); ok && rr.ReadsFileAtRandom() && os.Getenv("MILVAGO_DISKANN_MADV") != "normal" {
			m.(interface{ AdviseRandom() }).AdviseRandom()
			advice = "random, as the query node maps it"
		}
		// Start cold: drop the file's pages from this mapping and the page cache.
		_ = syscall.Madvise(data, 4 /* MADV_DONTNEED */)
		_ = fadviseDontNeed(f)
		fmt.Printf("mapping advice: %s\n", advice)
		fmt.Printf("loaded %s: n=%d file %.1f MiB, heap part %.1f MiB, %s\n", file, idx.Len(), float64(st.Size())/(1<<20), float64(idx.MemoryBytes())/(1<<20), rss())
		for _, l := range strings.Split(os.Getenv("MILVAGO_DISKANN_SEARCH"), ",") {
			p := map[string]string{"search_list": l}
			var hits, lat int
			cpu0 := processCPU()
			t0 := time.Now()
			for q := range nq {
				res, err := idx.Search(context.Background(), index.Dataset{Dim: d, Float: query[q*d : (q+1)*d]}, index.SearchParams{K: 10, Params: p})
				if err != nil {
					t.Fatal(err)
				}
				for _, lb := range res.Labels {
					for _, g := range gt[q*gtd : q*gtd+10] {
						if lb == int64(g) {
							hits++
						}
					}
				}
				lat++
			}
			el := time.Since(t0)
			cpu := processCPU() - cpu0
			fmt.Printf("search_list=%s recall@10=%.4f qps_1t_cpu=%.0f qps_1t_wall=%.0f %s\n", l, float64(hits)/float64(10*nq), float64(lat)/cpu, float64(lat)/el.Seconds(), rss())
		}
	default:
		t.Fatal("MILVAGO_DISKANN_MODE must be build or search")
	}
}

// rss reports the process's resident set: anonymous (heap) and file-backed
// (mapped index pages) parts.
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, k := range []string{"VmRSS:", "RssAnon:", "RssFile:"} {
			if strings.HasPrefix(line, k) {
				out = append(out, strings.Join(strings.Fields(line), " "))
			}
		}
	}
	return strings.Join(out, ", ")
}

func fadviseDontNeed(f *os.File) error {
	_, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, 4 /* POSIX_FADV_DONTNEED */, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// processCPU is the process's user+system CPU time in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
