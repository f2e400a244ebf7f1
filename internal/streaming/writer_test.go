package streaming

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/rootcoord"
)

const pch = "dml_0"

type env struct {
	log  *logbroker.Memory
	root *rootcoord.Server
	data *datacoord.Server
	w    *Writer
}

func newEnv(t *testing.T, cfg Config, maxRows int64) *env {
	t.Helper()
	ctx := context.Background()
	store := kv.NewMemory()
	t.Cleanup(func() { store.Close() })
	root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
	if err != nil {
		t.Fatal(err)
	}
	dcfg := datacoord.Default()
	dcfg.MaxSegmentRows = maxRows
	data, err := datacoord.New(ctx, dcfg, datacoord.Deps{KV: store, IDs: root})
	if err != nil {
		t.Fatal(err)
	}
	log := logbroker.NewMemory(logbroker.MemoryConfig{})
	t.Cleanup(func() { log.Close() })
	return &env{log: log, root: root, data: data, w: New(cfg, Deps{Log: log, TSO: root, Segments: data})}
}

func insertOf(coll, part int64, vc string, rows int64) contract.Insert {
	pks := make([]int64, rows)
	ins := &msgpb.InsertRequest{CollectionID: coll, PartitionID: part, NumRows: uint64(rows), ShardName: vc,
		FieldsData: []*schemapb.FieldData{{FieldName: "id", FieldId: 100, Type: schemapb.DataType_Int64,
			Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: pks}}}}}}}
	return contract.Insert{CollectionID: coll, PartitionID: part, VChannel: vc, Rows: rows, Bytes: rows * 8,
		Message: &msg.Message{Kind: msg.KindInsert, VChannel: vc, Insert: ins}}
}

func deleteOf(coll int64, vc string, pks ...int64) *msg.Message {
	return &msg.Message{Kind: msg.KindDelete, VChannel: vc, Delete: &msgpb.DeleteRequest{CollectionID: coll, ShardName: vc, NumRows: int64(len(pks)),
		PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: pks}}}}}
}

type logged struct {
	id logbroker.MessageID
	m  *msg.Message
}

// readAll decodes every message of channel, up to its latest.
func readAll(t *testing.T, log logbroker.Log, channel string) []logged {
	t.Helper()
	ctx := context.Background()
	latest, err := log.Latest(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	r, err := log.Read(ctx, channel, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []logged
	for latest > 0 {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dm, err := msg.Decode(m.Payload, m.Properties)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, logged{m.ID, dm})
		if m.ID == latest {
			break
		}
	}
	return out
}

func latest(t *testing.T, log logbroker.Log, channel string) logbroker.MessageID {
	t.Helper()
	id, err := log.Latest(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestConcurrentAppendsAreOrderedAndSealed writes inserts and deletes to one
// physical channel from many goroutines, with segments small enough to be
// sealed many times, and checks the log: timestamps strictly increase, and
// a segment's Seal comes after its last insert and before the first insert
// of the segment that follows it.
func TestConcurrentAppendsAreOrderedAndSealed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Default(), 25)
	vcs := []string{pch + "_1v0", pch + "_2v0"}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 40 {
				vc := vcs[rng.IntN(2)]
				coll := int64(1 + rng.IntN(2)) // two collections share each vchannel here: the writer must not care
				var err error
				if rng.IntN(4) == 0 {
					_, err = e.w.AppendDelete(ctx, pch, deleteOf(coll, vc, int64(i)))
				} else {
					var r contract.AppendResult
					r, err = e.w.AppendInsert(ctx, pch, insertOf(coll, 10, vc, int64(1+rng.IntN(6))))
					if err == nil && r.SegmentID == 0 {
						err = fmt.Errorf("no segment assigned")
					}
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	msgs := readAll(t, e.log, pch)
	if len(msgs) < 8*40 {
		t.Fatalf("only %d messages logged", len(msgs))
	}
	type key struct {
		coll int64
		vc   string
	}
	current := map[key]int64{} // segment receiving inserts
	sealed := map[int64]bool{} // segments a Seal has named
	rows := map[int64]int64{}  // rows logged per segment
	seals := 0
	for i, l := range msgs {
		if i > 0 && l.m.TS <= msgs[i-1].m.TS {
			t.Fatalf("message %d (%v) has ts %d after %d", l.id, l.m.Kind, l.m.TS, msgs[i-1].m.TS)
		}
		switch l.m.Kind {
		case msg.KindSeal:
			seals++
			for _, id := range l.m.Seal.SegmentIDs {
				sealed[id] = true
			}
		case msg.KindInsert:
			ins := l.m.Insert
			if sealed[ins.SegmentID] {
				t.Fatalf("insert %d into segment %d after its Seal", l.id, ins.SegmentID)
			}
			k := key{ins.CollectionID, l.m.VChannel}
			if prev, ok := current[k]; ok && prev != ins.SegmentID && !sealed[prev] {
				t.Fatalf("insert %d opens segment %d before segment %d was sealed", l.id, ins.SegmentID, prev)
			}
			current[k] = ins.SegmentID
			rows[ins.SegmentID] += int64(ins.NumRows)
		}
	}
	if seals == 0 {
		t.Fatal("no segment was ever sealed")
	}
	for id, n := range rows {
		if n > 25 {
			t.Fatalf("segment %d holds %d rows, over the limit of 25", id, n)
		}
		seg, ok := must2(e.data.Segment(bg, id))
		if !ok || seg.NumRows != n {
			t.Fatalf("datacoord has %+v for segment %d, the log %d rows", seg, id, n)
		}
	}
}

// TestSealOfACollectionIsAlwaysLogged: a Flush's Seal (a named
// collection) is logged even with nothing growing, so the data node
// flushes the channel's deletes and moves its checkpoint to it; an idle
// seal (collection 0) of nothing logs nothing.
func TestSealOfACollectionIsAlwaysLogged(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Default(), 1000)
	vc := pch + "_1v0"
	if ids, _, err := e.w.Seal(ctx, pch, vc, 0); err != nil || len(ids) != 0 {
		t.Fatalf("idle seal of nothing: %v %v", ids, err)
	}
	if id := latest(t, e.log, pch); id != 0 {
		t.Fatalf("idle seal of nothing logged message %d", id)
	}
	ids, ts, err := e.w.Seal(ctx, pch, vc, 1)
	if err != nil || len(ids) != 0 || ts == 0 {
		t.Fatalf("seal of nothing: %v %d %v", ids, ts, err)
	}
	msgs := readAll(t, e.log, pch)
	if len(msgs) != 1 || msgs[0].m.Kind != msg.KindSeal || msgs[0].m.TS != ts || msgs[0].m.Seal.CollectionID != 1 ||
		len(msgs[0].m.Seal.SegmentIDs) != 0 || msgs[0].m.VChannel != vc {
		t.Fatalf("seal of nothing logged %+v, want one empty Seal at %d", msgs, ts)
	}
	r, err := e.w.AppendInsert(ctx, pch, insertOf(1, 10, vc, 3))
	if err != nil {
		t.Fatal(err)
	}
	// Another collection: nothing of it grows, its Seal names no segment.
	ids, ts2, err := e.w.Seal(ctx, pch, vc, 2)
	if err != nil || len(ids) != 0 || ts2 <= r.TS {
		t.Fatalf("seal of collection 2: %v at %d (insert at %d) %v", ids, ts2, r.TS, err)
	}
	ids, ts, err = e.w.Seal(ctx, pch, vc, 1)
	if err != nil || len(ids) != 1 || ids[0] != r.SegmentID {
		t.Fatalf("seal: %v %v, want [%d]", ids, err, r.SegmentID)
	}
	msgs = readAll(t, e.log, pch)
	last := msgs[len(msgs)-1].m
	if last.Kind != msg.KindSeal || last.TS != ts || last.Seal.CollectionID != 1 || last.Seal.SegmentIDs[0] != r.SegmentID || last.VChannel != vc {
		t.Fatalf("last message %+v (seal ts %d)", last, ts)
	}
	if ts <= ts2 {
		t.Fatalf("seal at %d not after the previous seal at %d", ts, ts2)
	}
}

func TestSyncToTicksOnlyWhenNeeded(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Default(), 1000)
	ticks := func() int {
		n := 0
		for _, l := range readAll(t, e.log, pch) {
			if l.m.Kind == msg.KindTimeTick {
				n++
			}
		}
		return n
	}
	now := func() uint64 {
		ts, err := e.root.AllocTimestamp(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	sync := func(ts uint64, wantTicks int) {
		t.Helper()
		if err := e.w.SyncTo(ctx, pch, ts); err != nil {
			t.Fatal(err)
		}
		if got := ticks(); got != wantTicks {
			t.Fatalf("after SyncTo(%d): %d ticks, want %d", ts, got, wantTicks)
		}
	}
	sync(now(), 1) // the channel has no tick at all yet
	sync(1, 1)     // an old timestamp is covered by that tick
	sync(now(), 2) // a newer one is not
	msgs := readAll(t, e.log, pch)
	tickTS := msgs[len(msgs)-1].m.TS
	sync(tickTS, 2) // exactly the last tick: covered
	if _, err := e.w.AppendInsert(ctx, pch, insertOf(1, 10, pch+"_1v0", 1)); err != nil {
		t.Fatal(err)
	}
	sync(tickTS, 3) // DML arrived since the tick: tick again
	sync(tickTS, 3)
	msgs = readAll(t, e.log, pch)
	if last := msgs[len(msgs)-1].m; last.Kind != msg.KindTimeTick || last.VChannel != "" || last.TS <= msgs[len(msgs)-2].m.TS {
		t.Fatalf("last message %+v", last)
	}
}

// TestRunTicksAfterDMLAndStaysQuietWhenIdle runs the writer in a synctest
// bubble, so the tick delay passes on the fake clock.
func TestRunTicksAfterDMLAndStaysQuietWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cfg := Config{TickDelay: 50 * time.Millisecond, IdleCheck: time.Hour}
		e := newEnv(t, cfg, 1000)
		done := make(chan error, 1)
		go func() { done <- e.w.Run(ctx) }()

		time.Sleep(10 * time.Second)
		synctest.Wait()
		if id := latest(t, e.log, pch); id != 0 {
			t.Fatalf("an idle writer logged message %d", id)
		}
		r, err := e.w.AppendInsert(ctx, pch, insertOf(1, 10, pch+"_1v0", 2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.w.AppendDelete(ctx, pch, deleteOf(1, pch+"_1v0", 5)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if id := latest(t, e.log, pch); id == 0 || len(readAll(t, e.log, pch)) != 2 {
			t.Fatal("tick written before the delay")
		}
		time.Sleep(cfg.TickDelay + time.Millisecond)
		synctest.Wait()
		msgs := readAll(t, e.log, pch)
		if len(msgs) != 3 || msgs[2].m.Kind != msg.KindTimeTick || msgs[2].m.TS <= r.TS {
			t.Fatalf("after the delay: %d messages, last %+v", len(msgs), msgs[len(msgs)-1].m)
		}
		// One tick per burst, then quiet again.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(readAll(t, e.log, pch)); n != 3 {
			t.Fatalf("%d messages after the channel went idle, want 3", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestRunSealsIdleSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := Config{TickDelay: 50 * time.Millisecond, IdleCheck: time.Second}
		store := kv.NewMemory()
		defer store.Close()
		root, err := rootcoord.New(ctx, rootcoord.Default(), rootcoord.Deps{KV: store})
		if err != nil {
			t.Fatal(err)
		}
		dcfg := datacoord.Default()
		dcfg.MaxIdle = 5 * time.Second
		data, err := datacoord.New(ctx, dcfg, datacoord.Deps{KV: store, IDs: root})
		if err != nil {
			t.Fatal(err)
		}
		log := logbroker.NewMemory(logbroker.MemoryConfig{})
		defer log.Close()
		w := New(cfg, Deps{Log: log, TSO: root, Segments: data})
		go w.Run(ctx)
		r, err := w.AppendInsert(ctx, pch, insertOf(1, 10, pch+"_1v0", 2))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(7 * time.Second)
		synctest.Wait()
		msgs := readAll(t, log, pch)
		// insert, its tick, the idle seal, its tick
		if len(msgs) != 4 || msgs[2].m.Kind != msg.KindSeal || msgs[2].m.Seal.SegmentIDs[0] != r.SegmentID || msgs[3].m.Kind != msg.KindTimeTick {
			for _, l := range msgs {
				t.Logf("%d %+v", l.id, l.m)
			}
			t.Fatal("idle segment not sealed")
		}
		if seg, _ := must2(data.Segment(bg, r.SegmentID)); seg.SealTS == 0 {
			t.Fatalf("idle-sealed segment: %+v", seg)
		}
		cancel()
		synctest.Wait()
	})
}

func TestPChannelOf(t *testing.T) {
	f := func(vc, want string) {
		t.Helper()
		if got := PChannelOf(vc); got != want {
			t.Fatalf("PChannelOf(%q) = %q, want %q", vc, got, want)
		}
	}
	f("milvago-dml_3_449v0", "milvago-dml_3")
	f("milvago-dml_15_449v1", "milvago-dml_15")
	f("a_b_c_1v0", "a_b_c")
	f("plain", "plain")
	f("_1v0", "")
}

// flakyLog fails the next n Appends (after storing the message when
// ackLost), then heals: logbrokertest.Faulty cannot heal once it fails.
type flakyLog struct {
	logbroker.Log
	failing atomic.Int32
	ackLost bool
}

var errFlaky = errors.New("flaky append")

func (f *flakyLog) Append(ctx context.Context, channel string, payload []byte, props map[string]string) (logbroker.MessageID, error) {
	if f.failing.Add(-1) >= 0 {
		if f.ackLost {
			f.Log.Append(ctx, channel, payload, props)
		}
		return 0, errFlaky
	}
	return f.Log.Append(ctx, channel, payload, props)
}

// TestSealIsLoggedAfterAFailedAppend fails the append of the Seal message
// that closes a full segment (or of an explicit seal): the data coordinator
// has already sealed the segment, so the writer must still log its Seal
// before anything else on the channel, or the data node never flushes it.
func TestSealIsLoggedAfterAFailedAppend(t *testing.T) {
	f := func(explicit, ackLost bool) {
		t.Helper()
		ctx := context.Background()
		e := newEnv(t, Default(), 4)
		fl := &flakyLog{Log: e.log, ackLost: ackLost}
		w := New(Default(), Deps{Log: fl, TSO: e.root, Segments: e.data})
		vc := pch + "_1v0"
		first, err := w.AppendInsert(ctx, pch, insertOf(1, 10, vc, 3))
		if err != nil {
			t.Fatal(err)
		}
		fl.failing.Store(1)
		if explicit {
			if _, _, err := w.Seal(ctx, pch, vc, 1); !errors.Is(err, errFlaky) {
				t.Fatalf("seal: %v", err)
			}
		} else if _, err := w.AppendInsert(ctx, pch, insertOf(1, 10, vc, 3)); !errors.Is(err, errFlaky) {
			t.Fatalf("insert: %v", err)
		}
		if seg, _ := must2(e.data.Segment(bg, first.SegmentID)); seg.State != model.SegmentSealed {
			t.Fatalf("segment %d is %v", first.SegmentID, seg.State)
		}
		next, err := w.AppendInsert(ctx, pch, insertOf(1, 10, vc, 3))
		if err != nil {
			t.Fatal(err)
		}
		if next.SegmentID == first.SegmentID {
			t.Fatal("insert went to the sealed segment")
		}
		var sealedAt, insertAt logbroker.MessageID
		for _, l := range readAll(t, e.log, pch) {
			switch {
			case l.m.Kind == msg.KindSeal && slices.Contains(l.m.Seal.SegmentIDs, first.SegmentID) && sealedAt == 0:
				sealedAt = l.id
			case l.m.Kind == msg.KindInsert && l.m.Insert.SegmentID == next.SegmentID && insertAt == 0:
				insertAt = l.id
			}
		}
		if sealedAt == 0 || sealedAt > insertAt {
			t.Fatalf("explicit=%v ackLost=%v: Seal of segment %d at %d, first insert of segment %d at %d", explicit, ackLost, first.SegmentID, sealedAt, next.SegmentID, insertAt)
		}
	}
	f(false, false)
	f(false, true)
	f(true, false)
	f(true, true)
}

// TestSealLostInACrashIsLoggedAfterRestart seals a segment in the data
// coordinator and "crashes" before the writer logs the Seal: the writer of
// the restarted server must log it before anything else on the channel.
func TestSealLostInACrashIsLoggedAfterRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Default(), 1000)
	vc := pch + "_1v0"
	r, err := e.w.AppendInsert(ctx, pch, insertOf(1, 10, vc, 3))
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.w.AppendInsert(ctx, "dml_1", insertOf(1, 10, "dml_1_1v1", 3))
	if err != nil {
		t.Fatal(err)
	}
	// The crash: datacoord sealed the segments, the Seals never reached the log.
	if _, err := e.data.SealChannel(ctx, 1, vc, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.data.SealChannel(ctx, 1, "dml_1_1v1", 1); err != nil {
		t.Fatal(err)
	}
	w := New(Default(), Deps{Log: e.log, TSO: e.root, Segments: e.data})
	next, err := w.AppendInsert(ctx, pch, insertOf(1, 10, vc, 3))
	if err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, e.log, pch)
	if len(msgs) != 3 || msgs[1].m.Kind != msg.KindSeal || !slices.Equal(msgs[1].m.Seal.SegmentIDs, []int64{r.SegmentID}) ||
		msgs[1].m.VChannel != vc || msgs[2].m.Insert.SegmentID != next.SegmentID {
		for _, l := range msgs {
			t.Logf("%d %+v", l.id, l.m)
		}
		t.Fatal("the lost Seal was not logged before the next insert")
	}
	// The other channel gets its Seal when it is next used (here: a sync).
	if err := w.SyncTo(ctx, "dml_1", 1); err != nil {
		t.Fatal(err)
	}
	msgs = readAll(t, e.log, "dml_1")
	if len(msgs) != 3 || msgs[1].m.Kind != msg.KindSeal || msgs[1].m.Seal.SegmentIDs[0] != other.SegmentID || msgs[2].m.Kind != msg.KindTimeTick {
		t.Fatalf("other channel: %d messages", len(msgs))
	}
}

// TestFlushAllSealsAndLogsOneMessage: FlushAll seals the growing segments
// of the listed virtual channels and logs one FlushAll message for the
// physical channel that lists them (an idle channel with no segment, and
// an empty channel list, are logged all the same); a failed append leaves
// the sealed segments' Seals owed, logged before the channel's next
// message; a virtual channel of another physical channel is refused.
func TestFlushAllSealsAndLogsOneMessage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Default(), 1000)
	a, b := pch+"_1v0", pch+"_2v0"
	r, err := e.w.AppendInsert(ctx, pch, insertOf(1, 10, a, 3))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.w.FlushAll(ctx, pch, []contract.VChannel{{Name: a, CollectionID: 1}, {Name: b, CollectionID: 2}})
	if err != nil || res.TS <= r.TS || res.ID <= r.ID {
		t.Fatalf("flush all: %+v %v (insert %+v)", res, err, r)
	}
	if seg, _ := must2(e.data.Segment(ctx, r.SegmentID)); seg.State != model.SegmentSealed {
		t.Fatalf("segment %d is %v after FlushAll", r.SegmentID, seg.State)
	}
	msgs := readAll(t, e.log, pch)
	last := msgs[len(msgs)-1]
	want := []msg.ChannelSeal{{VChannel: a, Seal: msg.Seal{CollectionID: 1, SegmentIDs: []int64{r.SegmentID}}}, {VChannel: b, Seal: msg.Seal{CollectionID: 2}}}
	if last.id != res.ID || last.m.Kind != msg.KindFlushAll || last.m.TS != res.TS || last.m.VChannel != "" ||
		fmt.Sprint(last.m.FlushAll) != fmt.Sprint(want) {
		t.Fatalf("logged %d %+v, want FlushAll %v at %d, %d", last.id, last.m, want, res.ID, res.TS)
	}
	// A physical channel with no collection gets its message too.
	if res, err := e.w.FlushAll(ctx, "dml_1", nil); err != nil || res.TS == 0 {
		t.Fatalf("flush all of an empty channel: %+v %v", res, err)
	}
	if l := readAll(t, e.log, "dml_1"); len(l) != 1 || l[0].m.Kind != msg.KindFlushAll || len(l[0].m.FlushAll) != 0 {
		t.Fatalf("empty channel logged %+v", l)
	}
	if _, err := e.w.FlushAll(ctx, "dml_1", []contract.VChannel{{Name: a, CollectionID: 1}}); err == nil {
		t.Fatal("flush all of dml_1 took a virtual channel of dml_0")
	}

	// The append fails: the segment sealed is owed its Seal.
	fl := &flakyLog{Log: e.log}
	w := New(Default(), Deps{Log: fl, TSO: e.root, Segments: e.data})
	r2, err := w.AppendInsert(ctx, pch, insertOf(1, 10, a, 3))
	if err != nil {
		t.Fatal(err)
	}
	fl.failing.Store(1)
	if _, err := w.FlushAll(ctx, pch, []contract.VChannel{{Name: a, CollectionID: 1}}); !errors.Is(err, errFlaky) {
		t.Fatalf("flush all on a failing log: %v", err)
	}
	if _, err := w.AppendDelete(ctx, pch, deleteOf(1, a, 1)); err != nil {
		t.Fatal(err)
	}
	msgs = readAll(t, e.log, pch)
	seal, del := msgs[len(msgs)-2].m, msgs[len(msgs)-1].m
	if seal.Kind != msg.KindSeal || seal.VChannel != a || fmt.Sprint(seal.Seal.SegmentIDs) != fmt.Sprint([]int64{r2.SegmentID}) || del.Kind != msg.KindDelete {
		t.Fatalf("after a failed FlushAll: %+v then %+v, want the owed Seal of %d then the delete", seal, del, r2.SegmentID)
	}
}
