package datanode

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

const (
	otherID = 8
	otherVC = "dml_0_8v0"
)

// otherCollection is a second collection on the same physical channel.
func otherCollection() *model.Collection {
	c := testCollection()
	c.ID, c.Name, c.VChannels = otherID, "other", []string{otherVC}
	return c
}

// insertOther writes rows to the other collection.
func (e *env) insertOther(t *testing.T, pks ...int64) contract.AppendResult {
	t.Helper()
	var r rows
	for _, pk := range pks {
		r.pks = append(r.pks, pk)
		r.vecs = append(r.vecs, float32(pk), 1, 2, 3)
		r.tags = append(r.tags, "x")
	}
	f := e.coll.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: otherID, PartitionID: partA, NumRows: uint64(len(pks)), ShardName: otherVC,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: r.pks}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: r.vecs}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: r.tags}, f[2]),
		}}
	res, err := e.w.AppendInsert(bg, pch, contract.Insert{CollectionID: otherID, PartitionID: partA, VChannel: otherVC,
		Rows: int64(len(pks)), Bytes: int64(len(pks) * 24), Message: &msg.Message{Kind: msg.KindInsert, VChannel: otherVC, Insert: ins}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// insertBad writes the message the auto-ID VarChar bug wrote: it says 3
// rows, and its primary key column has none.
func (e *env) insertBad(t *testing.T) contract.AppendResult {
	t.Helper()
	f := e.coll.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: partA, NumRows: 3, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: make([]float32, 3*dim)}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"a", "b", "c"}}, f[2]),
		}}
	res, err := e.w.AppendInsert(bg, pch, contract.Insert{CollectionID: collID, PartitionID: partA, VChannel: vch,
		Rows: 3, Bytes: 72, Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e *env) startNodeWith(t *testing.T, colls ...*model.Collection) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := New(Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root})
	for _, c := range colls {
		if err := n.Watch(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestBadMessageFailsOnlyItsChannel injects a message the data node cannot
// apply into one collection of a physical channel: that collection's
// flushes answer the cause (before and after a restart of the data node),
// its checkpoint stays before the message, and the other collection of the
// channel keeps flushing. Dropping the failed collection clears it.
func TestBadMessageFailsOnlyItsChannel(t *testing.T) {
	e := newEnv(t, 1000)
	other := otherCollection()
	stop := e.startNodeWith(t, e.coll, other)

	good, _ := e.insert(t, partA, 1, 2)
	badRes := e.insertBad(t)
	if badRes.SegmentID != good.SegmentID {
		t.Fatalf("bad insert went to segment %d, want %d", badRes.SegmentID, good.SegmentID)
	}
	o1 := e.insertOther(t, 10, 11)
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.Seal(bg, pch, otherVC, otherID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, o1.SegmentID)

	wantFailure := func() {
		t.Helper()
		eventually(t, "the failure to be reported", func() bool {
			_, err := e.data.Flushed(bg, []int64{good.SegmentID})
			return err != nil
		})
		_, err := e.data.Flushed(bg, []int64{good.SegmentID})
		if !errors.Is(err, errs.ErrServiceInternal) || !strings.Contains(err.Error(), `field "id" of segment`) ||
			!strings.Contains(err.Error(), "has 0 rows, message says 3") || !strings.Contains(err.Error(), vch) {
			t.Fatalf("Flushed of the failed channel: %v", err)
		}
		fs := e.data.ChannelFailures(bg)
		if len(fs) != 1 || fs[0].VChannel != vch || fs[0].CollectionID != collID || fs[0].Position == 0 {
			t.Fatalf("failures: %+v", fs)
		}
		if cp := must(e.data.GetCheckpoint(bg, vch)); cp.Position >= fs[0].Position {
			t.Fatalf("checkpoint %d passed the failed message at %d", cp.Position, fs[0].Position)
		}
	}
	wantFailure()

	// Ticks and later writes do not move the failed channel, and the other
	// channel keeps flushing.
	e.insert(t, partA, 5)
	o2 := e.insertOther(t, 12)
	if err := e.w.SyncTo(bg, pch, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.Seal(bg, pch, otherVC, otherID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, o2.SegmentID)
	wantFailure()

	// A restarted data node replays from the checkpoint, meets the message
	// again and fails the same channel only.
	stop()
	e.startNodeWith(t, e.coll, other)
	o3 := e.insertOther(t, 13)
	if _, _, err := e.w.Seal(bg, pch, otherVC, otherID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, o3.SegmentID)
	wantFailure()
	if seg, _ := must2(e.data.Segment(bg, o3.SegmentID)); seg.NumRows != 1 {
		t.Fatalf("other collection's segment: %+v", seg)
	}

	// Dropping the collection forgets its failure.
	mustDo(e.data.DropCollection(bg, e.coll))
	if fs := e.data.ChannelFailures(bg); len(fs) != 0 {
		t.Fatalf("failures after drop: %+v", fs)
	}
}

// TestDroppedPartitionDoesNotWedge drops a partition whose segment is
// buffered and sealed: the data node discards it (no "flushed segment is
// unknown" retry loop) and the channel flushes again.
func TestDroppedPartitionDoesNotWedge(t *testing.T) {
	e := newEnv(t, 1000)
	e.startNodeWith(t, e.coll)
	a, _ := e.insert(t, partA, 1, 2, 3)
	mustDo(e.data.DropPartition(bg, collID, partA))
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	b, want := e.insert(t, partB, 7, 8)
	if a.SegmentID == b.SegmentID {
		t.Fatal("partitions share a segment")
	}
	if _, _, err := e.w.Seal(bg, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, b.SegmentID)
	e.checkSegment(t, b.SegmentID, want)
	// The checkpoint passes the dropped segment.
	segB, _ := must2(e.data.Segment(bg, b.SegmentID))
	eventually(t, "checkpoint past the dropped segment", func() bool {
		return must(e.data.GetCheckpoint(bg, vch)).Position > segB.StartPosition
	})
	if fs := e.data.ChannelFailures(bg); len(fs) != 0 {
		t.Fatalf("failures: %+v", fs)
	}
}

// TestFailingFlushIsReported fails the delete log write of a channel's
// flush (the datanode.flush.deltaLog failpoint) more times in a row than
// flushFailuresReported: while the pipeline retries, the data coordinator
// answers whoever waits for the channel (ChannelsFlushed, as
// GetFlushState asks) with the cause instead of "not yet"; once a retry
// writes the delete log, the failure is cleared and the channel counts as
// flushed, with the deletes applied. A single failure is not reported.
func TestFailingFlushIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the pipeline's one-second retries")
	}
	for _, tc := range []struct {
		failures int
		reported bool
	}{{failures: 1}, {failures: flushFailuresReported + 2, reported: true}} {
		e := newEnv(t, 1000)
		points, err := failpoint.Parse(fmt.Sprintf("datanode.flush.deltaLog=%d*error(disk full)", tc.failures), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(bg)
		n := New(Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root, Points: points})
		mustDo(n.Watch(ctx, e.coll))
		done := make(chan struct{})
		go func() { n.Run(ctx); close(done) }()

		ins, _ := e.insert(t, partA, 1, 2, 3)
		e.delete(t, 2)
		_, ts := must2(e.w.Seal(bg, pch, vch, collID))
		var sawErr error
		eventually(t, "the channel flushed", func() bool {
			ok, err := e.data.ChannelsFlushed(bg, []string{vch}, ts)
			if err != nil && sawErr == nil {
				sawErr = err
			}
			return ok
		})
		switch {
		case tc.reported && sawErr == nil:
			t.Fatalf("%d failures in a row: never answered as failed", tc.failures)
		case tc.reported && (!errors.Is(sawErr, errs.ErrServiceInternal) || !strings.Contains(sawErr.Error(), "disk full") ||
			!strings.Contains(sawErr.Error(), vch) || !strings.Contains(sawErr.Error(), "keeps retrying")):
			t.Fatalf("answer while failing: %v", sawErr)
		case !tc.reported && sawErr != nil:
			t.Fatalf("one failure answered as failed: %v", sawErr)
		}
		if fs := e.data.ChannelFailures(bg); len(fs) != 0 {
			t.Fatalf("failures left after the flush succeeded: %+v", fs)
		}
		if ok, err := e.data.Flushed(bg, []int64{ins.SegmentID}); !ok || err != nil {
			t.Fatalf("segment flushed: %v, %v", ok, err)
		}
		if d := e.deletes(t); !slices.Equal(d.IntPKs, []int64{2}) {
			t.Fatalf("deletes %+v, want key 2", d)
		}
		cancel()
		<-done
	}
}

// TestRecoveredFailureClearsOnlyRetrying: a channel stopped at a message
// the data node cannot apply stays failed whatever its flushes report.
func TestRecoveredFailureClearsOnlyRetrying(t *testing.T) {
	e := newEnv(t, 1000)
	f := contract.ChannelFailure{CollectionID: collID, VChannel: vch, Position: 10, Cause: "bad column"}
	mustDo(e.data.ChannelFailed(bg, f))
	// A failure of flushes neither replaces nor clears one of a message.
	mustDo(e.data.ChannelFailed(bg, contract.ChannelFailure{CollectionID: collID, VChannel: vch, Position: 11, Cause: "disk full", Retrying: true}))
	mustDo(e.data.ChannelRecovered(bg, vch))
	if fs := e.data.ChannelFailures(bg); len(fs) != 1 || fs[0] != f {
		t.Fatalf("failures %+v, want the bad message's", fs)
	}
	if _, err := e.data.ChannelsFlushed(bg, []string{vch}, 5); err == nil || !strings.Contains(err.Error(), "bad column") {
		t.Fatalf("ChannelsFlushed of a failed channel: %v", err)
	}
}
