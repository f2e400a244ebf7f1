package indexcoord

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/scalarindex"
	"github.com/milvago/milvago/internal/storage"
)

const (
	vecField = 101
	dim      = 8
)

func testCollection(id int64) *model.Collection {
	return &model.Collection{ID: id, Name: "c", VChannels: []string{"dml_0_1v0"}, PChannels: []string{"dml_0"},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: vecField, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "8"}}},
			{FieldID: 102, Name: "b", DataType: schemapb.DataType_BinaryVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "16"}}},
			{FieldID: 103, Name: "age", DataType: schemapb.DataType_Int32},
		}}}
}

// env is an index coordinator over a real data coordinator (whose
// segments the test flushes by hand with real binlogs), a real index node
// and in-memory plug-ins.
type env struct {
	store   *kv.Memory
	objects *objstore.Memory
	root    *rootcoord.Server
	data    *datacoord.Server
	builder *gatedBuilder
	ic      *Server
	notices *noticeGate // the data coordinator's notices to ic
	heard   *builtRecorder
	coll    *model.Collection
}

// gatedBuilder is a real index node whose builds wait while the gate is
// closed.
type gatedBuilder struct {
	*indexnode.Server
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	started chan int64
	// down > 0: the next down builds find no index node, as a remote
	// builder reports a node that is not reachable.
	down, calls int
}

func (g *gatedBuilder) Build(ctx context.Context, t contract.BuildTask) (contract.BuildResult, error) {
	g.mu.Lock()
	gate := g.gate
	g.calls++
	if g.down > 0 {
		g.down--
		g.mu.Unlock()
		return contract.BuildResult{}, fmt.Errorf("indexnode: %w: connection refused", errs.ErrServiceUnavailable)
	}
	g.mu.Unlock()
	if gate != nil {
		g.started <- t.BuildID
		<-gate
	}
	return g.Server.Build(ctx, t)
}

func (g *gatedBuilder) close() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
	return g.gate
}

func (g *gatedBuilder) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gate)
	g.gate = nil
}

type builtRecorder struct {
	mu      sync.Mutex
	segs    []int64
	changed []int64 // collections whose index definitions changed
}

func (r *builtRecorder) IndexChanged(_ context.Context, collectionID int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, collectionID)
	return nil
}

func (r *builtRecorder) IndexBuilt(_ context.Context, _, segmentID int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segs = append(r.segs, segmentID)
	return nil
}

func (r *builtRecorder) got() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.segs))
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{store: kv.NewMemory(), objects: objstore.NewMemory(), coll: testCollection(1)}
	t.Cleanup(func() { e.store.Close() })
	var err error
	if e.root, err = rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: e.store}); err != nil {
		t.Fatal(err)
	}
	if e.data, err = datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: e.store, IDs: e.root}); err != nil {
		t.Fatal(err)
	}
	e.builder = &gatedBuilder{Server: indexnode.New(e.objects, nil), started: make(chan int64, 16)}
	e.restart(t)
	return e
}

// restart replaces the index coordinator by a new one over the same store.
func (e *env) restart(t *testing.T) {
	t.Helper()
	var err error
	if e.ic, err = New(context.Background(), Deps{KV: e.store, IDs: e.root, Segments: e.data, Builder: e.builder}); err != nil {
		t.Fatal(err)
	}
	e.heard = &builtRecorder{}
	e.ic.AddListener(e.heard)
	e.notices = &noticeGate{ic: e.ic}
	e.data.AddListener(e.notices)
}

// run runs the coordinator's builds until the test ends or stop is called.
func (e *env) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ic := e.ic
	go func() { ic.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// flushE creates a flushed segment of n rows of coll with real binlogs.
func (e *env) flushE(coll *model.Collection, part int64, n int) (int64, error) {
	ctx := context.Background()
	a, err := e.data.AssignSegment(ctx, coll.ID, part, coll.VChannels[0], int64(n), int64(n*dim*4), 0)
	if err != nil {
		return 0, err
	}
	if _, err := e.data.SealChannel(ctx, coll.ID, coll.VChannels[0], 1); err != nil {
		return 0, err
	}
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32((i*7919)%101) / 101
	}
	bits := make([]byte, n*2)
	for i := range bits {
		bits[i] = byte(i * 31)
	}
	ages := make([]int32, n)
	for i := range ages {
		ages[i] = int32(i % 7)
	}
	binlogs := map[int64]string{}
	for field, c := range map[int64]column.Column{vecField: &column.FloatVector{Dim: dim, Data: vecs}, 102: &column.ByteVector{Type: schemapb.DataType_BinaryVector, Dim: 16, Data: bits},
		103: &column.Scalar[int32]{Type: schemapb.DataType_Int32, Data: ages}} {
		data, err := storage.EncodeColumn(c)
		if err != nil {
			return 0, err
		}
		path := storage.InsertLogPath(coll.ID, part, a.SegmentID, field, 1)
		if err := e.objects.Put(ctx, path, data); err != nil {
			return 0, err
		}
		binlogs[field] = path
	}
	if err := e.data.SegmentFlushed(ctx, contract.FlushResult{SegmentID: a.SegmentID, NumRows: int64(n), Binlogs: binlogs, FlushTS: 1}); err != nil {
		return 0, err
	}
	return a.SegmentID, nil
}

// flush is flushE failing the test on error.
func (e *env) flush(t *testing.T, coll *model.Collection, n int) int64 {
	t.Helper()
	id, err := e.flushE(coll, 10, n)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) create(field int64, name string, params map[string]string) error {
	return e.ic.CreateIndex(context.Background(), contract.CreateIndexRequest{Collection: e.coll, Field: e.coll.FieldByID(field), Name: name, Params: params, UserParams: params})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCreateIndexValidates(t *testing.T) {
	e := newEnv(t)
	// f creates an index on a fresh collection and checks the resolved
	// parameters, or the error code.
	f := func(field int64, params map[string]string, want map[string]string, wantCode int32) {
		t.Helper()
		e.coll = testCollection(e.coll.ID + 1)
		err := e.create(field, "idx", params)
		if wantCode != 0 {
			if code := errs.CodeOf(err); code != wantCode {
				t.Fatalf("create %v: error %v (code %d), want code %d", params, err, code, wantCode)
			}
			if len(must(e.ic.Indexes(bg, e.coll.ID))) != 0 {
				t.Fatalf("a refused index was defined")
			}
			return
		}
		if err != nil {
			t.Fatalf("create %v: %v", params, err)
		}
		defs := must(e.ic.Indexes(bg, e.coll.ID))
		if len(defs) != 1 || !maps.Equal(defs[0].IndexParams, want) || defs[0].FieldID != field || defs[0].TypeParams["dim"] == "" && field != 103 {
			t.Fatalf("create %v: defined %+v, want params %v", params, defs, want)
		}
	}
	hnsw := map[string]string{"index_type": "HNSW", "metric_type": "COSINE", "M": "18", "efConstruction": "240"}
	f(vecField, map[string]string{"index_type": "AUTOINDEX"}, hnsw, 0)
	f(vecField, map[string]string{}, hnsw, 0)
	f(vecField, map[string]string{"index_type": "autoindex", "metric_type": "l2"},
		map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "18", "efConstruction": "240"}, 0)
	f(vecField, map[string]string{"index_type": "HNSW", "metric_type": "IP", "M": "8", "efConstruction": "64"},
		map[string]string{"index_type": "HNSW", "metric_type": "IP", "M": "8", "efConstruction": "64"}, 0)
	f(vecField, map[string]string{"index_type": "FLAT", "metric_type": "L2"}, map[string]string{"index_type": "FLAT", "metric_type": "L2"}, 0)
	f(102, map[string]string{"index_type": "AUTOINDEX"}, map[string]string{"index_type": "BIN_FLAT", "metric_type": "HAMMING"}, 0)
	f(103, map[string]string{}, map[string]string{"index_type": "INVERTED"}, 0)
	f(103, map[string]string{"index_type": "STL_SORT", "metric_type": "L2"}, map[string]string{"index_type": "STL_SORT"}, 0)
	f(vecField, map[string]string{"index_type": "NO_SUCH_INDEX"}, nil, 1100)
	f(vecField, map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "-3"}, nil, 1100)
	f(vecField, map[string]string{"index_type": "HNSW", "metric_type": "NO_SUCH_METRIC"}, nil, 1100)
	f(vecField, map[string]string{"index_type": "BIN_FLAT", "metric_type": "HAMMING"}, nil, 1100)
	f(102, map[string]string{"index_type": "HNSW", "metric_type": "L2"}, nil, 1100)
	f(103, map[string]string{"index_type": "HNSW"}, nil, 1100)

	// One distinct index per field; repeating the same one is a no-op.
	e.coll = testCollection(100)
	auto := map[string]string{"index_type": "AUTOINDEX"}
	if err := e.create(vecField, "v_idx", auto); err != nil {
		t.Fatal(err)
	}
	if err := e.create(vecField, "v_idx", auto); err != nil {
		t.Fatalf("same index again: %v", err)
	}
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "HNSW", "metric_type": "COSINE", "M": "18", "efConstruction": "240"}); err != nil {
		t.Fatalf("the same index spelled out: %v", err)
	}
	// Milvus's indexMeta.canCreateIndex: plain errors (65535) with these texts.
	want := func(err error, msg string) {
		t.Helper()
		if errs.CodeOf(err) != 65535 || err.Error() != msg {
			t.Fatalf("got %v (code %d), want %q", err, errs.CodeOf(err), msg)
		}
	}
	want(e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}),
		"CreateIndex failed: at most one distinct index is allowed per field")
	want(e.create(vecField, "other", auto), "CreateIndex failed: creating multiple indexes on same field is not supported")
	want(e.create(102, "v_idx", auto), "CreateIndex failed: at most one distinct index is allowed per field")
	if defs := must(e.ic.Indexes(bg, e.coll.ID)); len(defs) != 1 {
		t.Fatalf("definitions: %+v", defs)
	}
}

func TestBuildsRunAndProgress(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s1 := e.flush(t, e.coll, 40)
	s2 := e.flush(t, e.coll, 25)
	// A growing segment counts in TotalRows only.
	if _, err := e.data.AssignSegment(ctx, e.coll.ID, 10, e.coll.VChannels[0], 7, 7, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "8", "efConstruction": "32"}); err != nil {
		t.Fatal(err)
	}
	def := must(e.ic.Indexes(bg, e.coll.ID))[0]
	want := contract.IndexProgress{State: commonpb.IndexState_InProgress, TotalRows: 72, PendingRows: 65}
	if p := must(e.ic.IndexProgress(bg, def)); p != want {
		t.Fatalf("before any build: %+v, want %+v", p, want)
	}
	if got := must(e.ic.SegmentIndexes(bg, s1)); len(got) != 0 {
		t.Fatalf("unbuilt segment has indexes %+v", got)
	}
	e.run(t)
	eventually(t, "builds finished", func() bool { return must(e.ic.IndexProgress(bg, def)).State == commonpb.IndexState_Finished })
	want = contract.IndexProgress{State: commonpb.IndexState_Finished, TotalRows: 72, IndexedRows: 65}
	if p := must(e.ic.IndexProgress(bg, def)); p != want {
		t.Fatalf("after the builds: %+v, want %+v", p, want)
	}
	// A segment flushed later is built too.
	s3 := e.flush(t, e.coll, 10)
	eventually(t, "the late segment built", func() bool { return len(must(e.ic.SegmentIndexes(bg, s3))) == 1 })
	eventually(t, "every listener call", func() bool { return len(e.heard.got()) == 3 })
	if got, want := e.heard.got(), slices.Sorted(slices.Values([]int64{s1, s2, s3})); !slices.Equal(got, want) {
		t.Fatalf("listener heard %v, want %v", got, want)
	}
	for seg, rows := range map[int64]int{s1: 40, s2: 25, s3: 10} {
		builds := must(e.ic.SegmentIndexes(bg, seg))
		if len(builds) != 1 || builds[0].State != commonpb.IndexState_Finished || builds[0].NumRows != int64(rows) || builds[0].FieldID != vecField {
			t.Fatalf("segment %d builds %+v", seg, builds)
		}
		data, err := e.objects.Get(ctx, builds[0].File)
		if err != nil {
			t.Fatal(err)
		}
		payload, _, err := storage.OpenIndexFile(data)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := index.Load(payload)
		if err != nil {
			t.Fatal(err)
		}
		if idx.Len() != rows {
			t.Fatalf("segment %d index holds %d vectors, want %d", seg, idx.Len(), rows)
		}
	}
	// A scalar index is built segment by segment like a vector index.
	if err := e.create(103, "age_idx", nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range must(e.ic.Indexes(bg, e.coll.ID)) {
		if d.FieldID == 103 {
			eventually(t, "the scalar index built", func() bool {
				p := must(e.ic.IndexProgress(bg, d))
				return p.State == commonpb.IndexState_Finished && p.IndexedRows == 75
			})
		}
	}
	got := must(e.ic.SegmentIndexes(bg, s1))
	if len(got) != 2 {
		t.Fatalf("segment indexes %+v, want the vector and the scalar one", got)
	}
	for _, b := range got {
		if b.FieldID != 103 {
			continue
		}
		data, err := e.objects.Get(ctx, b.File)
		if err != nil {
			t.Fatal(err)
		}
		payload, legacy, err := storage.OpenIndexFile(data)
		if err != nil || legacy {
			t.Fatalf("scalar index file %s: not sealed with a checksum (legacy %v): %v", b.File, legacy, err)
		}
		x, err := scalarindex.Load(payload)
		if err != nil || x.Len() != 40 || x.Type() != "INVERTED" {
			t.Fatalf("scalar index file: %v, %v", x, err)
		}
	}
}

func TestDefinitionsAndBuildsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	s1 := e.flush(t, e.coll, 20)
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}); err != nil {
		t.Fatal(err)
	}
	stop := e.run(t)
	eventually(t, "first build", func() bool { return len(must(e.ic.SegmentIndexes(bg, s1))) == 1 })
	stop()
	// Flushed while the coordinator is down... (no Run: the build stays queued)
	s2 := e.flush(t, e.coll, 30)
	before := must(e.ic.Indexes(bg, e.coll.ID))
	e.restart(t)
	if after := must(e.ic.Indexes(bg, e.coll.ID)); len(after) != 1 || after[0].ID != before[0].ID || !maps.Equal(after[0].IndexParams, before[0].IndexParams) || after[0].Name != "v_idx" {
		t.Fatalf("definitions after restart: %+v, before %+v", after, before)
	}
	if got := must(e.ic.SegmentIndexes(bg, s1)); len(got) != 1 {
		t.Fatalf("finished build lost over restart: %+v", got)
	}
	e.run(t)
	eventually(t, "queued build run after restart", func() bool { return len(must(e.ic.SegmentIndexes(bg, s2))) == 1 })
	if p := must(e.ic.IndexProgress(bg, before[0])); p.State != commonpb.IndexState_Finished || p.IndexedRows != 50 {
		t.Fatalf("progress after restart: %+v", p)
	}
}

func TestDropIndex(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s1 := e.flush(t, e.coll, 20)
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	eventually(t, "build", func() bool { return len(must(e.ic.SegmentIndexes(bg, s1))) == 1 })
	def := must(e.ic.Indexes(bg, e.coll.ID))[0]
	if err := e.ic.DropIndex(ctx, e.coll.ID, def.ID); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if defs, builds := must(e.ic.Indexes(bg, e.coll.ID)), must(e.ic.SegmentIndexes(bg, s1)); len(defs) != 0 || len(builds) != 0 {
			t.Fatalf("%s: definitions %+v, builds %+v", when, defs, builds)
		}
		list, err := e.store.List(ctx, "index/")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 {
			t.Fatalf("%s: %d index keys left in the meta store, first %s", when, len(list), list[0].Key)
		}
	}
	check("after drop")
	// A different index may now be defined on the field. The listeners
	// heard of each change (the query coordinator hands the definitions
	// to the nodes of a loaded collection); defining the same index again
	// changes nothing.
	if err := e.create(vecField, "v2", map[string]string{"index_type": "HNSW", "metric_type": "IP", "M": "8", "efConstruction": "16"}); err != nil {
		t.Fatal(err)
	}
	if err := e.create(vecField, "v2", map[string]string{"index_type": "HNSW", "metric_type": "IP", "M": "8", "efConstruction": "16"}); err != nil {
		t.Fatal(err)
	}
	e.heard.mu.Lock()
	changed := slices.Clone(e.heard.changed)
	e.heard.mu.Unlock()
	if want := []int64{e.coll.ID, e.coll.ID, e.coll.ID}; !slices.Equal(changed, want) {
		t.Fatalf("listeners heard index changes of %v, want %v (create, drop, create)", changed, want)
	}
	if err := e.ic.DropCollection(ctx, e.coll.ID); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	check("after restart")
}

// TestDropIndexDuringBuild drops an index while one of its builds runs: the
// finished build must not come back (in memory, in the meta store, or
// after a restart), or a later index on the field would be served with the
// dropped one's file.
func TestDropIndexDuringBuild(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s1 := e.flush(t, e.coll, 20)
	e.builder.close()
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}); err != nil {
		t.Fatal(err)
	}
	stop := e.run(t)
	<-e.builder.started
	def := must(e.ic.Indexes(bg, e.coll.ID))[0]
	if err := e.ic.DropIndex(ctx, e.coll.ID, def.ID); err != nil {
		t.Fatal(err)
	}
	e.builder.open()
	// Builds run one at a time: once a later build is done, the dropped one is too.
	other := testCollection(2)
	s2 := e.flush(t, other, 5)
	if err := e.ic.CreateIndex(ctx, contract.CreateIndexRequest{Collection: other, Field: other.FieldByID(vecField), Name: "o", Params: map[string]string{"index_type": "FLAT", "metric_type": "L2"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the later build", func() bool { return len(must(e.ic.SegmentIndexes(bg, s2))) == 1 })
	stop()
	if got := must(e.ic.SegmentIndexes(bg, s1)); len(got) != 0 {
		t.Fatalf("dropped index still has builds: %+v", got)
	}
	if heard := e.heard.got(); slices.Contains(heard, s1) {
		t.Fatalf("listener heard of a build of a dropped index: %v", heard)
	}
	e.restart(t)
	if got := must(e.ic.SegmentIndexes(bg, s1)); len(got) != 0 {
		t.Fatalf("after restart the dropped index's build is back: %+v", got)
	}
	list, _ := e.store.List(ctx, "index/build/")
	for _, kv := range list {
		if strings.Contains(string(kv.Value), `"IndexID":`+strconv.FormatInt(def.ID, 10)) {
			t.Fatalf("meta store still holds %s: %s", kv.Key, kv.Value)
		}
	}
}

// TestOneBuildPerSegmentUnderConcurrentFlushes defines an index while
// segments are being flushed: every segment gets exactly one build,
// whether CreateIndex or the flush notification schedules it.
func TestOneBuildPerSegmentUnderConcurrentFlushes(t *testing.T) {
	for round := range 10 {
		e := newEnv(t)
		e.coll = testCollection(int64(10 + round))
		var mu sync.Mutex
		var segs []int64
		var wg sync.WaitGroup
		errc := make(chan error, 5)
		for g := range 4 {
			wg.Go(func() {
				for range 10 {
					// A partition per goroutine: each flush seals its own segment.
					id, err := e.flushE(e.coll, int64(20+g), 3)
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					segs = append(segs, id)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			if err := e.create(vecField, "v_idx", map[string]string{"index_type": "FLAT", "metric_type": "L2"}); err != nil {
				errc <- err
			}
		})
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		e.ic.mu.Lock()
		perSeg := map[int64]int{}
		for _, b := range e.ic.builds {
			perSeg[b.SegmentID]++
		}
		e.ic.mu.Unlock()
		for _, seg := range segs {
			if perSeg[seg] != 1 {
				t.Fatalf("round %d: segment %d has %d builds", round, seg, perSeg[seg])
			}
		}
		list, _ := e.store.List(context.Background(), prefixBuild)
		if len(list) != len(segs) {
			t.Fatalf("round %d: %d build records for %d segments", round, len(list), len(segs))
		}
	}
}

// TestBuildWaitsForAnIndexNode: while no index node is reachable (none
// running, or the one building was killed) a build is not failed: it is
// tried again until a node answers.
func TestBuildWaitsForAnIndexNode(t *testing.T) {
	e := newEnv(t)
	e.builder.down = 3
	seg := e.flush(t, e.coll, 30)
	if err := e.create(vecField, "v_idx", map[string]string{"index_type": "HNSW", "metric_type": "L2", "M": "8", "efConstruction": "32"}); err != nil {
		t.Fatal(err)
	}
	def := must(e.ic.Indexes(bg, e.coll.ID))[0]
	e.run(t)
	eventually(t, "the build finished", func() bool { return must(e.ic.IndexProgress(bg, def)).State == commonpb.IndexState_Finished })
	builds := must(e.ic.SegmentIndexes(bg, seg))
	if len(builds) != 1 || builds[0].State != commonpb.IndexState_Finished || builds[0].FailReason != "" {
		t.Fatalf("builds %+v", builds)
	}
	e.builder.mu.Lock()
	defer e.builder.mu.Unlock()
	if e.builder.calls != 4 {
		t.Fatalf("%d build calls, want 4 (3 with no node, then the build)", e.builder.calls)
	}
}
