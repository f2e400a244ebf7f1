package querynode

import (
	"context"
	"testing"

	"github.com/milvago/milvago/internal/contract"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

type oneCollection struct{ c *model.Collection }

func (o oneCollection) DescribeCollection(context.Context, string, string, int64) (*model.Collection, error) {
	return o.c, nil
}

// TestSchemaChange adds a field to a loaded shard with sealed and growing
// rows: UpdateCollection makes old rows read it as null at once, and an
// insert carrying a field the shard has not heard of makes it fetch the
// definition instead of failing.
func TestSchemaChange(t *testing.T) {
	e := newEnv(t)
	e.gated.open()
	e.insert(t, keyRange(0, 10)...)
	seg := e.seal(t)
	e.insert(t, keyRange(10, 20)...)
	e.delete(t, 3, 15)

	added := &model.Collection{}
	*added = *e.coll
	added.UpdateTS = 100
	added.Schema = proto.Clone(e.coll.Schema).(*schemapb.CollectionSchema)
	added.Schema.Fields = append(added.Schema.Fields, &schemapb.FieldSchema{FieldID: 102, Name: "n", DataType: schemapb.DataType_Int64, Nullable: true})
	twice := &model.Collection{}
	*twice = *added
	twice.UpdateTS = 200
	twice.Schema = proto.Clone(added.Schema).(*schemapb.CollectionSchema)
	twice.Schema.Fields = append(twice.Schema.Fields, &schemapb.FieldSchema{FieldID: 103, Name: "m", DataType: schemapb.DataType_Int64, Nullable: true})
	e.qn.d.Collections = oneCollection{twice}

	plan := contract.ChannelPlan{VChannel: vch, PChannel: pch, Sealed: []contract.SegmentPlan{{Segment: seg}}}
	if err := e.qn.LoadCollection(e.ctx, e.coll, nil, []contract.ChannelPlan{plan}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "loaded", func() bool { p, _, _ := e.qn.Progress(bg, collID); return p == 100 })
	if err := e.qn.UpdateCollection(added); err != nil {
		t.Fatal(err)
	}
	q, err := e.qn.Query(e.ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t), OutputFields: []int64{102}})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.IntPKs) != 18 || q.Fields[102].Len() != 18 || !q.Fields[102].IsNull(0) || !q.Fields[102].IsNull(17) {
		t.Fatalf("after adding a field: keys %v, field %+v", q.IntPKs, q.Fields[102])
	}

	// An insert with field 103, which the shard learns from Collections.
	f := twice.Schema.GetFields()
	ins := &msgpb.InsertRequest{CollectionID: collID, PartitionID: part, NumRows: 1, ShardName: vch,
		FieldsData: []*schemapb.FieldData{
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{99}}, f[0]),
			column.ToFieldData(&column.FloatVector{Dim: dim, Data: []float32{9, 9}}, f[1]),
			column.ToFieldData(&column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: []int64{7}, Valid: []bool{true}}, f[3]),
		}}
	if _, err := e.w.AppendInsert(e.ctx, pch, contract.Insert{CollectionID: collID, PartitionID: part, VChannel: vch, Rows: 1,
		Bytes: 16, Message: &msg.Message{Kind: msg.KindInsert, VChannel: vch, Insert: ins}}); err != nil {
		t.Fatal(err)
	}
	q, err = e.qn.Query(e.ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t), OutputFields: []int64{102, 103}})
	if err != nil {
		t.Fatal(err)
	}
	last := len(q.IntPKs) - 1
	m := q.Fields[103].(*column.Scalar[int64])
	if q.IntPKs[last] != 99 || m.IsNull(last) || m.Data[last] != 7 || !m.IsNull(0) || !q.Fields[102].IsNull(last) {
		t.Fatalf("after an insert with an unknown field: keys %v, 103 %+v", q.IntPKs, m)
	}
	if n, _ := e.qn.Query(e.ctx, &contract.QueryRequest{CollectionID: collID, VChannel: vch, GuaranteeTS: e.now(t), CountOnly: true}); n.Count != 19 {
		t.Fatalf("count %d, want 19", n.Count)
	}
}
