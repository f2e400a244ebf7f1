package datanode

import (
	"context"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/storage"
)

// TestUpdateCollection hands the node a collection's new definition (as
// AddCollectionField does before acknowledging): the channel takes it at
// its next message, so an insert carrying the field needs no schema fetch,
// and a stale definition handed afterwards is ignored.
func TestUpdateCollection(t *testing.T) {
	e := newEnv(t, 1000)
	added := &model.Collection{}
	*added = *e.coll
	added.UpdateTS = 1
	added.Schema = proto.Clone(e.coll.Schema).(*schemapb.CollectionSchema)
	added.Schema.Fields = append(added.Schema.Fields, &schemapb.FieldSchema{FieldID: 103, Name: "score", DataType: schemapb.DataType_Int64, Nullable: true})
	colls := &fixedCollections{c: added}

	ctx, cancel := context.WithCancel(context.Background())
	n := New(Deps{Log: e.log, Objects: e.objects, Coord: e.data, IDs: e.root, Collections: colls})
	if err := n.Watch(ctx, e.coll); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	res, _ := e.insert(t, partA, 1, 2)
	n.UpdateCollection(added)
	n.UpdateCollection(e.coll) // older: must not undo the change
	f := added.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: partA, NumRows: 1, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{3}}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: make([]float32, dim)}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"x"}}, f[2]),
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{30}, Valid: []bool{true}}, f[3]),
		}}
	if _, err := e.w.AppendInsert(ctx, pch, contract.Insert{CollectionID: collID, PartitionID: partA, VChannel: vch,
		Rows: 1, Bytes: 24, Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.Seal(ctx, pch, vch, collID); err != nil {
		t.Fatal(err)
	}
	e.waitFlushed(t, res.SegmentID)
	seg, _, _ := e.data.Segment(context.Background(), res.SegmentID)
	data, err := e.objects.Get(ctx, seg.Binlogs[103])
	if err != nil {
		t.Fatal(err)
	}
	c, err := storage.DecodeColumn(data)
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*column.Scalar[int64])
	if s.Len() != 3 || !s.IsNull(0) || !s.IsNull(1) || s.IsNull(2) || s.Data[2] != 30 {
		t.Fatalf("added field's binlog: %+v", s)
	}
	colls.mu.Lock()
	defer colls.mu.Unlock()
	if colls.n != 0 {
		t.Fatalf("fetched the schema %d times, want none (it was handed over)", colls.n)
	}
}
