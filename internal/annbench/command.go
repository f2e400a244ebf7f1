package annbench

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/milvago/milvago/internal/index"
)

// NewCommand returns the `bench` command with its `ann` subcommand:
//
//	milvago bench ann --dataset DIR --index HNSW --metric L2 \
//	    --build M=16,efConstruction=200 --search ef=10,16,32,64,128,256 \
//	    --k 10 --queries 1000 --threads 1 --json
func NewCommand() *cobra.Command {
	bench := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks",
	}
	bench.AddCommand(NewANNCommand())
	return bench
}

// NewANNCommand returns the `ann` command on its own.
func NewANNCommand() *cobra.Command {
	var (
		dataset, typ, metric, build, search  string
		k, queries, threads, passes, samples int
		asJSON                               bool
		hnswlib, cpuprofile                  string
	)
	cmd := &cobra.Command{
		Use:   "ann",
		Short: "Build an index on a texmex data set and sweep a search parameter",
		Long: `Builds one index on DIR/base.fvecs, answers DIR/query.fvecs and scores
recall@10 against DIR/gt.ivecs, for each value of the swept search parameter.
Field names and protocol match ../shared/bench (bench_anchor.py, hnsw_native.cpp).

A one-pass sample of a small query set is a few milliseconds of CPU, which one
preemption on a loaded machine moves by tens of percent: --samples S --passes P
takes S samples of P passes each and reports their median and spread. With
--hnswlib BIN (internal/annbench/native/hnswlib_alt.cpp compiled with
g++ -O3 -march=native -pthread) hnswlib is built on the same data and every
sample runs both engines back to back (alternating which goes first), so the
ratio compares measurements taken in the same seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			buildParams, err := parseBuild(build)
			if err != nil {
				return err
			}
			key, values, err := parseSearch(search)
			if err != nil {
				return err
			}
			if k < 10 {
				return fmt.Errorf("--k %d: recall@10 needs k >= 10", k)
			}
			cfg := Config{
				Dataset: dataset, Index: typ, Metric: index.Metric(strings.ToUpper(metric)),
				Build: buildParams, BuildText: build, SearchKey: key, Search: values,
				K: k, Queries: queries, Threads: threads,
				Passes: passes, Samples: samples, HNSWLib: hnswlib,
			}
			if passes < 1 || samples < 1 {
				return fmt.Errorf("--passes %d --samples %d: both must be >= 1", passes, samples)
			}
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			stderr := cmd.ErrOrStderr()
			var bar *progressbar.ProgressBar
			cfg.Progress = func(done, total int) {
				if bar == nil {
					bar = progressbar.NewOptions(total,
						progressbar.OptionSetWriter(stderr),
						progressbar.OptionSetDescription("building "+typ),
						progressbar.OptionShowCount(),
						progressbar.OptionSetPredictTime(true),
						progressbar.OptionThrottle(200*time.Millisecond),
						progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
					)
				}
				_ = bar.Set(done)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				return Run(cmd.Context(), cfg, func(r Record) error { return enc.Encode(r) })
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			header := false
			err = Run(cmd.Context(), cfg, func(r Record) error {
				if !header {
					fmt.Fprintf(out, "%s: n=%d d=%d nq=%d metric=%s index=%s build %.2fs (%d threads) rss +%.1f MiB, serialized %.1f MiB, kernels %s\n",
						r.Dataset, r.N, r.D, r.NQ, r.Metric, r.Index, r.BuildS, r.BuildThreads, r.RSSGrowthMB, r.IndexMB, r.Kernels)
					if r.RefIndex != "" {
						fmt.Fprintf(out, "%s: build %.2fs (cpu %.2fs) rss +%.1f MiB\n", r.RefIndex, r.RefBuildS, r.RefBuildCPUS, r.RefRSSGrowthMB)
					}
					fmt.Fprint(tw, "params\trecall@10\tQPS 1T (cpu)\tQPS 1T (wall)\tp50 us\tQPS batch\t")
					if r.Samples > 0 {
						fmt.Fprint(tw, "QPS 1T min\tmax\tload\tbusy\t")
					}
					if r.RefIndex != "" {
						fmt.Fprint(tw, "ref recall@10\tref QPS 1T\tmin\tmax\tratio\tpaired\tmin\tmax\t")
					}
					fmt.Fprintln(tw)
					header = true
				}
				_, err := fmt.Fprintf(tw, "%s\t%.4f\t%.0f\t%.0f\t%.1f\t%.0f\t", r.Params, r.Recall10, r.QPS1T, r.QPS1TWall, r.LatUs1TP50, r.QPSBatch)
				if r.Samples > 0 {
					fmt.Fprintf(tw, "%.0f\t%.0f\t%.1f\t%.2f\t", r.QPS1TMin, r.QPS1TMax, r.LoadAvg, r.CPUBusy)
				}
				if r.RefIndex != "" {
					fmt.Fprintf(tw, "%.4f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t", r.RefRecall10, r.RefQPS1T, r.RefQPS1TMin, r.RefQPS1TMax, r.Ratio, r.RatioPaired, r.RatioPairedMin, r.RatioPairedMax)
				}
				fmt.Fprintln(tw)
				return err
			})
			if ferr := tw.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataset, "dataset", "", "directory with base.fvecs, query.fvecs and gt.ivecs")
	f.StringVar(&typ, "index", "HNSW", "index type (FLAT, HNSW, HNSW_SQ, IVF_FLAT, ...)")
	f.StringVar(&metric, "metric", "L2", "metric: L2, IP or COSINE")
	f.StringVar(&build, "build", "", "build params, e.g. M=16,efConstruction=200")
	f.StringVar(&search, "search", "", "swept search param and values, e.g. ef=10,16,32; a value may add fixed params: nprobe=8+reorder_k=40,16+reorder_k=80")
	f.IntVar(&k, "k", 10, "hits per query (>= 10)")
	f.IntVar(&queries, "queries", 1000, "use at most this many queries (0: all)")
	f.IntVar(&threads, "threads", 1, "threads for the build and the batch measurement")
	f.BoolVar(&asJSON, "json", false, "one JSON object per line per search setting")
	f.IntVar(&passes, "passes", 1, "single-thread measurement: passes over the queries per sample")
	f.IntVar(&samples, "samples", 1, "single-thread measurement: samples; qps_1t is their median, qps_1t_min/max their spread")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run (build and searches) to this file")
	f.StringVar(&hnswlib, "hnswlib", "", "path of a compiled internal/annbench/native/hnswlib_alt.cpp: build hnswlib on the same data (M, efConstruction from --build) and measure it alternately with Milvago in every sample (ref_* and ratio fields)")
	_ = cmd.MarkFlagRequired("dataset")
	return cmd
}

// parseBuild parses "k1=v1,k2=v2".
func parseBuild(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--build %q: want key=value pairs separated by commas", s)
		}
		out[k] = v
	}
	return out, nil
}

// parseSearch parses "key=v1,v2,v3".
func parseSearch(s string) (string, []string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil, nil
	}
	k, vs, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return "", nil, fmt.Errorf("--search %q: want key=v1,v2,...", s)
	}
	var values []string
	for _, v := range strings.Split(vs, ",") {
		if v = strings.TrimSpace(v); v != "" {
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return "", nil, fmt.Errorf("--search %q: no values", s)
	}
	return k, values, nil
}
