package annbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/milvago/milvago/internal/index"
)

// ErrReference reports that the reference process (hnswlib_alt) failed or
// answered something other than what the protocol says.
var ErrReference = errors.New("annbench: reference process")

// refProc is a running hnswlib_alt (native/hnswlib_alt.cpp): it built
// hnswlib on the same data set and answers "search EF PASSES" on stdin with
// the thread CPU time of those passes.
type refProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	build refBuild
}

// refBuild is the first line hnswlib_alt prints.
type refBuild struct {
	N            int     `json:"n"`
	D            int     `json:"d"`
	NQ           int     `json:"nq"`
	BuildS       float64 `json:"build_s"`
	BuildCPUS    float64 `json:"build_cpu_s"`
	RSSGrowthMB  float64 `json:"rss_growth_mb"`
	BuildThreads int     `json:"build_threads"`
}

// refSample is hnswlib_alt's answer to one search command.
type refSample struct {
	CPUS     float64 `json:"cpu_s"`
	WallS    float64 `json:"wall_s"`
	Recall10 float64 `json:"recall10"`
	Error    string  `json:"error"`
}

// startRef starts bin on the data set and waits for its build to finish,
// so that its build does not overlap Milvago's.
func startRef(ctx context.Context, bin string, cfg Config, ds *dataset, threads int) (*refProc, error) {
	m, efc := cfg.Build["M"], cfg.Build["efConstruction"]
	if _, err := strconv.Atoi(m); err != nil {
		return nil, fmt.Errorf("--hnswlib needs an integer M in --build (got %q): %w", m, ErrReference)
	}
	if _, err := strconv.Atoi(efc); err != nil {
		return nil, fmt.Errorf("--hnswlib needs an integer efConstruction in --build (got %q): %w", efc, ErrReference)
	}
	cmd := exec.CommandContext(ctx, bin, cfg.Dataset, strconv.Itoa(ds.nq), strconv.Itoa(threads), m, efc)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	r := &refProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if err := r.readJSON(&r.build); err != nil {
		r.close()
		return nil, fmt.Errorf("%s build: %w (stderr: %s)", bin, err, strings.TrimSpace(stderr.String()))
	}
	if r.build.N != ds.n || r.build.D != ds.d || r.build.NQ != ds.nq {
		r.close()
		return nil, fmt.Errorf("%s read n=%d d=%d nq=%d, Milvago n=%d d=%d nq=%d: %w",
			bin, r.build.N, r.build.D, r.build.NQ, ds.n, ds.d, ds.nq, ErrReference)
	}
	return r, nil
}

func (r *refProc) readJSON(v any) error {
	line, err := r.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("read: %v: %w", err, ErrReference)
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("line %q: %v: %w", strings.TrimSpace(string(line)), err, ErrReference)
	}
	return nil
}

// search runs passes passes over the queries at ef in the reference.
func (r *refProc) search(ef, passes int) (refSample, error) {
	var s refSample
	if _, err := fmt.Fprintf(r.in, "search %d %d\n", ef, passes); err != nil {
		return s, fmt.Errorf("write: %v: %w", err, ErrReference)
	}
	if err := r.readJSON(&s); err != nil {
		return s, err
	}
	if s.Error != "" || s.CPUS <= 0 {
		return s, fmt.Errorf("search ef=%d: %q, cpu %v: %w", ef, s.Error, s.CPUS, ErrReference)
	}
	return s, nil
}

func (r *refProc) close() {
	_, _ = io.WriteString(r.in, "quit\n")
	_ = r.in.Close()
	_ = r.cmd.Wait()
}

// measureSamples takes cfg.Samples single-thread samples of cfg.Passes
// passes over the queries each. With a reference it alternates Milvago and
// the reference within each sample, in ABBA order (Milvago first in even
// samples, the reference first in odd ones), so that both sides see the same
// minutes of machine load. It fills the qps_1t fields with medians and
// spreads, and the ref_ and ratio fields when there is a reference.
func measureSamples(ctx context.Context, idx index.Index, ds *dataset, k int, params map[string]string, cfg Config, ref *refProc, rec *Record) error {
	passes, samples := max(1, cfg.Passes), max(1, cfg.Samples)
	ef := 0
	if ref != nil {
		var err error
		if ef, err = strconv.Atoi(params[cfg.SearchKey]); err != nil || cfg.SearchKey != "ef" {
			return fmt.Errorf("--hnswlib sweeps ef, not %q=%q: %w", cfg.SearchKey, params[cfg.SearchKey], ErrReference)
		}
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	milvagoPass := func() (cpu, wall float64, err error) {
		c0, t0 := threadCPU(), nowSeconds()
		for range passes {
			for i := range ds.nq {
				if _, err := idx.Search(ctx, index.Dataset{Dim: ds.d, Float: ds.query[i*ds.d : (i+1)*ds.d]}, index.SearchParams{K: k, Params: params}); err != nil {
					return 0, 0, err
				}
			}
		}
		return threadCPU() - c0, nowSeconds() - t0, nil
	}
	// One untimed pass on each side warms caches and branch predictors.
	if _, _, err := milvagoPass(); err != nil {
		return err
	}
	if ref != nil {
		s, err := ref.search(ef, 1)
		if err != nil {
			return err
		}
		rec.RefRecall10 = s.Recall10
	}
	n := float64(passes * ds.nq)
	var mq, mw, rq, rw, ratios, loads []float64
	busy0 := cpuTimes()
	for s := range samples {
		loads = append(loads, loadAvg())
		runRef := func() error {
			if ref == nil {
				return nil
			}
			smp, err := ref.search(ef, passes)
			if err != nil {
				return err
			}
			rq = append(rq, n/smp.CPUS)
			rw = append(rw, n/smp.WallS)
			return nil
		}
		if s%2 == 1 {
			if err := runRef(); err != nil {
				return err
			}
		}
		cpu, wall, err := milvagoPass()
		if err != nil {
			return err
		}
		mq = append(mq, n/cpu)
		mw = append(mw, n/wall)
		if s%2 == 0 {
			if err := runRef(); err != nil {
				return err
			}
		}
		if ref != nil {
			ratios = append(ratios, mq[s]/rq[s])
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	rec.CPUBusy = busyFraction(busy0, cpuTimes())
	rec.Passes, rec.Samples = passes, samples
	rec.QPS1TSamples = mq
	rec.QPS1T, rec.QPS1TMin, rec.QPS1TMax = median(mq), slices.Min(mq), slices.Max(mq)
	rec.QPS1TWall = median(mw)
	rec.LatUs1T = 1e6 / rec.QPS1T
	rec.LoadAvg, rec.LoadAvgMax = mean(loads), slices.Max(loads)
	if ref != nil {
		rec.RefIndex = "hnswlib-native"
		rec.RefQPS1TSamples = rq
		rec.RefQPS1T, rec.RefQPS1TMin, rec.RefQPS1TMax = median(rq), slices.Min(rq), slices.Max(rq)
		rec.RefQPS1TWall = median(rw)
		rec.RefBuildS, rec.RefBuildCPUS, rec.RefRSSGrowthMB = ref.build.BuildS, ref.build.BuildCPUS, ref.build.RSSGrowthMB
		rec.Ratio = rec.QPS1T / rec.RefQPS1T
		rec.RatioPaired, rec.RatioPairedMin, rec.RatioPairedMax = median(ratios), slices.Min(ratios), slices.Max(ratios)
	}
	return nil
}

// median of a non-empty slice (the mean of the middle two for an even length).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(v []float64) float64 {
	var t float64
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}
