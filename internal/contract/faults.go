package contract

// ChannelFailure is what the data node reports when it cannot apply a
// message of a virtual channel (a message the proxy should never have
// written: a column missing or of the wrong length, a field the schema
// lacks). The channel stops flushing at Position, and its checkpoint stays
// before it, until the collection is dropped or a data node that can apply
// the message replays it (its checkpoint then passes Position, which
// clears the failure). The other channels keep flushing.
type ChannelFailure struct {
	CollectionID int64  `json:"collection_id"`
	VChannel     string `json:"vchannel"`
	Position     uint64 `json:"position"` // the log position of the message
	Cause        string `json:"cause"`
}
