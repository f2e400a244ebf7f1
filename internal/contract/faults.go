package contract

// ChannelFailure is what the data node reports when it cannot apply a
// message of a virtual channel (a message the proxy should never have
// written: a column missing or of the wrong length, a field the schema
// lacks). The channel stops flushing at Position, and its checkpoint stays
// before it, until the collection is dropped or a data node that can apply
// the message replays it (its checkpoint then passes Position, which
// clears the failure). The other channels keep flushing.
//
// Retrying marks the other kind: the data node cannot flush what it
// buffered (an object store write keeps failing) and keeps retrying from
// the checkpoint. It lasts until a flush of the channel succeeds (the data
// node reports it recovered) or the checkpoint passes Position.
type ChannelFailure struct {
	CollectionID int64  `json:"collection_id"`
	VChannel     string `json:"vchannel"`
	Position     uint64 `json:"position"` // the log position of the message
	Cause        string `json:"cause"`
	Retrying     bool   `json:"retrying,omitempty"`
	// Node is the data node that reported it (the caller the data
	// coordinator heard it from; 0: in process, a standalone). A Retrying
	// failure is that node's: once the channel has moved to another node,
	// which retries from the checkpoint, it is no longer answered.
	Node int64 `json:"node,omitempty"`
}

// BadIndexFile reports a finished index build whose file a query node
// found missing or corrupt (its checksum failed); the index coordinator
// builds it again from the segment's binlogs.
type BadIndexFile struct {
	CollectionID int64  `json:"collection_id"`
	SegmentID    int64  `json:"segment_id"`
	BuildID      int64  `json:"build_id"`
	File         string `json:"file"`
	Cause        string `json:"cause"`
}
