package contract

import (
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/msg"
)

// Insert describes rows for one (collection, partition, vchannel).
type Insert struct {
	CollectionID int64
	PartitionID  int64
	VChannel     string
	Rows         int64
	Bytes        int64
	// Message is the insert or upsert message; the writer sets its
	// SegmentID and timestamps under the channel lock.
	Message *msg.Message
}

// AppendResult is where a message landed.
type AppendResult struct {
	ID        logbroker.MessageID
	TS        uint64
	SegmentID int64
}

// VChannel is a virtual channel and the collection it belongs to.
type VChannel struct {
	Name         string
	CollectionID int64
}
