package msg

import (
	"errors"
	"fmt"
	"strconv"
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
		{Kind: KindFlushAll, TS: 47, FlushAll: []ChannelSeal{{VChannel: "c7_0", Seal: Seal{CollectionID: 7, SegmentIDs: []int64{9, 10}}},
			{VChannel: "c8_0", Seal: Seal{CollectionID: 8}}}},
		{Kind: KindFlushAll, TS: 48},
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
		if fmt.Sprint(got.FlushAll) != fmt.Sprint(m.FlushAll) {
			t.Fatalf("flushall mismatch: %+v, want %+v", got.FlushAll, m.FlushAll)
		}
	}
}

// TestFlushAllTruncated: every truncation of a FlushAll payload is
// malformed, never a shorter list.
func TestFlushAllTruncated(t *testing.T) {
	payload, props, err := Encode(&Message{Kind: KindFlushAll, TS: 1, FlushAll: []ChannelSeal{
		{VChannel: "c7_0", Seal: Seal{CollectionID: 7, SegmentIDs: []int64{300, 301}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(payload) {
		if _, err := Decode(payload[:n], props); !errors.Is(err, ErrMalformed) {
			t.Fatalf("payload cut to %d of %d bytes: %v", n, len(payload), err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	payload, props, _ := Encode(&Message{Kind: KindSeal, TS: 1, Seal: &Seal{CollectionID: 1, SegmentIDs: []int64{2}}})
	f.Add(payload, props[propKind], props[propTS])
	payload, props, _ = Encode(&Message{Kind: KindFlushAll, TS: 1, FlushAll: []ChannelSeal{{VChannel: "c1_0", Seal: Seal{CollectionID: 1, SegmentIDs: []int64{2}}}}})
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

// TestMilvusFlushAll: the FlushAll message as Milvus answers it carries its
// time tick and ID in base 36 under Milvus's keys, which clients read.
func TestMilvusFlushAll(t *testing.T) {
	m := MilvusFlushAll("milvago-dml_3", 449, 465000000000000001)
	if got := m.GetProperties(); got["_t"] != "37" || got["_v"] != "2" || got["_tt"] != strconv.FormatUint(465000000000000001, 36) ||
		got["_vc"] != "milvago-dml_3" || got["_lc"] != "ch" {
		t.Fatalf("properties %v", got)
	}
	if _, ok := m.GetProperties()["_pcl"]; !ok {
		t.Fatal("no physical-channel-level mark")
	}
	if m.GetId().GetId() != "ch" || len(m.GetPayload()) != 0 {
		t.Fatalf("id %v, payload %x", m.GetId(), m.GetPayload())
	}
	if ts, ok := MilvusTimeTick(m); !ok || ts != 465000000000000001 {
		t.Fatalf("time tick %d, %v", ts, ok)
	}
	delete(m.Properties, "_tt")
	if _, ok := MilvusTimeTick(m); ok {
		t.Fatal("a time tick read from a message without one")
	}
}
