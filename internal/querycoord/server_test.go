package querycoord

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/indexcoord"
	"github.com/milvago/milvago/internal/indexnode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/streaming"
)

const (
	testNode   = 1
	dim        = 4
	vecField   = 101
	pkField    = 100
	maxSegRows = 25
)

// cluster is standalone's component graph below the proxy, over in-memory
// plug-ins, wired as internal/app wires it.
type cluster struct {
	store   *kv.Memory
	log     *logbroker.Memory
	objects *objstore.Memory
	root    *rootcoord.Server
	data    *datacoord.Server
	w       *streaming.Writer
	dnode   *datanode.Server
	icoord  *indexcoord.Server
	qnode   *querynode.Server
	qcoord  *Server
	coll    *model.Collection
	ctx     context.Context

	qcancel context.CancelFunc
	qdone   chan struct{}

	// live is the model: every visible row's vector by primary key.
	live map[int64][]float32
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{store: kv.NewMemory(), log: logbroker.NewMemory(logbroker.MemoryConfig{}), objects: objstore.NewMemory(), ctx: ctx, live: map[int64][]float32{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		c.stopQuery()
		cancel()
		wg.Wait()
		c.log.Close()
		c.store.Close()
	})
	var err error
	rcfg := rootcoord.Default()
	rcfg.PChannelPrefix, rcfg.PChannels = "dml", 2
	if c.root, err = rootcoord.New(ctx, rcfg, rootcoord.Deps{KV: c.store}); err != nil {
		t.Fatal(err)
	}
	dcfg := datacoord.Default()
	dcfg.MaxSegmentRows = maxSegRows
	if c.data, err = datacoord.New(ctx, dcfg, datacoord.Deps{KV: c.store, IDs: c.root}); err != nil {
		t.Fatal(err)
	}
	c.w = streaming.New(streaming.Default(), streaming.Deps{Log: c.log, TSO: c.root, Segments: c.data})
	c.dnode = datanode.New(datanode.Deps{Log: c.log, Objects: c.objects, Coord: c.data, IDs: c.root})
	if c.icoord, err = indexcoord.New(ctx, indexcoord.Deps{KV: c.store, IDs: c.root, Segments: c.data, Builder: indexnode.New(c.objects, nil)}); err != nil {
		t.Fatal(err)
	}
	c.data.AddListener(c.icoord)
	c.startQuery(t)
	for _, run := range []func(context.Context) error{c.w.Run, c.dnode.Run, c.icoord.Run} {
		wg.Go(func() { run(ctx) })
	}
	schema := &schemapb.CollectionSchema{Name: "docs", Fields: []*schemapb.FieldSchema{
		{FieldID: pkField, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: vecField, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "4"}}},
	}}
	if c.coll, err = c.root.CreateCollection(ctx, contract.CreateCollectionRequest{Schema: schema, ShardsNum: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.dnode.Watch(ctx, c.coll); err != nil {
		t.Fatal(err)
	}
	return c
}

// startQuery starts a query node and a query coordinator over the shared
// meta store, as a restarted server would.
func (c *cluster) startQuery(t *testing.T) { c.startQueryVia(t, nil) }

// startQueryVia is startQuery with the coordinator reaching the node
// through wrap (nil: directly).
func (c *cluster) startQueryVia(t *testing.T, wrap func(QueryNode) QueryNode) {
	t.Helper()
	ctx, cancel := context.WithCancel(c.ctx)
	c.qnode = querynode.New(querynode.Deps{Log: c.log, Objects: c.objects, Syncer: c.w})
	c.qnode.Start(ctx)
	done := make(chan struct{})
	go func() { c.qnode.Run(ctx); close(done) }()
	c.qcancel, c.qdone = cancel, done
	var err error
	var node QueryNode = c.qnode
	if wrap != nil {
		node = wrap(node)
	}
	if c.qcoord, err = New(ctx, Deps{KV: c.store, Data: c.data, Indexes: c.icoord, Nodes: OneNode(testNode, node), IDs: c.root, Collections: c.root}); err != nil {
		t.Fatal(err)
	}
	if err := c.qcoord.SetNodes(ctx, []NodeInfo{{ID: testNode}}); err != nil {
		t.Fatal(err)
	}
	c.data.AddListener(c.qcoord)
	c.icoord.AddListener(c.qcoord)
}

func (c *cluster) stopQuery() {
	if c.qcancel != nil {
		c.qcancel()
		<-c.qdone
		c.qcancel = nil
	}
}

func vectorOf(pk int64, version int) []float32 {
	return []float32{float32(pk % 17), float32(pk % 5), float32(pk%3) + float32(version*50), 1}
}

func shardOf(pk int64) int { return int(pk % 2) }

// write inserts (or upserts) rows, routing each to its shard by key.
func (c *cluster) write(t *testing.T, kind msg.Kind, version int, pks ...int64) {
	t.Helper()
	byShard := map[int][]int64{}
	for _, pk := range pks {
		byShard[shardOf(pk)] = append(byShard[shardOf(pk)], pk)
	}
	part := c.coll.Partitions[0].ID
	f := c.coll.Schema.GetFields()
	for _, shard := range slices.Sorted(maps.Keys(byShard)) {
		keys := byShard[shard]
		vecs := make([]float32, 0, len(keys)*dim)
		for _, pk := range keys {
			v := vectorOf(pk, version)
			vecs = append(vecs, v...)
			c.live[pk] = v
		}
		vc := c.coll.VChannels[shard]
		ins := &msgpb.InsertRequest{CollectionID: c.coll.ID, PartitionID: part, NumRows: uint64(len(keys)), ShardName: vc,
			FieldsData: []*schemapb.FieldData{
				column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: keys}, f[0]),
				column.ToFieldData(&column.FloatVector{Dim: dim, Data: vecs}, f[1]),
			}}
		m := &msg.Message{Kind: kind, VChannel: vc, Insert: ins}
		if kind == msg.KindUpsert {
			m.Delete = &msgpb.DeleteRequest{CollectionID: c.coll.ID, ShardName: vc, NumRows: int64(len(keys)),
				PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: keys}}}}
		}
		if _, err := c.w.AppendInsert(c.ctx, c.coll.PChannels[shard], contract.Insert{CollectionID: c.coll.ID, PartitionID: part,
			VChannel: vc, Rows: int64(len(keys)), Bytes: int64(len(keys) * 24), Message: m}); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *cluster) insertRange(t *testing.T, from, to int64) {
	t.Helper()
	for lo := from; lo < to; lo += 10 {
		var pks []int64
		for pk := lo; pk < min(lo+10, to); pk++ {
			pks = append(pks, pk)
		}
		c.write(t, msg.KindInsert, 0, pks...)
	}
}

func (c *cluster) delete(t *testing.T, pks ...int64) {
	t.Helper()
	for _, pk := range pks {
		shard := shardOf(pk)
		vc := c.coll.VChannels[shard]
		m := &msg.Message{Kind: msg.KindDelete, VChannel: vc, Delete: &msgpb.DeleteRequest{CollectionID: c.coll.ID, ShardName: vc, NumRows: 1,
			PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{pk}}}}}}
		if _, err := c.w.AppendDelete(c.ctx, c.coll.PChannels[shard], m); err != nil {
			t.Fatal(err)
		}
		delete(c.live, pk)
	}
}

func (c *cluster) sealAll(t *testing.T) []int64 {
	t.Helper()
	var all []int64
	for i, vc := range c.coll.VChannels {
		ids, _, err := c.w.Seal(c.ctx, c.coll.PChannels[i], vc, c.coll.ID)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids...)
	}
	return all
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

func (c *cluster) createIndex(t *testing.T) model.IndexDef {
	t.Helper()
	err := c.icoord.CreateIndex(c.ctx, contract.CreateIndexRequest{Collection: c.coll, Field: c.coll.FieldByID(vecField), Name: "v_idx",
		Params: map[string]string{"index_type": "FLAT", "metric_type": "L2"}})
	if err != nil {
		t.Fatal(err)
	}
	return must(c.icoord.Indexes(bg, c.coll.ID))[0]
}

func (c *cluster) now(t *testing.T) uint64 {
	t.Helper()
	ts, err := c.root.AllocTimestamp(c.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// read queries, counts and searches every shard at Strong consistency
// and compares with the model; it returns an error rather than failing so
// that it can run on other goroutines.
func (c *cluster) read(ctx context.Context, guarantee uint64) error {
	var queried, searched []int64
	var count int64
	query := []float32{0, 0, 0, 0}
	for _, vc := range c.coll.VChannels {
		q, err := c.qnode.Query(ctx, &contract.QueryRequest{CollectionID: c.coll.ID, VChannel: vc, GuaranteeTS: guarantee, OutputFields: []int64{vecField}})
		if err != nil {
			return err
		}
		queried = append(queried, q.IntPKs...)
		vecs, _ := q.Fields[vecField].(*column.FloatVector)
		if vecs == nil && len(q.IntPKs) > 0 {
			return fmt.Errorf("query returned no vectors")
		}
		for i, pk := range q.IntPKs {
			if want := c.live[pk]; !slices.Equal(vecs.Row(i), want) {
				return fmt.Errorf("query: key %d has vector %v, want %v", pk, vecs.Row(i), want)
			}
		}
		n, err := c.qnode.Query(ctx, &contract.QueryRequest{CollectionID: c.coll.ID, VChannel: vc, GuaranteeTS: guarantee, CountOnly: true})
		if err != nil {
			return err
		}
		count += n.Count
		s, err := c.qnode.Search(ctx, &contract.SearchRequest{CollectionID: c.coll.ID, VChannel: vc, GuaranteeTS: guarantee,
			Search: segment.SearchRequest{FieldID: vecField, Queries: index.Dataset{Dim: dim, Float: query}, Metric: index.L2,
				Params: index.SearchParams{K: 1000}}})
		if err != nil {
			return err
		}
		for i, pk := range s.IntPKs {
			v := c.live[pk]
			var d float32
			for _, x := range v {
				d += x * x
			}
			if s.Scores[i] != d {
				return fmt.Errorf("search: key %d scored %v, want %v (stale version?)", pk, s.Scores[i], d)
			}
		}
		searched = append(searched, s.IntPKs...)
	}
	want := slices.Sorted(maps.Keys(c.live))
	slices.Sort(queried)
	slices.Sort(searched)
	if !slices.Equal(queried, want) {
		return fmt.Errorf("query returned %d keys %v, want %d %v", len(queried), queried, len(want), want)
	}
	if !slices.Equal(searched, want) {
		return fmt.Errorf("search returned %d keys, want %d", len(searched), len(want))
	}
	if count != int64(len(want)) {
		return fmt.Errorf("count %d, want %d", count, len(want))
	}
	return nil
}

func (c *cluster) waitLoaded(t *testing.T) {
	t.Helper()
	eventually(t, "load progress 100", func() bool { return must(c.qcoord.State(bg, c.coll.ID)).Progress == 100 })
}

// TestLoadHandoffReleaseRecover loads a collection whose rows are partly
// flushed and partly still in the log, with deletes and an upsert in both,
// reads it at Strong consistency while its growing segments are flushed,
// indexed and handed off, then releases it and restarts the query side.
func TestLoadHandoffReleaseRecover(t *testing.T) {
	c := newCluster(t)
	def := c.createIndex(t)

	c.insertRange(t, 0, 60) // ~30 rows a shard: the first segment of each fills and is sealed
	c.delete(t, 3, 8)
	c.write(t, msg.KindUpsert, 1, 4, 11)
	c.insertRange(t, 60, 120) // seals again: flushes the deletes and the upsert
	eventually(t, "delete logs flushed on both shards", func() bool {
		return len(must(c.data.DeltaLogs(bg, c.coll.VChannels[0]))) > 0 && len(must(c.data.DeltaLogs(bg, c.coll.VChannels[1]))) > 0
	})
	c.delete(t, 9, 100, 2)                // in the log only: flushed and growing rows
	c.write(t, msg.KindUpsert, 2, 4, 110) // upsert of a flushed row again, and of a growing one
	c.insertRange(t, 120, 130)

	if err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	c.waitLoaded(t)
	if err := c.read(c.ctx, c.now(t)); err != nil {
		t.Fatal(err)
	}

	// Hand off every growing segment while readers run.
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	var reads atomic.Int64
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				ts, err := c.root.AllocTimestamp(c.ctx, 1)
				if err == nil {
					err = c.read(c.ctx, ts)
				}
				if err != nil {
					errc <- err
					return
				}
				reads.Add(1)
			}
		})
	}
	sealed := c.sealAll(t)
	if len(sealed) == 0 {
		t.Fatal("nothing was growing")
	}
	eventually(t, "handed-off segments flushed", func() bool { return must(c.data.Flushed(bg, sealed)) })
	eventually(t, "every segment indexed", func() bool {
		p := must(c.icoord.IndexProgress(bg, def))
		return p.State == commonpb.IndexState_Finished && p.IndexedRows == p.TotalRows
	})
	start := reads.Load()
	eventually(t, "reads after the handoff", func() bool { return reads.Load() >= start+6 || len(errc) > 0 })
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if p := must(c.qcoord.State(bg, c.coll.ID)).Progress; p != 100 {
		t.Fatalf("progress %d after the handoff", p)
	}

	// Restart the query side: the load survives and Recover serves it again.
	c.stopQuery()
	c.startQuery(t)
	if st := must(c.qcoord.State(bg, c.coll.ID)); !st.Loaded {
		t.Fatalf("state after restart: %+v", st)
	}
	if err := c.qcoord.Recover(c.ctx); err != nil {
		t.Fatal(err)
	}
	c.waitLoaded(t)
	if err := c.read(c.ctx, c.now(t)); err != nil {
		t.Fatalf("after recover: %v", err)
	}

	// Release frees the collection; a restart does not bring it back.
	if err := c.qcoord.ReleaseCollection(c.ctx, c.coll.ID); err != nil {
		t.Fatal(err)
	}
	if st := must(c.qcoord.State(bg, c.coll.ID)); st.Loaded {
		t.Fatalf("state after release: %+v", st)
	}
	_, err := c.qnode.Query(c.ctx, &contract.QueryRequest{CollectionID: c.coll.ID, VChannel: c.coll.VChannels[0], GuaranteeTS: 1, CountOnly: true})
	if !errors.Is(err, errs.ErrCollectionNotLoaded) {
		t.Fatalf("query after release: %v", err)
	}
	if _, ok := must2(c.qnode.Progress(bg, c.coll.ID)); ok {
		t.Fatal("query node still reports progress after release")
	}
	c.stopQuery()
	c.startQuery(t)
	if ids := c.qcoord.LoadedCollections(); len(ids) != 0 {
		t.Fatalf("loaded after release and restart: %v", ids)
	}
}

func TestLoadRequiresAVectorIndex(t *testing.T) {
	c := newCluster(t)
	err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 1)
	if !errors.Is(err, errs.ErrIndexNotFound) {
		t.Fatalf("load without index: %v", err)
	}
	c.createIndex(t)
	if err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 2); !errors.Is(err, errs.ErrResourceGroupNodeNotEnough) {
		t.Fatalf("two replicas: %v", err)
	}
	if err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	c.waitLoaded(t) // an empty collection is loaded at once
	if err := c.read(c.ctx, c.now(t)); err != nil {
		t.Fatal(err)
	}
}

// gatedNode holds LoadCollection until released, after saying it was called.
type gatedNode struct {
	QueryNode
	entered chan struct{}
	release chan struct{}
}

func (g *gatedNode) LoadCollection(ctx context.Context, coll *model.Collection, partitions []int64, plans []contract.ChannelPlan) error {
	g.entered <- struct{}{}
	<-g.release
	return g.QueryNode.LoadCollection(ctx, coll, partitions, plans)
}

// TestHandoffDuringRecover flushes a segment while Recover is loading the
// collection with a plan made before the flush: the segment must still
// reach the query node sealed, not stay a growing segment for ever.
func TestHandoffDuringRecover(t *testing.T) {
	c := newCluster(t)
	c.createIndex(t)
	c.insertRange(t, 0, 20) // growing on both shards
	if err := c.qcoord.LoadCollection(c.ctx, c.coll, nil, 1); err != nil {
		t.Fatal(err)
	}
	c.waitLoaded(t)
	c.stopQuery()
	g := &gatedNode{entered: make(chan struct{}), release: make(chan struct{})}
	c.startQueryVia(t, func(n QueryNode) QueryNode { g.QueryNode = n; return g })
	recovered := make(chan error, 1)
	go func() { recovered <- c.qcoord.Recover(c.ctx) }()
	<-g.entered // the plan is made: nothing is flushed in it
	sealed := c.sealAll(t)
	eventually(t, "flush", func() bool { return must(c.data.Flushed(bg, sealed)) })
	close(g.release)
	if err := <-recovered; err != nil {
		t.Fatal(err)
	}
	c.waitLoaded(t)
	// Sealed rows only: every row must be in a handed-off segment.
	eventually(t, "the flushed rows served sealed", func() bool {
		n := 0
		for _, vc := range c.coll.VChannels {
			s, err := c.qnode.Search(c.ctx, &contract.SearchRequest{CollectionID: c.coll.ID, VChannel: vc, GuaranteeTS: c.now(t), IgnoreGrowing: true,
				Search: segment.SearchRequest{FieldID: vecField, Queries: index.Dataset{Dim: dim, Float: []float32{0, 0, 0, 0}}, Metric: index.L2,
					Params: index.SearchParams{K: 100}}})
			if err != nil {
				t.Fatal(err)
			}
			n += len(s.IntPKs)
		}
		return n == 20
	})
	if err := c.read(c.ctx, c.now(t)); err != nil {
		t.Fatal(err)
	}
}
