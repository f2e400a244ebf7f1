package contract

// Checkpoint is a virtual channel's recovery point: every message with an
// ID <= Position is reflected in the object store.
type Checkpoint struct {
	Position uint64 `json:"position"`
	TS       uint64 `json:"ts"`
}

// Assignment tells the channel writer where an insert goes.
type Assignment struct {
	SegmentID int64
	// Seal lists segments that must be sealed before this insert (they
	// reached their size limit).
	Seal []int64
}

// FlushResult describes one flushed segment, as the data node reports it.
type FlushResult struct {
	SegmentID int64
	NumRows   int64
	Binlogs   map[int64]string
	StatsLog  string
	FlushTS   uint64
	SizeBytes int64
	// Sorted reports that the rows were written in primary-key order (the
	// data node sorts a segment as it flushes it), so no sort compaction
	// needs to rewrite it.
	Sorted bool
}
