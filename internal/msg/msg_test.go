package msg

import (
	"errors"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/msgpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

func TestRoundTrip(t *testing.T) {
	ins := &msgpb.InsertRequest{CollectionID: 7, PartitionID: 8, SegmentID: 9, NumRows: 2,
		FieldsData: []*schemapb.FieldData{{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{
			Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{1, 2}}}}}}}}
	del := &msgpb.DeleteRequest{CollectionID: 7, NumRows: 1, PrimaryKeys: &schemapb.IDs{IdField: &schemapb.IDs_IntId{IntId: &schemapb.LongArray{Data: []int64{1}}}}}
	for _, m := range []*Message{
		{Kind: KindInsert, VChannel: "c7_0", TS: 42, Insert: ins},
		{Kind: KindDelete, VChannel: "c7_0", TS: 43, Delete: del},
		{Kind: KindUpsert, VChannel: "c7_0", TS: 44, Insert: ins, Delete: del},
		{Kind: KindTimeTick, TS: 45},
		{Kind: KindSeal, VChannel: "c7_0", TS: 46, Seal: &Seal{CollectionID: 7, SegmentIDs: []int64{9, 10}}},
	} {
		payload, props, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(payload, props)
		if err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
		if got.Kind != m.Kind || got.TS != m.TS || got.VChannel != m.VChannel {
			t.Fatalf("%s: envelope mismatch: %+v", m.Kind, got)
		}
		if m.Insert != nil && !proto.Equal(got.Insert, m.Insert) {
			t.Fatalf("%s: insert mismatch", m.Kind)
		}
		if m.Delete != nil && !proto.Equal(got.Delete, m.Delete) {
			t.Fatalf("%s: delete mismatch", m.Kind)
		}
		if m.Seal != nil && (got.Seal.CollectionID != 7 || len(got.Seal.SegmentIDs) != 2 || got.Seal.SegmentIDs[1] != 10) {
			t.Fatalf("seal mismatch: %+v", got.Seal)
		}
	}
}

func FuzzDecode(f *testing.F) {
	payload, props, _ := Encode(&Message{Kind: KindSeal, TS: 1, Seal: &Seal{CollectionID: 1, SegmentIDs: []int64{2}}})
	f.Add(payload, props[propKind], props[propTS])
	payload, props, _ = Encode(&Message{Kind: KindUpsert, TS: 1, Insert: &msgpb.InsertRequest{NumRows: 1}, Delete: &msgpb.DeleteRequest{}})
	f.Add(payload, props[propKind], props[propTS])
	f.Fuzz(func(t *testing.T, payload []byte, kind, ts string) {
		_, err := Decode(payload, map[string]string{propKind: kind, propTS: ts})
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not wrapping ErrMalformed: %v", err)
		}
	})
}
