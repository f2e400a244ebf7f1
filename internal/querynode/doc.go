// Package querynode serves search and query over loaded segments.
//
// For each loaded collection it runs one delegator per shard (virtual
// channel). A delegator owns the shard's segments: sealed segments loaded
// from the object store (memory-mapped, with their vector indexes) and
// growing segments rebuilt from the log, which it consumes from the shard's
// checkpoint. Every message it consumes advances the shard's service time
// (tsafe): the channel writer stamps a physical channel's messages with
// strictly increasing timestamps, so after reading a message at T nothing
// at or below T can follow. A read waits until tsafe reaches its guarantee
// timestamp (asking the writer for a tick if the channel is idle), then
// searches every segment at MVCC timestamp tsafe.
//
// Handoff: when a growing segment has been flushed (and indexed), the query
// coordinator asks the delegator to load its sealed copy; the delegator
// loads it outside its lock, applies every delete it knows, and swaps it
// in for the growing copy under its lock, so no read sees the rows twice or
// misses them. Inserts for a segment that is already sealed are skipped.
// A compacted segment replaces the segments it names (CompactedFrom) and,
// when that list has a gap (a source compacted twice before its handoff,
// its record forgotten), the served segments holding its rows (lineage.go).
//
// Lock order: Server.mu, then delegator.mu. Segment methods are safe for
// concurrent use and are called without delegator.mu held for searches.
package querynode
