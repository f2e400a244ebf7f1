package querynode

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/datanode"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/segment"
	"github.com/milvago/milvago/internal/streaming"
)

// stressColls describes the stress collection to compaction.
type stressColls struct{ c *model.Collection }

func (s stressColls) DescribeCollection(context.Context, string, string, int64) (*model.Collection, error) {
	return s.c, nil
}

// handoffs plays the query coordinator's part: a flushed segment is handed
// off at once, a compacted one only once "its index is built" (after a
// random delay), and not at all when it was dropped meanwhile (compacted
// again), as the query coordinator's IndexBuilt finds no live segment.
type handoffs struct {
	t    *testing.T
	qn   *Server
	data *datacoord.Server
	ctx  context.Context
	wg   sync.WaitGroup
	mu   sync.Mutex
	rnd  *rand.Rand
}

func (h *handoffs) delay(max int) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Duration(h.rnd.IntN(max)) * time.Millisecond
}

func (h *handoffs) SegmentFlushed(_ context.Context, seg *model.Segment) error {
	s := *seg
	h.wg.Go(func() {
		if len(s.CompactedFrom) > 0 && s.State == model.SegmentFlushed {
			time.Sleep(h.delay(40)) // the index build
			cur, ok, err := h.data.Segment(h.ctx, s.ID)
			if err != nil || !ok || cur.State != model.SegmentFlushed {
				return // compacted again before its index was built: never handed off
			}
		} else {
			time.Sleep(h.delay(3))
		}
		if os.Getenv("MILVAGO_STRESS_DEBUG") != "" {
			h.t.Logf("handoff %d from %v state %v", s.ID, s.CompactedFrom, s.State)
		}
		if err := h.qn.SyncSegment(h.ctx, collID, contract.SegmentPlan{Segment: s}); err != nil && h.ctx.Err() == nil {
			h.t.Logf("handoff of %d: %v", s.ID, err)
		}
	})
	return nil
}

// TestStressCountIsDistinctKeys runs random inserts, upserts, deletes,
// flushes, compactions (real data node, real data coordinator) and garbage
// collection that forgets compacted sources at once, with handoffs in any
// order, while a reader checks on every read that count(*) equals the
// number of distinct primary keys a query returns at the same MVCC
// timestamp. MILVAGO_STRESS_STEPS sets the number of steps (default 250).
func TestStressCountIsDistinctKeys(t *testing.T) {
	steps := 250
	if v, err := strconv.Atoi(os.Getenv("MILVAGO_STRESS_STEPS")); err == nil {
		steps = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("MILVAGO_STRESS_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))

	ctx, cancel := context.WithCancel(context.Background())
	store := kv.NewMemory()
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	objects := objstore.NewMemory()
	var wg sync.WaitGroup
	h := &handoffs{t: t, ctx: ctx, rnd: rand.New(rand.NewPCG(seed, 2))}
	t.Cleanup(func() {
		cancel()
		// The data node and query node first: until the data node has
		// stopped, a flush may still start a handoff (h.wg.Go), and a
		// WaitGroup's Add must not race its Wait.
		wg.Wait()
		h.wg.Wait()
		log.Close()
		store.Close()
	})
	root := must(rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store}))
	cfg := datacoord.Default()
	cfg.Compaction.Auto = false // the test compacts
	data := must(datacoord.New(ctx, cfg, datacoord.Deps{KV: store, IDs: root, Objects: objects}))
	w := streaming.New(streaming.Default(), streaming.Deps{Log: log, TSO: root, Segments: data})
	coll := &model.Collection{ID: collID, Name: "c", VChannels: []string{vch}, PChannels: []string{pch},
		Partitions: []model.Partition{{ID: part, Name: model.DefaultPartition}},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_Int64},
		}}}
	dn := datanode.New(datanode.Deps{Log: log, Objects: objects, Coord: data, IDs: root})
	mustDo(dn.Watch(ctx, coll))
	data.Attach(dn, stressColls{coll}, nil)
	qn := New(Deps{Log: log, Objects: objects, Syncer: w})
	qn.Start(ctx)
	h.qn, h.data = qn, data
	data.AddListener(h)
	wg.Go(func() { dn.Run(ctx) })
	wg.Go(func() { qn.Run(ctx) })
	mustDo(qn.LoadCollection(ctx, coll, nil, []contract.ChannelPlan{{VChannel: vch, PChannel: pch}}))
	eventually(t, "progress 100", func() bool { p, _ := must2(qn.Progress(bg, collID)); return p == 100 })

	model := map[int64]int64{}
	write := func(kind msg.Kind, pks []int64, v int64) {
		vs := make([]int64, len(pks))
		for i := range vs {
			vs[i] = v
			model[pks[i]] = v
		}
		f := coll.Schema.GetFields()
		m := &msg.Message{Kind: kind, VChannel: vch, Insert: &msgpb.InsertRequest{CollectionID: collID, PartitionID: part,
			NumRows: uint64(len(pks)), ShardName: vch, FieldsData: []*schemapb.FieldData{
				column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks}, f[0]),
				column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: vs}, f[1]),
			}}}
		if kind == msg.KindUpsert {
			m.Delete = &msgpb.DeleteRequest{CollectionID: collID, ShardName: vch, NumRows: int64(len(pks)),
				PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: pks}}}}
		}
		must(w.AppendInsert(ctx, pch, contract.Insert{CollectionID: collID, PartitionID: part, VChannel: vch,
			Rows: int64(len(pks)), Bytes: int64(len(pks) * 16), Message: m}))
	}
	// The reader: count(*) and the query at one pinned MVCC timestamp.
	var reads, bad, vanished atomic.Int64
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			g := must(root.AllocTimestamp(ctx, 1))
			rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
			q, err := qn.Query(rctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: g, PinMVCC: true})
			var n *contract.QueryResult
			if err == nil {
				n, err = qn.Query(rctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: g, PinMVCC: true, CountOnly: true})
			}
			rcancel()
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("read: %v", err)
				}
				return
			}
			reads.Add(1)
			// The count ran after the query: a duplicate makes it larger.
			// It may be smaller: a compaction handed off in between drops
			// rows deleted after g, which a read at g saw before.
			if n.Count > int64(len(q.IntPKs)) {
				if bad.Add(1) <= 3 {
					t.Errorf("at %d: count(*) %d, query %d distinct keys%s", g, n.Count, len(q.IntPKs), duplicates(qn, g))
				}
			} else if n.Count < int64(len(q.IntPKs)) {
				vanished.Add(1)
			}
			// The same invariant exactly, over one snapshot of the shard.
			if count, distinct, err := snapshotCounts(qn); err != nil {
				t.Errorf("snapshot: %v", err)
			} else if count != distinct {
				if bad.Add(1) <= 3 {
					t.Errorf("one snapshot: count(*) %d, %d distinct keys", count, distinct)
				}
			}
		}
	}()
	next := int64(0)
	keys := func() []int64 {
		return slices.Sorted(func(yield func(int64) bool) {
			for k := range model {
				if !yield(k) {
					return
				}
			}
		})
	}
	for step := range steps {
		switch op := r.IntN(10); {
		case op < 3:
			var pks []int64
			for range 1 + r.IntN(30) {
				pks = append(pks, next)
				next++
			}
			write(msg.KindInsert, pks, int64(step))
		case op < 5 && len(model) > 0:
			ks := keys()
			seen := map[int64]bool{}
			var pks []int64
			for range 1 + r.IntN(10) {
				if k := ks[r.IntN(len(ks))]; !seen[k] {
					seen[k] = true
					pks = append(pks, k)
				}
			}
			write(msg.KindUpsert, pks, int64(1000+step))
		case op < 6 && len(model) > 0:
			var pks []int64
			for _, k := range keys() {
				if r.IntN(4) == 0 {
					pks = append(pks, k)
					delete(model, k)
				}
			}
			if len(pks) > 0 {
				m := &msg.Message{Kind: msg.KindDelete, VChannel: vch, Delete: &msgpb.DeleteRequest{CollectionID: collID, ShardName: vch,
					NumRows: int64(len(pks)), PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: pks}}}}}
				must(w.AppendDelete(ctx, pch, m))
			}
		case op < 8:
			must3(w.Seal(ctx, pch, vch, collID))
		case op < 9:
			if _, _, err := data.ManualCompaction(ctx, collID, false); err != nil {
				t.Fatalf("compaction: %v", err)
			}
		default:
			// Forget dropped segments at once (the checkpoint permitting):
			// compacted sources leave the lineage of later compactions.
			mustDo(data.CollectGarbage(ctx, time.Now().Add(24*time.Hour)))
		}
		if r.IntN(4) == 0 {
			time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
		}
	}
	close(stop)
	<-readerDone
	// Settle: flush, let compactions and handoffs finish, then compare with
	// the model.
	must3(w.Seal(ctx, pch, vch, collID))
	want := keys()
	last := ""
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		g := must(root.AllocTimestamp(ctx, 1))
		q, err := qn.Query(ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: g, PinMVCC: true})
		if err != nil {
			last = err.Error()
			continue
		}
		n, err := qn.Query(ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: g, PinMVCC: true, CountOnly: true})
		if err == nil && slices.Equal(q.IntPKs, want) && n.Count == int64(len(want)) {
			break
		}
		var missing, extra []int64
		for _, k := range want {
			if _, ok := slices.BinarySearch(q.IntPKs, k); !ok {
				missing = append(missing, k)
			}
		}
		for _, k := range q.IntPKs {
			if _, ok := slices.BinarySearch(want, k); !ok {
				extra = append(extra, k)
			}
		}
		count := int64(-1)
		if n != nil {
			count = n.Count
		}
		last = fmt.Sprintf("%d keys (want %d), count(*) %d; missing %v; extra %v%s", len(q.IntPKs), len(want), count, missing, extra, duplicates(qn, g))
		if time.Now().After(deadline) {
			t.Fatalf("the shard did not settle on the model: %s", last)
		}
	}
	t.Logf("%d steps, %d reads, %d with duplicates, %d where a compaction dropped rows deleted after the read time between query and count",
		steps, reads.Load(), bad.Load(), vanished.Load())
}

// snapshotCounts counts the rows of one snapshot of the shard at its
// service time, as count(*) does, and the distinct keys among them.
func snapshotCounts(qn *Server) (count, distinct int64, err error) {
	dl, err := qn.shard(collID, vch)
	if err != nil {
		return 0, 0, err
	}
	mvcc := dl.tsafe.Load()
	rs := dl.snapshot(nil, false)
	defer rs.release()
	keys := map[int64]bool{}
	for _, s := range rs.segs {
		n, err := s.Count(bg, nil, mvcc)
		if err != nil {
			return 0, 0, err
		}
		count += n
		r, err := s.Query(bg, &segment.QueryRequest{MVCCTs: mvcc})
		if err != nil {
			return 0, 0, err
		}
		for _, k := range r.IntPKs {
			keys[k] = true
		}
	}
	return count, int64(len(keys)), nil
}

// duplicates describes the keys visible twice at ts, with their segments.
func duplicates(qn *Server, ts uint64) string {
	if os.Getenv("MILVAGO_STRESS_DEBUG") == "" {
		return ""
	}
	dl, err := qn.shard(collID, vch)
	if err != nil {
		return err.Error()
	}
	rs := dl.snapshot(nil, false)
	defer rs.release()
	where := map[int64][]string{}
	for _, s := range rs.segs {
		r, err := s.Query(bg, &segment.QueryRequest{MVCCTs: ts})
		if err != nil {
			return err.Error()
		}
		for i, k := range r.IntPKs {
			where[k] = append(where[k], fmt.Sprintf("%d@%d(%T)", s.ID(), r.Timestamps[i], s))
		}
	}
	out, n := "", 0
	for k, w := range where {
		if len(w) > 1 && n < 5 {
			out += fmt.Sprintf("\n  key %d in %v", k, w)
			n++
		}
	}
	return out
}

func must3[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}
