package retention

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
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
	"github.com/milvago/milvago/internal/querycoord"
	"github.com/milvago/milvago/internal/querynode"
	"github.com/milvago/milvago/internal/rootcoord"
	"github.com/milvago/milvago/internal/streaming"
)

const pch = "dml_0"

// stack is the write path, a data node and the retention loop over an
// in-memory log, with two collections sharing one pchannel.
type stack struct {
	t       *testing.T
	ctx     context.Context
	store   *kv.Memory
	log     *logbroker.Memory
	objects objstore.Store
	root    *rootcoord.Server
	data    *datacoord.Server
	w       *streaming.Writer
	colls   []*model.Collection
	r       *Server
	rows    map[int64]int64 // rows inserted, by collection
}

func testColl(id int64) *model.Collection {
	vc := pch + "_" + string(rune('0'+id)) + "v0"
	return &model.Collection{ID: id, Name: "c" + vc, VChannels: []string{vc}, PChannels: []string{pch},
		Partitions: []model.Partition{{ID: id * 10, Name: model.DefaultPartition}},
		Schema: &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
			{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
			{FieldID: 101, Name: "v", DataType: schemapb.DataType_FloatVector, TypeParams: []*commonpb.KeyValuePair{{Key: "dim", Value: "2"}}},
		}}}
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, ctx: ctx, store: kv.NewMemory(), log: logbroker.NewMemory(logbroker.MemoryConfig{}), objects: objstore.NewMemory(),
		colls: []*model.Collection{testColl(1), testColl(2)}, rows: map[int64]int64{}}
	t.Cleanup(func() { s.log.Close(); s.store.Close() })
	var err error
	if s.root, err = rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: s.store}); err != nil {
		t.Fatal(err)
	}
	if s.data, err = datacoord.New(ctx, datacoord.Default(), datacoord.Deps{KV: s.store, IDs: s.root}); err != nil {
		t.Fatal(err)
	}
	s.w = streaming.New(streaming.Default(), streaming.Deps{Log: s.log, TSO: s.root, Segments: s.data})
	if s.r, err = New(Config{Interval: time.Hour, Window: 0}, Deps{Log: s.log, Checkpoints: s.data,
		Collections: func(context.Context) ([]*model.Collection, error) { return s.colls, nil }}); err != nil {
		t.Fatal(err)
	}
	return s
}

// startNode runs a data node until stop, which loses its buffers.
func (s *stack) startNode() (stop func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	n := datanode.New(datanode.Deps{Log: s.log, Objects: s.objects, Coord: s.data, IDs: s.root})
	for _, c := range s.colls {
		if err := n.Watch(ctx, c); err != nil {
			s.t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	s.t.Cleanup(stop)
	return stop
}

func (s *stack) insert(c *model.Collection, from, to int64) {
	s.t.Helper()
	var pks []int64
	var vecs []float32
	for pk := from; pk < to; pk++ {
		pks = append(pks, pk)
		vecs = append(vecs, float32(pk), 1)
	}
	f := c.Schema.GetFields()
	vc := c.VChannels[0]
	ins := &msgpb.InsertRequest{CollectionID: c.ID, PartitionID: c.Partitions[0].ID, NumRows: uint64(len(pks)), ShardName: vc,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: pks}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: 2, Data: vecs}, f[1]),
		}}
	if _, err := s.w.AppendInsert(s.ctx, pch, contract.Insert{CollectionID: c.ID, PartitionID: c.Partitions[0].ID, VChannel: vc,
		Rows: int64(len(pks)), Bytes: int64(len(pks) * 16), Message: &msg.Message{Kind: msg.KindInsert, VChannel: vc, Insert: ins}}); err != nil {
		s.t.Fatal(err)
	}
	s.rows[c.ID] += to - from
}

// seal seals c's growing segment and waits until it is flushed and the
// checkpoint reached the Seal message.
func (s *stack) seal(c *model.Collection) {
	s.t.Helper()
	vc := c.VChannels[0]
	ids, _, err := s.w.Seal(s.ctx, pch, vc, c.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	latest := s.latest()
	eventually(s.t, "flush", func() bool {
		return must(s.data.Flushed(bg, ids)) && must(s.data.GetCheckpoint(bg, vc)).Position >= uint64(latest)
	})
}

func (s *stack) latest() logbroker.MessageID {
	s.t.Helper()
	id, err := s.log.Latest(s.ctx, pch)
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

func (s *stack) cp(c *model.Collection) uint64 {
	return must(s.data.GetCheckpoint(bg, c.VChannels[0])).Position
}

// readable reports whether a reader may start after position after.
func (s *stack) readable(after uint64) bool {
	s.t.Helper()
	r, err := s.log.Read(s.ctx, pch, logbroker.MessageID(after))
	if errors.Is(err, logbroker.ErrTruncated) {
		return false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	r.Close()
	return true
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

// TestTruncationBehindTheDataNode flushes one collection while the other
// sharing its pchannel has a growing segment: the log is truncated to the
// smaller checkpoint, not into the growing segment; a data node restarted
// over the truncated log rebuilds that segment, and a query node loading
// both collections from their plans serves every row.
func TestTruncationBehindTheDataNode(t *testing.T) {
	s := newStack(t)
	a, b := s.colls[0], s.colls[1]
	stop := s.startNode()

	s.insert(a, 0, 10)
	s.seal(a)
	// A tick with nothing buffered anywhere gives both vchannels a checkpoint.
	ts, err := s.root.AllocTimestamp(s.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.w.SyncTo(s.ctx, pch, ts); err != nil {
		t.Fatal(err)
	}
	tick := uint64(s.latest())
	eventually(t, "checkpoints at the tick", func() bool { return s.cp(a) == tick && s.cp(b) == tick })

	s.insert(b, 0, 5) // b's segment grows from here on
	s.insert(a, 10, 30)
	s.seal(a)
	if s.cp(b) != tick || s.cp(a) <= tick {
		t.Fatalf("checkpoints a %d, b %d; want b at the tick %d and a past it", s.cp(a), s.cp(b), tick)
	}
	if err := s.r.pass(s.ctx); err != nil {
		t.Fatal(err)
	}
	if !s.readable(tick) || s.readable(tick-1) {
		t.Fatalf("truncation point: reading after %d: %v, after %d: %v; want it at b's checkpoint %d",
			tick, s.readable(tick), tick-1, s.readable(tick-1), tick)
	}
	var growing model.Segment
	for _, seg := range must(s.data.Segments(bg, b.ID, "")) {
		if seg.State == model.SegmentGrowing {
			growing = seg
		}
	}
	if growing.ID == 0 || !s.readable(growing.StartPosition) {
		t.Fatalf("b's growing segment %+v was truncated", growing)
	}

	// Crash the data node: b's buffered rows exist only in the log now.
	stop()
	s.insert(a, 30, 35)
	s.startNode()
	s.seal(b)
	s.seal(a)
	if err := s.r.pass(s.ctx); err != nil {
		t.Fatal(err)
	}
	low := min(s.cp(a), s.cp(b))
	if !s.readable(low) || s.readable(low-1) {
		t.Fatalf("not truncated up to the smallest checkpoint %d", low)
	}
	for _, c := range s.colls {
		if got := must(s.data.RowCount(bg, c.ID, 0)); got != s.rows[c.ID] {
			t.Fatalf("collection %d: %d rows flushed, want %d", c.ID, got, s.rows[c.ID])
		}
	}

	// More rows that only the log holds, then a query node loads both
	// collections from plans over the truncated log.
	s.insert(a, 35, 40)
	s.insert(b, 5, 8)
	s.checkServed()
}

// indexes says every collection has an index on its vector field and no
// segment has a finished build (segments are searched by brute force).
type indexes struct{}

func (indexes) Indexes(context.Context, int64) ([]model.IndexDef, error) {
	return []model.IndexDef{{FieldID: 101}}, nil
}
func (indexes) SegmentIndexes(context.Context, int64) ([]model.SegmentIndex, error) { return nil, nil }

type colls []*model.Collection

func (cs colls) DescribeCollection(_ context.Context, _, _ string, id int64) (*model.Collection, error) {
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, errors.New("no such collection")
}

func (s *stack) checkServed() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	qn := querynode.New(querynode.Deps{Log: s.log, Objects: s.objects, Syncer: s.w})
	qn.Start(ctx)
	done := make(chan struct{})
	go func() { qn.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	qc, err := querycoord.New(ctx, querycoord.Deps{KV: s.store, Data: s.data, Indexes: indexes{}, Nodes: querycoord.OneNode(1, qn),
		IDs: s.root, Collections: colls(s.colls)})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := qc.SetNodes(ctx, []querycoord.NodeInfo{{ID: 1}}); err != nil {
		s.t.Fatal(err)
	}
	for _, c := range s.colls {
		if err := qc.LoadCollection(ctx, c, nil, 1); err != nil {
			s.t.Fatal(err)
		}
		eventually(s.t, "load", func() bool { p, _ := must2(qn.Progress(bg, c.ID)); return p == 100 })
		ts, err := s.root.AllocTimestamp(ctx, 1)
		if err != nil {
			s.t.Fatal(err)
		}
		qctx, qcancel := context.WithTimeout(ctx, 20*time.Second)
		res, err := qn.Query(qctx, &contract.QueryRequest{CollectionID: c.ID, VChannel: c.VChannels[0], GuaranteeTS: ts, CountOnly: true})
		qcancel()
		if err != nil {
			s.t.Fatal(err)
		}
		if res.Count != s.rows[c.ID] {
			s.t.Fatalf("collection %d serves %d rows, want %d", c.ID, res.Count, s.rows[c.ID])
		}
	}
}
