package workerrpc_test

import (
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/msg"
)

// loaded inserts six rows, flushes them into one sealed segment, inserts
// three more (growing) and loads the collection through the client. It
// returns the sealed segment's ID and the last insert's timestamp.
func (e *env) loaded(t *testing.T) (int64, uint64) {
	t.Helper()
	ctx := e.ctx
	if err := e.dnode.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	e.insert(t, 1, 2, 3, 4, 5, 6)
	ids, _, err := e.writer.Seal(ctx, pch, vch, coll)
	if err != nil || len(ids) != 1 {
		t.Fatalf("seal: %v, %v", ids, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for ok := false; !ok; {
		if ok, _ = e.data.Flushed(ctx, ids); !ok {
			if time.Now().After(deadline) {
				t.Fatal("segment not flushed")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	seg, _, _ := e.data.Segment(ctx, ids[0])
	cp, _ := e.data.GetCheckpoint(ctx, vch)
	last := e.insert(t, 7, 8, 9)
	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Checkpoint: cp, Sealed: []contract.SegmentPlan{{Segment: seg}}}
	if err := e.node.LoadCollection(ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	for {
		p, _, err := e.node.Progress(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		if p == 100 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ids[0], last.TS
}

func TestQueryNodeSchemaChangeRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	_, ts := e.loaded(t)
	qreq := &contract.QueryRequest{CollectionID: coll, VChannel: vch, GuaranteeTS: ts, OutputFields: []int64{100, 103}}
	if _, err := e.node.Query(ctx, qreq); err == nil {
		t.Fatal("query of a field the schema lacks succeeded")
	}
	next := *e.coll
	next.Schema = proto.Clone(e.coll.Schema).(*schemapb.CollectionSchema)
	next.Schema.Fields = append(next.Schema.Fields, &schemapb.FieldSchema{FieldID: 103, Name: "score", DataType: schemapb.DataType_Int64, Nullable: true,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_LongData{LongData: 42}}})
	next.Schema.Version = 1
	next.UpdateTS = e.coll.UpdateTS + 1
	if err := e.node.UpdateCollection(ctx, &next); err != nil {
		t.Fatal(err)
	}
	// Served at once: every row, sealed and growing, reads the default.
	qr, err := e.node.Query(ctx, qreq)
	if err != nil {
		t.Fatal(err)
	}
	col, ok := qr.Fields[103].(*column.Scalar[int64])
	if !ok || len(qr.IntPKs) != 9 || !slices.Equal(col.Data, []int64{42, 42, 42, 42, 42, 42, 42, 42, 42}) {
		t.Fatalf("query of the new field: %+v (%T)", qr, qr.Fields[103])
	}
}

func TestQueryNodeDropSegmentIDsRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	sealed, ts := e.loaded(t)
	count := &contract.QueryRequest{CollectionID: coll, VChannel: vch, GuaranteeTS: ts, CountOnly: true}
	if n, err := e.node.Query(ctx, count); err != nil || n.Count != 9 {
		t.Fatalf("count before: %+v, %v", n, err)
	}
	if err := e.node.DropSegmentIDs(ctx, coll, []int64{sealed}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.node.Query(ctx, count); err != nil || n.Count != 3 {
		t.Fatalf("count after dropping the sealed segment: %+v, %v", n, err)
	}
	// A collection the node does not serve: nothing to drop, no error (as
	// the direct call).
	if err := e.node.DropSegmentIDs(ctx, 777, []int64{1}); err != nil {
		t.Fatal(err)
	}
}

// TestDataNodeUpdateCollectionRoundTrip hands the data node (which has no
// way to fetch schemas here) a new field over the wire: an insert carrying
// it is buffered and flushed with the field's binlog.
func TestDataNodeUpdateCollectionRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	if err := e.dnode.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	first := e.insert(t, 1, 2)
	next := *e.coll
	next.Schema = proto.Clone(e.coll.Schema).(*schemapb.CollectionSchema)
	next.Schema.Fields = append(next.Schema.Fields, &schemapb.FieldSchema{FieldID: 103, Name: "score", DataType: schemapb.DataType_Int64, Nullable: true})
	next.UpdateTS = e.coll.UpdateTS + 1
	if err := e.dnode.UpdateCollection(ctx, &next); err != nil {
		t.Fatal(err)
	}
	f := next.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: coll, PartitionID: part, NumRows: 1, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{3}}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: []float32{3, 1}}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"tc"}}, f[2]),
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{33}, Valid: []bool{true}}, f[3]),
		}}
	if _, err := e.writer.AppendInsert(ctx, pch, contract.Insert{CollectionID: coll, PartitionID: part, VChannel: vch, Rows: 1,
		Bytes: 24, Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.writer.Seal(ctx, pch, vch, coll); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for ok := false; !ok; {
		if ok, _ = e.data.Flushed(ctx, []int64{first.SegmentID}); !ok {
			if time.Now().After(deadline) {
				t.Fatal("segment with the new field not flushed")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	seg, _, _ := e.data.Segment(ctx, first.SegmentID)
	if seg.NumRows != 3 || seg.Binlogs[103] == "" {
		t.Fatalf("flushed segment %+v: want 3 rows and a binlog of field 103", seg)
	}
	// A data node that does not consume the collection takes the call.
	other := next
	other.ID, other.VChannels, other.PChannels = 77, []string{"dml_5_77v0"}, []string{"dml_5"}
	if err := e.dnode.UpdateCollection(ctx, &other); err != nil {
		t.Fatal(err)
	}
}
