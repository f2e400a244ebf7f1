package msg

import (
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

// Milvus 2.6 hands some WAL messages to clients as they were appended
// (commonpb.ImmutableMessage: FlushAllResponse.flush_all_msgs). Clients read
// them through Milvus's property keys (pkg/streaming/util/message,
// properties.go), whose numbers are base 36 (encoder.go): milvus-backup and
// CDC take a FlushAll message's time tick from "_tt" and pass it back in
// GetFlushAllState's flush_all_tss.
const (
	milvusVersion       = "_v"   // message version
	milvusType          = "_t"   // message type, decimal
	milvusTimeTick      = "_tt"  // time tick, base 36
	milvusLastConfirmed = "_lc"  // last confirmed message ID
	milvusVChannel      = "_vc"  // the channel the message was appended to
	milvusPChannelLevel = "_pcl" // a message of the whole physical channel
	milvusBase          = 36

	// milvusFlushAllType is messagespb.MessageType_FlushAll, a version 2
	// message (NewFlushAllMessageBuilderV2) with an empty header and body.
	milvusFlushAllType    = 37
	milvusFlushAllVersion = 2
)

// MilvusFlushAll is the FlushAll message appended to pchannel with log ID
// id at timestamp ts as Milvus 2.6 answers it: its ID is the log's (base
// 36, as Milvus encodes its WALs' integer IDs; the WAL name is Unknown,
// Milvago's log being none of Milvus's), its payload the empty
// FlushAllMessageBody, and its properties Milvus's: the type and version,
// the time tick, the physical channel as the channel it was appended to,
// the physical-channel-level mark, and the last confirmed ID, the message's
// own (the log acknowledges appends in order, so every earlier message of
// the channel is durable).
func MilvusFlushAll(pchannel string, id, ts uint64) *commonpb.ImmutableMessage {
	mid := strconv.FormatUint(id, milvusBase)
	return &commonpb.ImmutableMessage{
		Id:      &commonpb.MessageID{Id: mid, WALName: commonpb.WALName_Unknown},
		Payload: []byte{},
		Properties: map[string]string{
			milvusType:          strconv.Itoa(milvusFlushAllType),
			milvusVersion:       strconv.Itoa(milvusFlushAllVersion),
			milvusTimeTick:      strconv.FormatUint(ts, milvusBase),
			milvusVChannel:      pchannel,
			milvusPChannelLevel: "",
			milvusLastConfirmed: mid,
		},
	}
}

// MilvusTimeTick is the time tick of a message Milvus answered (its "_tt"
// property), as clients read it; ok is false when it has none.
func MilvusTimeTick(m *commonpb.ImmutableMessage) (uint64, bool) {
	v, ok := m.GetProperties()[milvusTimeTick]
	if !ok {
		return 0, false
	}
	ts, err := strconv.ParseUint(v, milvusBase, 64)
	return ts, err == nil
}
