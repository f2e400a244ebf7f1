package annbench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvago/milvago/internal/index"
)

// Config is one benchmark run: a data set, an index spec and a sweep.
type Config struct {
	Dataset string            // directory with base.fvecs, query.fvecs, gt.ivecs
	Index   string            // index type (Milvus name)
	Metric  index.Metric      // L2, IP, COSINE
	Build   map[string]string // build params
	// BuildText is the build params as given, for the params field.
	BuildText string
	SearchKey string   // the swept search param ("ef", "nprobe", ...); empty: none
	Search    []string // its values
	K         int
	Queries   int // at most this many queries (0: all)
	Threads   int
	// Progress, if set, is called during the build with rows done and total.
	Progress func(done, total int)
	// Passes and Samples shape the single-thread measurement: Samples
	// samples of Passes passes over the queries each, reported as median,
	// min and max (1 and 1: one pass, as hnsw_native measures).
	Passes, Samples int
	// HNSWLib, if set, is the path of a compiled native/hnswlib_alt.cpp: it
	// builds hnswlib (M, efConstruction of Build) on the same data set, and
	// each sample runs it alternately with Milvago (see measureSamples).
	HNSWLib string
}

// Record is one result line; the field names are those of ../shared/bench.
type Record struct {
	Dataset      string  `json:"dataset"`
	N            int     `json:"n"`
	D            int     `json:"d"`
	NQ           int     `json:"nq"`
	Metric       string  `json:"metric"`
	Index        string  `json:"index"`
	Params       string  `json:"params"`
	Recall10     float64 `json:"recall10"`
	QPS1T        float64 `json:"qps_1t"`
	QPS1TWall    float64 `json:"qps_1t_wall"`
	LatUs1TP50   float64 `json:"lat_us_1t_p50"`
	LatUs1T      float64 `json:"lat_us_1t"`
	QPSBatch     float64 `json:"qps_batch"`
	QPSBatchCPU  float64 `json:"qps_batch_cpu"`
	BuildS       float64 `json:"build_s"`
	BuildCPUS    float64 `json:"build_cpu_s"`
	RSSGrowthMB  float64 `json:"rss_growth_mb"`
	RSSRetainMB  float64 `json:"rss_retained_mb"`
	IndexMB      float64 `json:"index_mb"`
	Threads      int     `json:"threads"`
	BuildThreads int     `json:"build_threads"`
	LoadAvg      float64 `json:"loadavg"`
	Kernels      string  `json:"kernels"`

	// Set when samples or passes are > 1 or there is a reference: qps_1t
	// and qps_1t_wall are then medians over the samples.
	Passes       int       `json:"passes,omitempty"`
	Samples      int       `json:"samples,omitempty"`
	QPS1TMin     float64   `json:"qps_1t_min,omitempty"`
	QPS1TMax     float64   `json:"qps_1t_max,omitempty"`
	QPS1TSamples []float64 `json:"qps_1t_samples,omitempty"`
	LoadAvgMax   float64   `json:"loadavg_max,omitempty"`
	// CPUBusy is the share of the whole machine's CPU time (all cores, all
	// processes) that was busy during the samples.
	CPUBusy float64 `json:"cpu_busy,omitempty"`

	// The reference (hnswlib) measured alternately with Milvago.
	RefIndex        string    `json:"ref_index,omitempty"`
	RefRecall10     float64   `json:"ref_recall10,omitempty"`
	RefQPS1T        float64   `json:"ref_qps_1t,omitempty"`
	RefQPS1TMin     float64   `json:"ref_qps_1t_min,omitempty"`
	RefQPS1TMax     float64   `json:"ref_qps_1t_max,omitempty"`
	RefQPS1TWall    float64   `json:"ref_qps_1t_wall,omitempty"`
	RefQPS1TSamples []float64 `json:"ref_qps_1t_samples,omitempty"`
	RefBuildS       float64   `json:"ref_build_s,omitempty"`
	RefBuildCPUS    float64   `json:"ref_build_cpu_s,omitempty"`
	RefRSSGrowthMB  float64   `json:"ref_rss_growth_mb,omitempty"`
	// Ratio is median Milvago qps_1t over median reference qps_1t;
	// RatioPaired the median (and spread) of the per-sample ratios.
	Ratio          float64 `json:"ratio,omitempty"`
	RatioPaired    float64 `json:"ratio_paired,omitempty"`
	RatioPairedMin float64 `json:"ratio_paired_min,omitempty"`
	RatioPairedMax float64 `json:"ratio_paired_max,omitempty"`
}

// dataset is a loaded benchmark data set.
type dataset struct {
	name        string
	base, query []float32
	gt          []int32
	d, n, nq    int
	gtd         int
}

func loadDataset(dir string, maxQ int) (*dataset, error) {
	base, d, n, err := ReadFvecs(filepath.Join(dir, "base.fvecs"))
	if err != nil {
		return nil, err
	}
	q, dq, nq, err := ReadFvecs(filepath.Join(dir, "query.fvecs"))
	if err != nil {
		return nil, err
	}
	gt, gtd, ngt, err := ReadIvecs(filepath.Join(dir, "gt.ivecs"))
	if err != nil {
		return nil, err
	}
	if dq != d || ngt < nq || gtd < 10 || n == 0 {
		return nil, fmt.Errorf("%s: base d=%d n=%d, queries d=%d n=%d, gt d=%d n=%d do not fit: %w", dir, d, n, dq, nq, gtd, ngt, ErrFormat)
	}
	if maxQ > 0 && nq > maxQ {
		nq = maxQ
	}
	return &dataset{name: filepath.Base(filepath.Clean(dir)), base: base, query: q[:nq*d], gt: gt, d: d, n: n, nq: nq, gtd: gtd}, nil
}

// Run builds the index once and emits one Record per search setting to emit.
func Run(ctx context.Context, cfg Config, emit func(Record) error) error {
	ds, err := loadDataset(cfg.Dataset, cfg.Queries)
	if err != nil {
		return err
	}
	threads := max(1, cfg.Threads)
	build := map[string]string{}
	for k, v := range cfg.Build {
		build[k] = v
	}
	typ := strings.ToUpper(cfg.Index)
	if strings.HasPrefix(typ, "HNSW") || typ == index.TypeAutoIndex {
		if _, ok := build["build_threads"]; !ok {
			build["build_threads"] = fmt.Sprint(threads)
		}
	}
	idx, err := index.New(index.Spec{Type: typ, Metric: cfg.Metric, Dim: ds.d, Params: build})
	if err != nil {
		return err
	}
	var ref *refProc
	if cfg.HNSWLib != "" {
		// The reference builds first, alone, so that the two builds do
		// not share the CPU.
		if ref, err = startRef(ctx, cfg.HNSWLib, cfg, ds, threads); err != nil {
			return err
		}
		defer ref.close()
	}
	if pr, ok := idx.(index.ProgressReporter); ok && cfg.Progress != nil {
		pr.SetProgress(cfg.Progress)
	}

	prevProcs := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prevProcs)
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := rssBytes()
	cpu0 := processCPU()
	t0 := time.Now()
	if err := idx.Build(ctx, index.Dataset{Dim: ds.d, Float: ds.base}); err != nil {
		return err
	}
	buildS := time.Since(t0).Seconds()
	buildCPU := processCPU() - cpu0
	rss1 := rssBytes()
	runtime.GC()
	debug.FreeOSMemory()
	rssRetained := rssBytes()
	var cw countWriter
	if _, err := idx.WriteTo(&cw); err != nil {
		return err
	}

	values := cfg.Search
	if len(values) == 0 {
		values = []string{""}
	}
	for _, v := range values {
		if err := ctx.Err(); err != nil {
			return err
		}
		params := map[string]string{}
		label := cfg.BuildText
		if cfg.SearchKey != "" && v != "" {
			// A value may carry fixed companions: "16+reorder_k=100".
			first, extra, _ := strings.Cut(v, "+")
			params[cfg.SearchKey] = first
			label = strings.TrimPrefix(label+","+cfg.SearchKey+"="+first, ",")
			for kv := range strings.SplitSeq(extra, "+") {
				if k, x, ok := strings.Cut(kv, "="); ok && k != "" {
					params[k] = x
					label += "," + k + "=" + x
				}
			}
		}
		rec := Record{
			Dataset: ds.name, N: ds.n, D: ds.d, NQ: ds.nq, Metric: string(cfg.Metric),
			Index: "milvago-" + typ, Params: label,
			BuildS: buildS, BuildCPUS: buildCPU, RSSGrowthMB: float64(rss1-rss0) / (1 << 20),
			RSSRetainMB: float64(rssRetained-rss0) / (1 << 20),
			IndexMB:     float64(cw.n) / (1 << 20), Threads: threads, BuildThreads: threads,
			LoadAvg: loadAvg(), Kernels: kernelName(),
		}
		labels, err := measureBatch(ctx, idx, ds, cfg.K, params, threads, &rec)
		if err != nil {
			return err
		}
		rec.Recall10 = recallAt10(labels, ds, cfg.K)
		if err := measureSingle(ctx, idx, ds, cfg.K, params, &rec); err != nil {
			return err
		}
		if ref != nil || cfg.Passes > 1 || cfg.Samples > 1 {
			if err := measureSamples(ctx, idx, ds, cfg.K, params, cfg, ref, &rec); err != nil {
				return err
			}
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	return nil
}

// measureBatch answers every query, one per call, from threads goroutines;
// best of three repetitions. It returns the labels of the last repetition.
func measureBatch(ctx context.Context, idx index.Index, ds *dataset, k int, params map[string]string, threads int, rec *Record) ([]int64, error) {
	labels := make([]int64, ds.nq*k)
	bestWall, bestCPU := 1e30, 1e30
	var firstErr atomic.Value
	for range 3 {
		var next atomic.Int64
		c0 := processCPU()
		t0 := time.Now()
		var wg sync.WaitGroup
		for range threads {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= ds.nq {
						return
					}
					res, err := idx.Search(ctx, index.Dataset{Dim: ds.d, Float: ds.query[i*ds.d : (i+1)*ds.d]}, index.SearchParams{K: k, Params: params})
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					copy(labels[i*k:(i+1)*k], res.Labels)
				}
			})
		}
		wg.Wait()
		if err, ok := firstErr.Load().(error); ok {
			return nil, err
		}
		bestWall = min(bestWall, time.Since(t0).Seconds())
		bestCPU = min(bestCPU, processCPU()-c0)
	}
	rec.QPSBatch = float64(ds.nq) / bestWall
	rec.QPSBatchCPU = float64(ds.nq) / (bestCPU / float64(threads))
	return labels, nil
}

// measureSingle answers the queries one at a time on one locked OS thread
// with GOMAXPROCS=1.
func measureSingle(ctx context.Context, idx index.Index, ds *dataset, k int, params map[string]string, rec *Record) error {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]float64, ds.nq)
	c0 := threadCPU()
	t0 := time.Now()
	for i := range ds.nq {
		a := time.Now()
		if _, err := idx.Search(ctx, index.Dataset{Dim: ds.d, Float: ds.query[i*ds.d : (i+1)*ds.d]}, index.SearchParams{K: k, Params: params}); err != nil {
			return err
		}
		lat[i] = time.Since(a).Seconds()
	}
	wall := time.Since(t0).Seconds()
	cpu := threadCPU() - c0
	slices.Sort(lat)
	rec.QPS1T = float64(ds.nq) / cpu
	rec.QPS1TWall = float64(ds.nq) / wall
	rec.LatUs1TP50 = lat[ds.nq/2] * 1e6
	rec.LatUs1T = cpu / float64(ds.nq) * 1e6
	return nil
}

// recallAt10 compares the first 10 labels of each query with the first 10
// ground-truth ids (k must be >= 10 for a meaningful number).
func recallAt10(labels []int64, ds *dataset, k int) float64 {
	hits := 0
	kk := min(10, k)
	for q := range ds.nq {
		truth := ds.gt[q*ds.gtd : q*ds.gtd+10]
		for _, l := range labels[q*k : q*k+kk] {
			if l >= 0 && slices.Contains(truth, int32(l)) {
				hits++
			}
		}
	}
	return float64(hits) / float64(10*ds.nq)
}

// countWriter counts bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
