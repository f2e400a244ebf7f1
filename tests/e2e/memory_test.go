package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/natscensus"
)

// The memory measurements of issues 11 and 12 (docs/benchmarks.md,
// section "memory"). They are measurements, not checks of behaviour, so
// they run only when asked, on a quiet machine:
//
//	MILVAGO_MEASURE_MEMORY=1 go test ./tests/e2e -run 'TestMemory' -v -timeout 2h
//
// MILVAGO_MEMORY_ROWS and MILVAGO_MEMORY_DIM size TestMemoryIngestIndex
// (default 1,000,000 x 128), MILVAGO_MEMORY_NOINDEX=1 stops it after the
// flush, MILVAGO_MEMORY_LOADED=1 indexes and loads the collection before
// the insert (see there); MILVAGO_MEMORY_PROFILE=DIR makes the server
// write heap profiles there (before and after each phase).

// childProfileEnv names the directory a child server writes heap profiles
// to when it receives SIGUSR1 (see childHeapProfiles).
const childProfileEnv = "MILVAGO_E2E_CHILD_PROFILE"

// childHeapProfiles runs in a child server: on each SIGUSR1 it writes
// heap-N-rssM.pb.gz to the directory named by childProfileEnv, M being
// its VmRSS in MB when it wrote it (the profile nearest a phase's peak is
// the one with the largest M).
func childHeapProfiles() {
	dir := os.Getenv(childProfileEnv)
	if dir == "" {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for n := 1; ; n++ {
			<-sig
			var rss int64
			if b, err := os.ReadFile("/proc/self/status"); err == nil {
				rss = statusField(string(b), "VmRSS") >> 10
			}
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d-rss%d.pb.gz", n, rss)))
			if err != nil {
				continue
			}
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
			appendGCStats(filepath.Join(dir, "gc.log"), n, rss)
			appendBlockCensus(filepath.Join(dir, "gc.log"), n)
		}
	}()
}

// appendGCStats appends the collector's work so far to a child's gc.log,
// one line per profile: what a change of the GC's pacing costs in CPU.
func appendGCStats(path string, n int, rssMB int64) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "profile %d rss_mb %d gc_cycles %d gc_cpu_s %.2f total_cpu_s %.2f live_mb %d\n", n, rssMB,
		samples[0].Value.Uint64(), samples[1].Value.Float64(), samples[2].Value.Float64(), samples[3].Value.Uint64()>>20)
}

// childBroker is the child server's embedded log (runChild sets it), for
// appendBlockCensus.
var childBroker atomic.Pointer[logbroker.Embedded]

// appendBlockCensus appends to a child's gc.log how its NATS file store
// holds its message blocks' buffers (strongly or weakly: natscensus), one
// line per profile: which of NATS's block buffers in the heap profile the
// server keeps until its 10 s cache expiry.
func appendBlockCensus(path string, n int) {
	e := childBroker.Load()
	if e == nil {
		return
	}
	c, err := natscensus.Blocks(e.Server(), e.Log().StreamName())
	line := fmt.Sprintf("profile %d nats %v\n", n, c)
	if err != nil {
		line = fmt.Sprintf("profile %d nats census: %v\n", n, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(line)
}

func measureMemory(t *testing.T) {
	if os.Getenv("MILVAGO_MEASURE_MEMORY") == "" {
		t.Skip("a memory measurement: MILVAGO_MEASURE_MEMORY=1 go test ./tests/e2e -run TestMemory -v")
	}
}

// startMeasuredChild starts a child server, with heap profiles on SIGUSR1
// when MILVAGO_MEMORY_PROFILE is set.
func startMeasuredChild(t *testing.T) (*child, func(string)) {
	t.Helper()
	standaloneOnly(t, "measures the memory of one standalone process")
	prof := os.Getenv("MILVAGO_MEMORY_PROFILE")
	if prof != "" {
		os.Setenv(childProfileEnv, prof)
		defer os.Unsetenv(childProfileEnv)
	}
	c := startChild(t, t.TempDir())
	snap := func(what string) {
		if prof == "" {
			return
		}
		c.cmd.Process.Signal(syscall.SIGUSR1)
		time.Sleep(500 * time.Millisecond)
		t.Logf("heap profile requested: %s", what)
	}
	return c, snap
}

// TestMemoryInsert60MB is TestInsertRSS60MB for both insert layouts: the
// server's VmHWM growth over its RSS before one 60 MB insert, which must
// stay under 10x the request.
func TestMemoryInsert60MB(t *testing.T) {
	measureMemory(t)
	for _, rowBased := range []bool{false, true} {
		name := "column"
		if rowBased {
			name = "row"
		}
		t.Run(name, func(t *testing.T) {
			c, snap := startMeasuredChild(t)
			ctx := testContext(t)
			cli := c.client(t)
			const dim = 128
			rows := 60 << 20 / (dim * 4)
			if err := cli.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("rss", dim)); err != nil {
				t.Fatal(err)
			}
			vecs := memVectors(rows, dim, 3)
			var opt milvusclient.InsertOption
			if rowBased {
				data := make([]any, rows)
				for i, v := range vecs {
					data[i] = map[string]any{"vector": v}
				}
				opt = milvusclient.NewRowBasedInsertOption("rss", data...)
			} else {
				opt = milvusclient.NewColumnBasedInsertOption("rss").WithFloatVectorColumn("vector", dim, vecs)
			}
			time.Sleep(time.Second) // let start-up garbage settle
			snap("before")
			pid := c.cmd.Process.Pid
			before := procStatusKB(t, pid, "VmRSS")
			stop := make(chan struct{})
			if os.Getenv("MILVAGO_MEMORY_PROFILE") != "" {
				// Heap profiles during the insert too, one every 200 ms.
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(200 * time.Millisecond):
							c.cmd.Process.Signal(syscall.SIGUSR1)
						}
					}
				}()
			}
			_, err := cli.Insert(ctx, opt)
			close(stop)
			if err != nil {
				t.Fatal(err)
			}
			peak := procStatusKB(t, pid, "VmHWM")
			snap("after")
			growth := peak - before
			t.Logf("%s-based 60 MB insert (%d x %d): RSS before %d MB, peak %d MB: +%d MB, %.1fx the request",
				name, rows, dim, before>>10, peak>>10, growth>>10, float64(growth)/float64(60<<10))
			// The query node applies the insert to its growing segment
			// from the log, possibly after Insert returned: a Strong
			// count(*) waits for it, and the peak then covers it too.
			cnt, err := cli.Query(ctx, milvusclient.NewQueryOption("rss").WithOutputFields("count(*)").
				WithConsistencyLevel(entity.ClStrong))
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := cnt.GetColumn("count(*)").GetAsInt64(0); n != int64(rows) {
				t.Fatalf("count(*) %d after the insert, want %d", n, rows)
			}
			applied := procStatusKB(t, pid, "VmHWM") - before
			t.Logf("%s-based 60 MB insert, applied by the query node (Strong count(*)): peak +%d MB, %.1fx the request",
				name, applied>>10, float64(applied)/float64(60<<10))
			// Issue 11: "a 60 MB insert must not cost 10x its size".
			if growth >= 10*60<<10 {
				t.Errorf("the insert cost %.1fx its size (must stay under 10x)", float64(growth)/float64(60<<10))
			}
		})
	}
}

func memVectors(rows, dim int, seed uint64) [][]float32 {
	vecs := make([][]float32, rows)
	flat := make([]float32, rows*dim)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := range flat {
		flat[i] = r.Float32()
	}
	for i := range vecs {
		vecs[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return vecs
}

// rssWatch samples a process's VmRSS until stopped, keeping the peak (the
// kernel's VmHWM covers the whole life of the process; this one covers a
// phase).
type rssWatch struct {
	peak atomic.Int64
	// anon and file are RssAnon and RssFile when VmRSS peaked: the heap
	// and the runtime against memory-mapped files (binlogs, index files),
	// which the kernel can drop and read back.
	anon, file atomic.Int64
	stop       chan struct{}
	done       chan struct{}

	// windows are the peaks of successive 5 s windows (a phase's
	// timeline: a build's own peak after the garbage of the flush went).
	mu      sync.Mutex
	windows []int64
}

// With MILVAGO_MEMORY_PROFILE set, a watch also asks the child for a heap
// profile whenever the RSS passes the last profiled peak by 5%, at most
// once a second: the phase's last such profile is taken near its peak.
func watchRSS(t *testing.T, pid int) *rssWatch {
	w := &rssWatch{stop: make(chan struct{}), done: make(chan struct{})}
	profile := os.Getenv("MILVAGO_MEMORY_PROFILE") != ""
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		var profiled int64
		var profiledAt time.Time
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err == nil {
				kb := statusField(string(b), "VmRSS")
				if kb > w.peak.Load() {
					w.peak.Store(kb)
					w.anon.Store(statusField(string(b), "RssAnon"))
					w.file.Store(statusField(string(b), "RssFile"))
				}
				if profile && kb > profiled+profiled/20 && time.Since(profiledAt) >= time.Second {
					syscall.Kill(pid, syscall.SIGUSR1)
					profiled, profiledAt = kb, time.Now()
				}
				win := int(time.Since(start) / (5 * time.Second))
				w.mu.Lock()
				for len(w.windows) <= win {
					w.windows = append(w.windows, 0)
				}
				w.windows[win] = max(w.windows[win], kb)
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *rssWatch) end() int64 {
	close(w.stop)
	<-w.done
	return w.peak.Load()
}

// timeline is the peak RSS of each 5 s window, in MB.
func (w *rssWatch) timeline() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for i, kb := range w.windows {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, kb>>10)
	}
	return b.String()
}

// split is the peak's RssAnon and RssFile in MB.
func (w *rssWatch) split() string {
	return fmt.Sprintf("anon %d MB + file %d MB", w.anon.Load()>>10, w.file.Load()>>10)
}

// profileEvery asks the child for a heap profile every period until the
// returned func is called (when MILVAGO_MEMORY_PROFILE is set).
func profileEvery(c *child, period time.Duration) func() {
	if os.Getenv("MILVAGO_MEMORY_PROFILE") == "" {
		return func() {}
	}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(period):
				c.cmd.Process.Signal(syscall.SIGUSR1)
			}
		}
	}()
	return func() { close(stop) }
}

func statusField(status, field string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestMemoryIngestIndex inserts ROWS x DIM float vectors through the SDK
// in batches of 20,000 rows, flushes, builds HNSW (M=MILVAGO_MEMORY_M,
// default 16, efConstruction=MILVAGO_MEMORY_EFC, default 100), loads, and then stays
// quiet: it reports the server's peak RSS in each phase against the raw
// data, and its RSS at rest after the build and after the load.
//
// With MILVAGO_MEMORY_LOADED=1 it follows the usual client's order
// instead: index and load the empty collection, insert (the query node
// holds the rows in its growing segment), flush, and wait until the index
// is built and the query node has swapped the growing segment for the
// sealed one with its index (the handoff), then stays quiet.
func TestMemoryIngestIndex(t *testing.T) {
	measureMemory(t)
	rows := envInt("MILVAGO_MEMORY_ROWS", 1_000_000)
	dim := envInt("MILVAGO_MEMORY_DIM", 128)
	efc := envInt("MILVAGO_MEMORY_EFC", 100)
	hnswM := envInt("MILVAGO_MEMORY_M", 16)
	raw := int64(rows) * int64(dim) * 4 >> 10 // kB
	c, snap := startMeasuredChild(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	cli := c.client(t)
	pid := c.cmd.Process.Pid
	const name = "mem"
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true).WithIsAutoID(true)).
		WithField(entity.NewField().WithName("vector").WithDataType(entity.FieldTypeFloatVector).WithDim(int64(dim)))
	if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
		t.Fatal(err)
	}
	loaded := os.Getenv("MILVAGO_MEMORY_LOADED") != ""
	if loaded {
		it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vector", index.NewHNSWIndex(entity.L2, hnswM, efc)))
		if err != nil {
			t.Fatal(err)
		}
		if err := it.Await(ctx); err != nil {
			t.Fatal(err)
		}
		lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := lt.Await(ctx); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	base := procStatusKB(t, pid, "VmRSS")
	var w *rssWatch
	report := func(phase string, peak int64) {
		t.Logf("%-28s peak RSS %5d MB  (%.2fx raw %d MB; %s)   RSS now %5d MB   VmHWM so far %5d MB", phase, peak>>10,
			float64(peak)/float64(raw), raw>>10, w.split(), procStatusKB(t, pid, "VmRSS")>>10, procStatusKB(t, pid, "VmHWM")>>10)
	}
	t.Logf("rows %d dim %d raw %d MB; RSS at start %d MB", rows, dim, raw>>10, base>>10)

	w = watchRSS(t, pid)
	const batch = 20_000
	start := time.Now()
	for lo := 0; lo < rows; lo += batch {
		hi := min(rows, lo+batch)
		vecs := memVectors(hi-lo, dim, uint64(lo)+7)
		if _, err := cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithFloatVectorColumn("vector", dim, vecs)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	report(fmt.Sprintf("insert (%v)", time.Since(start).Round(time.Second)), w.end())
	snap("after insert")

	w = watchRSS(t, pid)
	start = time.Now()
	ft, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Await(ctx); err != nil {
		t.Fatal(err)
	}
	// The data node may still be writing the segment's files when the
	// flush is reported: watch on until it must have finished.
	time.Sleep(20 * time.Second)
	report(fmt.Sprintf("flush (%v, incl. 20 s)", time.Since(start).Round(time.Second)), w.end())
	snap("after flush")
	if os.Getenv("MILVAGO_MEMORY_NOINDEX") != "" {
		return
	}
	if loaded {
		memoryHandoff(ctx, t, c, cli, name, int64(rows), report, &w)
		return
	}

	w = watchRSS(t, pid)
	start = time.Now()
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "vector", index.NewHNSWIndex(entity.L2, hnswM, efc)))
	if err != nil {
		t.Fatal(err)
	}
	stopProfiles := profileEvery(c, 3*time.Second)
	err = it.Await(ctx)
	stopProfiles()
	if err != nil {
		t.Fatal(err)
	}
	report(fmt.Sprintf("index HNSW M=%d efc=%d (%v)", hnswM, efc, time.Since(start).Round(time.Second)), w.end())
	t.Logf("index phase, peak RSS of each 5 s (MB): %s", w.timeline())
	snap("after index")
	w = watchRSS(t, pid)
	time.Sleep(30 * time.Second)
	report("30 s at rest after build", w.end())

	w = watchRSS(t, pid)
	start = time.Now()
	lt, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Await(ctx); err != nil {
		t.Fatal(err)
	}
	report(fmt.Sprintf("load (%v)", time.Since(start).Round(time.Second)), w.end())
	snap("after load")
	w = watchRSS(t, pid)
	time.Sleep(30 * time.Second)
	report("30 s at rest after load", w.end())
	t.Logf("whole run: VmHWM %d MB (%.2fx raw)", procStatusKB(t, pid, "VmHWM")>>10,
		float64(procStatusKB(t, pid, "VmHWM"))/float64(raw))
}

// memoryHandoff is TestMemoryIngestIndex's end with MILVAGO_MEMORY_LOADED:
// the flushed segment's index is built while the query node still serves
// its growing copy, then the query node loads the sealed segment and drops
// the growing one. The phase ends when the index covers every row and a
// search no longer reads a growing segment's rows (the handoff done),
// then 30 s at rest.
func memoryHandoff(ctx context.Context, t *testing.T, c *child, cli *milvusclient.Client, name string, rows int64,
	report func(string, int64), w **rssWatch) {
	t.Helper()
	pid := c.cmd.Process.Pid
	*w = watchRSS(t, pid)
	start := time.Now()
	stopProfiles := profileEvery(c, 3*time.Second)
	for {
		d, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, "vector"))
		if err != nil {
			stopProfiles()
			t.Fatal(err)
		}
		if d.IndexedRows >= rows && d.PendingIndexRows == 0 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	built := time.Since(start).Round(time.Second)
	// The query node learns of the built index and loads the sealed
	// segment in the background, then drops the growing one: wait until
	// it serves every row from sealed segments only.
	raw := rawService(t, &server{addr: c.addr})
	for {
		qs, err := raw.GetQuerySegmentInfo(ctx, &milvuspb.GetQuerySegmentInfoRequest{CollectionName: name})
		if err != nil {
			stopProfiles()
			t.Fatal(err)
		}
		var sealed int64
		growing := false
		for _, info := range qs.GetInfos() {
			if info.GetState() == commonpb.SegmentState_Growing {
				growing = true
			} else {
				sealed += info.GetNumRows()
			}
		}
		if !growing && sealed >= rows {
			break
		}
		time.Sleep(time.Second)
	}
	handoff := time.Since(start).Round(time.Second)
	time.Sleep(10 * time.Second) // the growing segment's release
	stopProfiles()
	report(fmt.Sprintf("index + handoff (built %v, sealed only %v)", built, handoff), (*w).end())
	t.Logf("index + handoff phase, peak RSS of each 5 s (MB): %s", (*w).timeline())
	*w = watchRSS(t, pid)
	time.Sleep(30 * time.Second)
	report("30 s at rest after handoff", (*w).end())
	t.Logf("whole run: VmHWM %d MB", procStatusKB(t, pid, "VmHWM")>>10)
}
