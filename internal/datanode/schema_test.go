package datanode

import (
	"context"
	"sync"
	"testing"

	"github.com/milvago/milvago/internal/contract"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/storage"
)

// fixedCollections answers DescribeCollection with one definition.
type fixedCollections struct {
	mu sync.Mutex
	c  *model.Collection
	n  int
}

func (f *fixedCollections) DescribeCollection(context.Context, string, string, int64) (*model.Collection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.c, nil
}

// TestSegmentSpanningAddedField writes a segment whose first rows predate
// a field added to the schema: the node learns the field from the first
// insert carrying it and flushes one value per row (null before).
func TestSegmentSpanningAddedField(t *testing.T) {
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

	res, _ := e.insert(t, partA, 1, 2, 3)
	// An insert with the added field.
	f := added.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: partA, NumRows: 2, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{4, 5}}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: make([]float32, 2*dim)}, f[1]),
			column.ToFieldData(&column.Scalar[string]{Type: schemapb.DataType_VarChar, Data: []string{"x", "y"}}, f[2]),
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{40, 50}, Valid: []bool{true, true}}, f[3]),
		}}
	if _, err := e.w.AppendInsert(ctx, pch, contract.Insert{CollectionID: collID, PartitionID: partA, VChannel: vch,
		Rows: 2, Bytes: 48, Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}}); err != nil {
		t.Fatal(err)
	}
	e.insert(t, partA, 6) // an insert without it again (a client with the old schema)
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
	if s.Len() != 6 || !s.IsNull(0) || !s.IsNull(2) || s.IsNull(3) || s.Data[3] != 40 || s.Data[4] != 50 || !s.IsNull(5) {
		t.Fatalf("added field's binlog: %+v", s)
	}
	if colls.n != 1 {
		t.Fatalf("fetched the schema %d times, want once", colls.n)
	}
}
